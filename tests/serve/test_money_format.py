"""Money on the pages: the fast path writes exactly what Babel writes, in every language,
currency and number of digits (it exists because Babel's pattern work cost ~28 µs an amount,
and a card's timeline shows dozens)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from prisme.serve.i18n import Translator, _babel_money, _money_template

CASES = [("en", "EUR"), ("fr", "EUR"), ("en", "USD"), ("fr", "GBP"), ("fr", "JPY")]


@settings(max_examples=400, deadline=None)
@given(case=st.sampled_from(CASES), digits=st.sampled_from([0, 1, 2]),
       x=st.one_of(st.floats(min_value=-2e12, max_value=2e12, allow_nan=False),
                   st.decimals(min_value=-10_000, max_value=10_000, places=3).map(float),
                   st.sampled_from([0.0, -0.0, 0.005, -0.005, 0.5, -0.5, 2.5, 2.675, -2.675,
                                    1.005, 999.995, 999_999.995])))
def test_the_fast_money_is_babels_money(case, digits, x):
    lang, currency = case
    t = Translator(lang, currency)
    assert t.money(x, digits) == _babel_money(x, lang, t.locale, currency, digits)


def test_the_fast_path_is_taken_for_the_usual_locales():
    for lang, currency in CASES:
        t = Translator(lang, currency)
        assert _money_template(lang, t.locale, currency, 2) is not None
    assert Translator("fr", "EUR").money(-1234.5, 2) == "-1\u202f234,50\u00a0€"
    assert Translator("en", "EUR").money(1234.5, 2) == "€1,234.50"
