"""Normalisers: known cases, agreement with phonenumbers, and idempotence (f(f(x)) == f(x))."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prisme.ingest import normalise as N

HSET = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def apply(engine, fn, values, *args):
    """Run a normaliser in the engine over ``values`` and return the Python results."""
    t = ibis.memtable(pd.DataFrame({"v": pd.Series(values, dtype=object)}),
                      schema={"v": "string"})
    out = engine.to_pandas(t.select(r=fn(t.v, *args)))["r"]
    return [None if (x is None or x != x) else x for x in out]


# ------------------------------------------------------------------------- email
def test_email_trimmed_lowered_blank_null(engine):
    got = apply(engine, N.email, ["  Jean.Dupont@Orange.FR ", "", "   ", None,
                                  "mailto:Zoe@Example.com"])
    assert got == ["jean.dupont@orange.fr", None, None, None, "zoe@example.com"]


@HSET
@given(st.lists(st.text(max_size=20), min_size=1, max_size=20))
def test_email_idempotent(engine, values):
    once = apply(engine, N.email, values)
    assert apply(engine, N.email, once) == once


# ------------------------------------------------------------------------- phone
PHONES = {
    "06 12 34 56 78": "+33612345678",
    "06.12.34.56.78": "+33612345678",
    "0612345678": "+33612345678",
    "+33 6 12 34 56 78": "+33612345678",
    "+33 (0)6 12 34 56 78": "+33612345678",
    "0033 1 42 68 53 00": "+33142685300",
    "33612345678": "+33612345678",
    "+44 20 7946 0958": "+442079460958",
    "+32 2 555 12 12": "+3225551212",
    "+1 (212) 555-0123": "+12125550123",
    "+33 6 12": None,  # too short
    "+1 650-253-0000": "+16502530000",
    "12": None,
    "not a phone": None,
    "": None,
    None: None,
}


def test_phone_known_cases(engine):
    got = apply(engine, lambda e: N.phone_e164(engine, e, "FR"), list(PHONES))
    assert dict(zip(PHONES, got, strict=True)) == PHONES


def test_phone_default_country_gb(engine):
    got = apply(engine, lambda e: N.phone_e164(engine, e, "GB"),
                ["020 7946 0958", "07911 123456", "+33 6 12 34 56 78"])
    assert got == ["+442079460958", "+447911123456", "+33612345678"]


_digit = st.sampled_from("0123456789")
_sep = st.sampled_from(["", " ", ".", "-"])


@st.composite
def phone_like(draw):
    kind = draw(st.sampled_from(["fr_national", "fr_intl", "intl", "digits", "cc_no_plus"]))
    body = "".join(draw(st.lists(_digit, min_size=8, max_size=8)))
    sep = draw(_sep)
    pairs = sep.join(body[i:i + 2] for i in range(0, 8, 2))
    lead = draw(st.sampled_from("1234567899"))
    if kind == "fr_national":
        return f"0{lead}{sep}{pairs}"
    if kind == "fr_intl":
        return draw(st.sampled_from(["+33", "0033", "+33 "])) + f"{lead}{sep}{pairs}"
    if kind == "cc_no_plus":
        return f"33{lead}{body}"
    if kind == "intl":
        cc = draw(st.sampled_from(["+44", "+32", "+41", "+49", "+1", "+39", "+34", "+352"]))
        extra = "".join(draw(st.lists(_digit, min_size=0, max_size=3)))
        return f"{cc} {lead}{body}{extra}"
    return "".join(draw(st.lists(_digit, min_size=4, max_size=14)))


@HSET
@given(st.lists(phone_like(), min_size=1, max_size=40), st.sampled_from(["FR", "GB", "BE"]))
def test_phone_engine_agrees_with_phonenumbers(engine, values, country):
    """The engine's fast path gives exactly what phonenumbers gives, number by number."""
    got = apply(engine, lambda e: N.phone_e164(engine, e, country), values)
    assert got == [N.phone_to_e164(v, country) for v in values]


