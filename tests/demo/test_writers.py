"""The fast text formatters behind the demo's files agree with Python's own formatting."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from prisme.demo import writers as W
from prisme.demo.variation import format_phone

FORMATS = ["%d/%m/%Y", "%d/%m/%Y %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1850, 1, 1),
                                                  max_value=dt.datetime(2100, 1, 1))),
                min_size=1, max_size=30),
       st.sampled_from(FORMATS))
def test_date_text_is_strftime(values, fmt):
    arr = np.array([np.datetime64("NaT") if v is None else np.datetime64(v.replace(
        microsecond=0), "s") for v in values], dtype="datetime64[s]")
    got = W.date_text(arr, fmt).to_pylist()
    want = [None if v is None else v.replace(microsecond=0).strftime(fmt) for v in values]
    assert got == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.just(float("nan")),
                          st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)),
                min_size=1, max_size=30),
       st.sampled_from([",", "."]))
def test_money_text_round_trips(values, mark):
    got = W.money_text(values, mark).to_pylist()
    for v, text in zip(values, got, strict=True):
        if np.isnan(v):
            assert text is None
        else:
            assert float(text.replace(mark, ".")) == round(round(v * 100)) / 100
            assert text.split(mark)[-1].isdigit() and len(text.split(mark)[-1]) == 2


def test_phone_notations_are_the_same_number():
    import phonenumbers

    for national, uk in (("0612345678", False), ("0145678912", False), ("07912345678", True)):
        seen = set()
        for style in ("spaced", "dotted", "national", "e164", "intl_spaced", "0033"):
            text = format_phone(national, uk, style)
            text = "+" + text[2:] if text.startswith("00") else text
            n = phonenumbers.parse(text, "FR")
            assert phonenumbers.is_valid_number(n), text
            seen.add(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
        assert len(seen) == 1
