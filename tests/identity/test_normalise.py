"""Normalisation before matching: one spelling per value, placeholders recognised."""

from __future__ import annotations

import pandas as pd
import pytest

from prisme.identity import normalise as N


def s(*values):
    return pd.Series(list(values), dtype="string")


def test_names_fold_case_accents_punctuation_and_placeholders():
    assert N.name(s("Hélène", "  DUPONT-MOREAU ", "O'Brien", "N/A", "inconnu", None)).tolist() == [
        "helene", "dupont moreau", "o brien", pd.NA, pd.NA, pd.NA]


@pytest.mark.parametrize(("nick", "full"), [
    ("Bill", "william"), ("Bob", "robert"), ("Kate", "katherine"), ("Catherine", "katherine"),
    ("JP", "jean pierre"), ("Jean-Pierre", "jean pierre"), ("Seb", "sebastien"),
    ("Liz", "elizabeth"), ("Marie", "marie"),
])
def test_first_name_nicknames_map_to_one_name(nick, full):
    assert N.first_name(s(nick)).iloc[0] == full


def test_email_canonical_forms_and_placeholders():
    out = N.email(s(" Jean.Dupont+promo@GoogleMail.com", "jean.dupont@orange.fr",
                    "noemail@x.com", "no@email.com", "not an email", "a@b.fr", None)).tolist()
    # a one-letter user is a real address (the conform rules; ingest loads it too)
    assert out == ["jeandupont@gmail.com", "jean.dupont@orange.fr", pd.NA, pd.NA, pd.NA,
                   "a@b.fr", pd.NA]


def test_phone_e164_from_national_international_and_junk():
    out = N.phone(s("06 12 34 56 78", "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78",
                    "+44 20 7946 0958", "0000000000", "123456789", "12", None),
                  region="FR").tolist()
    assert out[:2] == ["+33612345678", "+33612345678"]
    assert out[2] == "+33612345678"
    assert out[3] == "+442079460958"
    assert out[4:] == [pd.NA] * 4


def test_phone_uses_the_record_country():
    out = N.phone(s("020 7946 0958", "01 42 00 00 01"), region=s("GB", "FR")).tolist()
    assert out == ["+442079460958", "+33142000001"]


def test_postcodes_and_dates():
    assert N.postal_code(s("sw1a 1aa", "75 001", "0000", None)).tolist() == [
        "SW1A1AA", "75001", pd.NA, pd.NA]
    assert N.birth_date(s("1980-02-03", "03/02/1980", "19800203", "1900-01-01", "31/02/1980",
                          "garbage")).tolist() == ["1980-02-03"] * 3 + [pd.NA] * 3


def test_values_shared_by_many_records_are_nulled():
    v = s(*(["shop@x.fr"] * 5 + ["a@b.fr", "c@d.fr"]))
    assert N.null_shared(v, 4).isna().tolist() == [True] * 5 + [False, False]


def test_normalise_view_swapped_names_initials_and_missing_columns():
    df = pd.DataFrame({"record_id": ["1", "2", "3"], "first_name": ["Jean", "Dupont", "J"],
                       "last_name": ["Dupont", "Jean", "Dupont"]})
    rec = N.normalise(df)
    assert rec.loc[0, "name_key"] == rec.loc[1, "name_key"] == "dupont jean"
    assert pd.isna(rec.loc[2, "first_name"]) and rec.loc[2, "first_initial"] == "j"
    assert rec["email"].isna().all() and rec["phone"].isna().all()
    assert rec["n_fields"].tolist() == [2, 2, 1]


def test_gender_titles():
    df = pd.DataFrame({"record_id": list("abcdef"),
                       "gender": ["M.", "Mme", "Mr", "Ms", "Madame", "?"]})
    assert N.normalise(df)["gender"].tolist() == ["m", "f", "m", "f", "f", pd.NA]


def test_email_parts_and_digits_are_columns():
    df = pd.DataFrame({"record_id": ["1", "2"],
                       "email": ["famille.meyer5439@orange.fr", None]})
    rec = N.normalise(df)
    assert rec.loc[0, "email_user"] == "famille.meyer5439"
    assert rec.loc[0, "email_domain"] == "orange.fr"
    assert rec.loc[0, "email_digits"] == "5439"
    assert rec.loc[1, ["email_user", "email_domain", "email_digits"]].isna().all()


def test_phone_kind_mobile_or_fixed():
    kinds = N.phone_kind(s("+33612345678", "+33145678910", "+447700900123", "+442079460958",
                           "+15551234567", None)).tolist()
    assert kinds == ["mobile", "fixed", "mobile", "fixed", pd.NA, pd.NA]


def test_a_default_date_far_more_common_than_the_others_is_nulled():
    # 300 people born on 300 different days, and a system's default date on 60 records
    real = [f"19{50 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(300)]
    dates = s(*(real + ["2024-07-30"] * 60))
    out = N.null_outliers(dates, min_count=20)
    assert out.iloc[:300].tolist() == real
    assert out.iloc[300:].isna().all()
    # a few records sharing a date is normal: nothing is nulled
    assert N.null_outliers(s(*(real + ["2024-07-30"] * 5)), min_count=20).notna().all()