@HSET
@given(st.lists(phone_like(), min_size=1, max_size=20))
def test_phone_idempotent(engine, values):
    once = apply(engine, lambda e: N.phone_e164(engine, e, "FR"), values)
    assert apply(engine, lambda e: N.phone_e164(engine, e, "FR"), once) == once


# ----------------------------------------------------------------------- country
COUNTRIES = {
    "France": "FR", "FRANCE ": "FR", "fr": "FR", "FRA": "FR",
    "United Kingdom": "GB", "UK": "GB", "Royaume-Uni": "GB", "royaume uni": "GB",
    "Great Britain": "GB", "EIRE": "IE", "Irlande": "IE", "Allemagne": "DE",
    "Deutschland": "DE", "USA": "US", "États-Unis": "US", "Etats Unis": "US",
    "Suisse": "CH", "Belgique": "BE", "Pays-Bas": "NL", "Espagne": "ES",
    "Côte d'Ivoire": "CI", "Sénégal": "SN", "RSA": "ZA", "Czech Republic": "CZ",
    "Hong Kong": "HK", "Channel Islands": None, "European Community": None,
    "Unspecified": None, "Atlantis": None, "": None, None: None,
}


@pytest.mark.parametrize("in_engine", [True, False], ids=["lookup-in-engine", "inlined-map"])
def test_country_names_codes_and_variants(engine, in_engine):
    fn = (lambda e: N.country_iso2(e, engine)) if in_engine else N.country_iso2
    got = apply(engine, fn, list(COUNTRIES))
    assert dict(zip(COUNTRIES, got, strict=True)) == COUNTRIES


def test_country_online_retail_countries(engine, shared_data):
    """All 38 countries of Online Retail: each real country gets a code, and only the three
    that are not countries get NULL."""
    path = shared_data / "online_retail" / "Online_Retail.csv.gz"
    countries = sorted(set(pd.read_csv(path, usecols=["Country"])["Country"].dropna()))
    assert len(countries) == 38
    codes = apply(engine, lambda e: N.country_iso2(e, engine), countries)
    got = dict(zip(countries, codes, strict=True))
    assert {c for c, code in got.items() if code is None} == {
        "Channel Islands", "European Community", "Unspecified"}
    assert got["EIRE"] == "IE" and got["RSA"] == "ZA" and got["USA"] == "US"


@HSET
@given(st.lists(st.sampled_from(list(COUNTRIES)) | st.text(max_size=12), min_size=1,
                max_size=20))
def test_country_idempotent(engine, values):
    def fn(e):
        return N.country_iso2(e, engine)

    once = apply(engine, fn, values)
    assert apply(engine, fn, once) == once


def test_every_alpha2_maps_to_itself():
    table = N.country_lookup()
    codes = {v for v in table.values()}
    assert len(codes) >= 245
    assert all(table[c] == c for c in codes)


# ---------------------------------------------------------------------- currency
CURRENCIES = {"€": "EUR", "EUR": "EUR", "eur": "EUR", "euros": "EUR", "Euro": "EUR",
              "£": "GBP", "livre sterling": "GBP", "GBP": "GBP", "US$": "USD", "$": "USD",
              "dollars": "USD", "CHF": "CHF", "franc suisse": "CHF", "¥": "JPY",
              "XYZ": None, "": None, None: None}


@pytest.mark.parametrize("in_engine", [True, False], ids=["lookup-in-engine", "inlined-map"])
def test_currency_symbols_names_codes(engine, in_engine):
    fn = (lambda e: N.currency(e, engine)) if in_engine else N.currency
    got = apply(engine, fn, list(CURRENCIES))
    assert dict(zip(CURRENCIES, got, strict=True)) == CURRENCIES


@HSET
@given(st.lists(st.sampled_from(list(CURRENCIES)) | st.text(max_size=8), min_size=1,
                max_size=20))
