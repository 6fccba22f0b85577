"""Phones and e-mails of the customer exports: every value that is not a planted defect is a
valid number for Google's ``phonenumbers`` (in the person's own country) or a well-formed
address, and every invalid one is a planted defect recorded in ``truth/``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.demo.conftest import CUSTOMER_FILES, ID_COLUMN

from prisme.demo import generate
from prisme.demo.names import FR_EMAIL_DOMAINS, UK_EMAIL_DOMAINS
from prisme.demo.people import valid_numbers
from prisme.demo.variation import format_phone, invalid_email

CUSTOMERS = 2_000
PHONE = {"crm": "Téléphone", "shop": "phone", "callcentre": "phoneNumber"}
EMAIL = {"crm": "E-mail", "shop": "email", "callcentre": "emailAddress"}
EMAIL_SYNTAX = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
PHONE_DEFECTS = {"unparsable_phone", "placeholder_phone"}
STYLES = ["spaced", "national", "dotted", "intl_spaced", "e164", "0033"]


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    """A 2,000-customer company: its three customer exports, the country of each record's
    person and the planted defects."""
    root = Path(tmp_path_factory.mktemp("contacts"))
    generate(customers=CUSTOMERS, seed=7, directory=root)
    read = dict(dtype=str, keep_default_na=False)
    persons = pd.read_csv(root / "truth/persons.csv", **read)
    homes = pd.read_csv(root / "truth/households.csv", **read)
    persons["country"] = persons["household_id"].map(homes.set_index("household_id")["country"])
    files = {s: f(root).drop_duplicates(ID_COLUMN[s]) for s, f in CUSTOMER_FILES.items()}
    defects = pd.read_csv(root / "truth/quality_defects.csv", **read)
    return files, persons, defects


def _phone_ok(value: str, country: str) -> bool:
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number_for_region(number, country)


def _ids(defects: pd.DataFrame, source: str, kinds) -> set[str]:
    d = defects[(defects["source"] == source) & defects["defect"].isin(kinds)]
    return set(d["source_customer_id"])


@pytest.mark.parametrize("source", list(CUSTOMER_FILES))
def test_only_planted_phones_are_invalid(company, source):
    files, persons, defects = company
    df = files[source]
    df = df[df[PHONE[source]] != ""]
    country = persons[persons["source"] == source].set_index("source_customer_id")["country"]
    ok = [_phone_ok(v, c) for v, c in zip(df[PHONE[source]], df[ID_COLUMN[source]].map(country),
                                             strict=True)]
    invalid = set(df[ID_COLUMN[source]][~np.array(ok)])
    planted = _ids(defects, source, PHONE_DEFECTS)
    assert len(df) > 300
    assert invalid == planted
    assert len(invalid) == len(planted) > 0
    # the truth lists the defect on the record itself too
    flagged = persons[(persons["source"] == source)
                      & persons["defects"].str.contains("phone")]["source_customer_id"]
    assert set(flagged) == planted


@pytest.mark.parametrize("source", list(CUSTOMER_FILES))
def test_only_planted_emails_are_malformed(company, source):
    files, persons, defects = company
    df = files[source]
    df = df[df[EMAIL[source]] != ""]
    ok = df[EMAIL[source]].str.strip().str.lower().str.match(EMAIL_SYNTAX)
    malformed = set(df[ID_COLUMN[source]][~ok])
    bad = defects[(defects["source"] == source) & (defects["defect"] == "invalid_email")]
    assert not bad["value"].str.strip().str.lower().str.match(EMAIL_SYNTAX).any()
    placeholders = defects[(defects["source"] == source)
                           & (defects["defect"] == "placeholder_email")]
    not_an_address = placeholders[~placeholders["value"].str.match(EMAIL_SYNTAX)]
    planted = set(bad["source_customer_id"]) | set(not_an_address["source_customer_id"])
    assert len(df) > 300 and len(bad) > 0
    assert malformed == planted
    flagged = persons[(persons["source"] == source)
                      & persons["defects"].str.contains("invalid_email")]["source_customer_id"]
    assert set(flagged) == set(bad["source_customer_id"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), country=st.sampled_from(["FR", "GB"]),
       kind=st.sampled_from(["mobile", "landline"]))
def test_every_notation_of_a_drawn_number_stays_valid(seed, country, kind):
    numbers = valid_numbers(np.random.default_rng(seed), country, kind, 40)
    uk = country == "GB"
    assert all(len(n) == (11 if uk else 10) for n in numbers)
    for national in numbers:
        e164 = {phonenumbers.format_number(phonenumbers.parse(format_phone(national, uk, s),
                                                              country),
                                           phonenumbers.PhoneNumberFormat.E164)
                for s in STYLES}
        assert len(e164) == 1
        number = phonenumbers.parse(e164.pop())
        assert phonenumbers.is_valid_number_for_region(number, country), national
        expected = (phonenumbers.PhoneNumberType.MOBILE if kind == "mobile"
                    else phonenumbers.PhoneNumberType.FIXED_LINE)
        assert phonenumbers.number_type(number) == expected, national


def test_uk_numbers_are_grouped_as_written_in_the_uk():
    assert format_phone("02071234567", True, "intl_spaced") == "+44 20 7123 4567"
    assert format_phone("01611234567", True, "spaced") == "+44 161 123 4567"
    assert format_phone("07700900123", True, "national") == "+44 7700 900123"
    assert format_phone("0612345678", False, "intl_spaced") == "+33 6 12 34 56 78"
    assert format_phone("0612345678", False, "0033") == "0033612345678"


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       local=st.sampled_from(["jean.dupont", "mdurand", "the.smith.family", "ann_lee84"]),
       domain=st.sampled_from(FR_EMAIL_DOMAINS + UK_EMAIL_DOMAINS))
def test_a_planted_invalid_email_never_reads_as_an_address(seed, local, domain):
    bad = invalid_email(f"{local}@{domain}", np.random.default_rng(seed))
    assert not EMAIL_SYNTAX.match(bad.strip().lower()), bad