def test_currency_idempotent(engine, values):
    def fn(e):
        return N.currency(e, engine)

    once = apply(engine, fn, values)
    assert apply(engine, fn, once) == once


# ----------------------------------------------------------------------- boolean
BOOLEANS = {"yes": True, "Y": True, "oui": True, "O": True, "true": True, "VRAI": True,
            "1": True, "1.0": True, "x": True, " X ": True,
            "no": False, "n": False, "NON": False, "false": False, "faux": False, "0": False,
            "0.0": False, "peut-être": None, "": None, None: None}


def test_boolean_words(engine):
    got = apply(engine, N.boolean, list(BOOLEANS))
    assert dict(zip(BOOLEANS, got, strict=True)) == BOOLEANS


@HSET
@given(st.lists(st.sampled_from(list(BOOLEANS)), min_size=1, max_size=20))
def test_boolean_idempotent_through_text(engine, values):
    once = apply(engine, N.boolean, values)
    as_text = [None if b is None else str(b).lower() for b in once]
    assert apply(engine, N.boolean, as_text) == once


# ------------------------------------------------------------------- postal code
@pytest.mark.parametrize(
    "country, raw, expected",
    [
        (None, " 75001 ", "75001"), (None, "75001.0", "75001"), (None, "", None),
        ("FR", "1000", "01000"), ("FR", "75001", "75001"),
        ("GB", "sw1a1aa", "SW1A 1AA"), ("GB", "SW1A  1AA", "SW1A 1AA"), ("GB", "m1 1ae", "M1 1AE"),
        ("US", "10001-1234", "10001-1234"),
        # Brazil (issue #9 item 10): the CEP, 8 digits written 01310-100
        ("BR", "01310100", "01310-100"), ("BR", "01310-100", "01310-100"),
        ("BR", " 13083-970 ", "13083-970"),
    ],
)
def test_postal_code(engine, country, raw, expected):
    assert apply(engine, N.postal_code, [raw], country) == [expected]


def test_postal_code_country_from_a_column(engine):
    t = ibis.memtable(pd.DataFrame({"pc": ["1000", "ec1a1bb", "1000"],
                                    "c": ["FR", "GB", "BE"]}))
    out = engine.to_pandas(t.select(r=N.postal_code(t.pc, t.c)))["r"].tolist()
    assert out == ["01000", "EC1A 1BB", "1000"]


@HSET
@given(st.lists(st.text(alphabet="0123456789ABCDEFGHJKLMNPRSTUWXYZ .", max_size=9),
                min_size=1, max_size=20), st.sampled_from([None, "FR", "GB"]))
def test_postal_code_idempotent(engine, values, country):
    once = apply(engine, N.postal_code, values, country)
    assert apply(engine, N.postal_code, once, country) == once


def test_lookup_found_from_the_table_and_survives_a_rollback(engine):
    """A column of a warehouse table needs no engine argument: the lookup is defined in the
    engine the table lives in, and defined again if a failed load rolled it back."""
    engine.execute_sql("CREATE TABLE countries AS SELECT * FROM (VALUES ('Royaume-Uni'), "
                       "('EIRE'), ('Atlantis')) t(c)")
    t = engine.table("countries")
    with pytest.raises(RuntimeError), engine.transaction():
        assert engine.to_pandas(t.select(r=N.country_iso2(t.c)))["r"].tolist()[0] == "GB"
        raise RuntimeError("the load fails after the lookup was defined")
    got = engine.to_pandas(t.select(r=N.country_iso2(t.c), cur=N.currency(t.c)))
    assert got["r"].tolist()[:2] == ["GB", "IE"] and got["r"].isna().tolist()[2]
    sql = str(engine.con.compile(t.select(r=N.country_iso2(t.c))))
    assert "prisme_country_iso2" in sql.lower() and "map" not in sql.lower()
