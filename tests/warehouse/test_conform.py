"""One set of conform rules: the engine form and the Python form of each rule agree, and the
loader, identity resolution and the quality audit decide alike on the same hostile values."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prisme.analytics import quality
from prisme.config import SourceSettings
from prisme.identity import normalise as identity_norm
from prisme.ingest.load import load_raw, raw_input_from_frame
from prisme.warehouse import conform as C

HSET = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

#: letters the engines and Python case-map and decompose the same way, with look-alikes
#: (Cyrillic о, Greek ο, full-width Ｊ), accents, ligatures, punctuation and spaces
LETTERS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
           "éèêëàâäîïôöùûüçÉÈÀÇñÑßøØłŁæœÆŒåÅ" "оеаΟοＪｊ" " .-_'/@+()&?!,;:\t")
TEXT = st.text(alphabet=LETTERS, max_size=16)
PHONE_TEXT = st.text(alphabet="0123456789 +.-()/", max_size=18)


def run(engine, fn, values, dtype="string"):
    """``fn`` (an Ibis expression builder) over ``values``, run in the engine."""
    t = ibis.memtable(pd.DataFrame({"v": pd.Series(values, dtype=object)}),
                      schema={"v": dtype})
    out = engine.to_pandas(t.select(r=fn(t.v)))["r"].tolist()
    return [None if (x is None or (isinstance(x, float) and x != x)) else x for x in out]


# ------------------------------------------------------------ engine form == Python form
@HSET
@given(st.lists(TEXT, min_size=1, max_size=12))
def test_text_rules_agree_in_the_engine_and_in_python(engine, values):
    assert run(engine, C.fold, values) == [C.py_fold(v) for v in values]
    assert run(engine, C.text_key, values) == [C.py_text_key(v) for v in values]
    assert run(engine, C.is_placeholder_text, values) == [
        C.py_is_placeholder_text(v) for v in values]
    assert run(engine, C.email, values) == [C.py_email(v) for v in values]
    assert run(engine, lambda v: C.is_valid_email(v).fill_null(False), values) == [
        C.py_is_valid_email(v) for v in values]
    assert run(engine, C.is_placeholder_email, values) == [
        C.py_is_placeholder_email(v) for v in values]
    assert run(engine, C.is_placeholder_postcode, values) == [
        C.py_is_placeholder_postcode(v) for v in values]
    assert run(engine, lambda v: C.country_iso2(v, engine), values) == [
        C.py_country_iso2(v) for v in values]


@HSET
@given(st.lists(PHONE_TEXT, min_size=1, max_size=12), st.sampled_from(["FR", "GB", "BR", "DE"]))
def test_phone_rules_agree_in_the_engine_and_in_python(engine, values, country):
    expected = [C.py_phone_e164(v, country) for v in values]
    assert run(engine, lambda v: C.phone_e164(v, country), values) == expected
    assert [C.py_phone_e164_fast(v, country) for v in values] == expected
    assert run(engine, C.is_placeholder_phone, values) == [
        C.py_is_placeholder_phone(v) for v in values]


@HSET
@given(st.lists(st.text(alphabet="0123456789ABCDEFGHJKLMNPRSTUWXYZ -.", max_size=10),
                min_size=1, max_size=12),
       st.sampled_from(["FR", "GB", "BR", "US", "NL", "DE", "IT", "ES", "BE"]))
def test_postcode_rules_agree_in_the_engine_and_in_python(engine, values, country):
    normal = run(engine, lambda v: C.postal_code(v, country), values)
    assert normal == [C.py_postal_code(v, country) for v in values]
    present = [v for v in normal if v is not None] or ["75001"]
    got = run(engine, lambda v: C.is_valid_postcode(v, ibis.literal(country), "FR"), present)
    assert got == [C.py_is_valid_postcode(v, country, "FR") for v in present]


@pytest.mark.parametrize(("country", "raw", "normal", "valid"), [
    ("BR", "01310100", "01310-100", True), ("BR", "01310-100", "01310-100", True),
    ("BR", "13083", "13083", True), ("BR", "1310-10", "1310-10", False),
    ("FR", "1000", "01000", True), ("FR", "750011", "750011", False),
    ("GB", "sw1a1aa", "SW1A 1AA", True), ("NL", "1012 AB", "1012 AB", True),
    ("US", "10001-1234", "10001-1234", True), ("DE", "1011", "1011", False),
    ("IT", "00184", "00184", True), ("ES", "28013", "28013", True), ("BE", "1000", "1000", True),
])
def test_postcodes_of_each_country(engine, country, raw, normal, valid):
    assert C.py_postal_code(raw, country) == normal
    assert run(engine, lambda v: C.postal_code(v, country), [raw]) == [normal]
    assert C.py_is_valid_postcode(normal, country, "FR") is valid


def test_calling_codes_come_from_phonenumbers():
    assert C.calling_code("FR") == "33" and C.calling_code("BR") == "55"
    assert C.py_country_of_phone("+5511987654321") == "BR"
    assert C.py_country_of_phone("+12125550123") == "US"


# --------------------------------------------------- the same decisions on hostile values
HOSTILE_EMAILS = {
    # value: kept as a real e-mail?
    "jean.dupont@orange.fr": True,
    " Jean.Dupont@Orange.FR ": True,
    "mailto:zoe@example.co.uk": True,
    "j@dupont.fr": True,
    "jean@orange.f": False,           # a one-letter top-level domain
    "noemail@noemail.com": False,     # a placeholder
    "n/a": False,
    "N/A": False,
    "xxx@xxx.com": False,
    "0000@gmail.com": False,
    "test@example.com": False,
    "jean@оrange.fr": False,          # a Cyrillic о: a look-alike, not the address
    "ｊｅａｎ@orange.fr": False,       # full-width letters
    "jean dupont@orange.fr": False,
    "jean@@orange.fr": False,
    "jean@orange..fr": False,
    "-": False,
}
HOSTILE_PHONES = {
    # value: E.164 when it is a real number (default country FR)
    "+33 6 12 34 56 78": "+33612345678",
    "06 12 34 56 78": "+33612345678",
    "0033 6 12 34 56 78": "+33612345678",
    "+44 20 7946 0958": "+442079460958",
    "+55 11 98765-4321": "+5511987654321",
    "0000000000": None,
    "+33 0 00 00 00 00": None,
    "123456789": None,
    "06 12": None,
    "n/a": None,
    "+33 6 12 34 56 7８": "+33612345678",  # a full-width digit: phonenumbers reads it
}


def _load_customers(engine, settings, emails, phones):
    settings.project.default_country = "FR"
    settings.sources["crm"] = SourceSettings(
        entity="customer", path="c.csv", constants={"source": "crm"},
        columns={"source_customer_id": "id", "email": "mail", "phone": "tel"})
    n = max(len(emails), len(phones))
    frame = pd.DataFrame({
        "id": [str(i) for i in range(n)],
        "mail": [*emails, *[None] * (n - len(emails))],
        "tel": [*phones, *[None] * (n - len(phones))],
    })
    result = load_raw(engine, settings, "crm", raw_input_from_frame(engine, "crm", frame))
    assert result.status == "loaded", result.message
    dim = engine.to_pandas(engine.table("dim_customer").select("source_customer_id", "email",
                                                              "phone"))
    dim = dim.set_index("source_customer_id").loc[frame["id"]]
    return dim


def test_loader_identity_and_audit_agree_on_hostile_emails_and_phones(engine, settings):
    emails, phones = list(HOSTILE_EMAILS), list(HOSTILE_PHONES)
    dim = _load_customers(engine, settings, emails, phones)
    # the loader: kept (normalised) or loaded as empty
    loaded_email = dim["email"].iloc[:len(emails)].tolist()
    loaded_phone = dim["phone"].iloc[:len(phones)].tolist()
    # identity resolution's normalisation (Gmail dots and +tags apart: none here)
    ident_email = identity_norm.email(pd.Series(emails, dtype="string")).tolist()
    ident_phone = identity_norm.phone(pd.Series(phones, dtype="string"), region="FR").tolist()
    # the quality audit's predicates, in the engine, on the values as delivered
    audit_valid = run(engine, lambda v: (C.is_valid_email(v) & ~quality._is_placeholder_email(v)
                                         ).fill_null(False), emails)
    audit_ph_phone = run(engine, quality._is_placeholder_phone, phones)
    for i, (value, real) in enumerate(HOSTILE_EMAILS.items()):
        got = (loaded_email[i] is not None and loaded_email[i] == loaded_email[i],
               ident_email[i] is not pd.NA, audit_valid[i])
        assert got == (real, real, real), (value, got)
    for i, (value, e164) in enumerate(HOSTILE_PHONES.items()):
        stored = loaded_phone[i] if isinstance(loaded_phone[i], str) else None
        ident = ident_phone[i] if isinstance(ident_phone[i], str) else None
        assert stored == ident == e164, (value, stored, ident)
        if e164 is not None:  # a stored number passes the audit's E.164 check
            assert run(engine, lambda v: C.is_e164(v), [stored]) == [True]
            assert audit_ph_phone[i] is False, value


def test_placeholder_words_are_one_list_everywhere(engine):
    """Each placeholder word is a placeholder for the loader, identity and the audit, however
    it is written."""
    words = ["N/A", "n.a.", "Néant", "INCONNU", "  unknown ", "-", "?", "xxx", "Non renseigné",
             "à renseigner", "TBD", "null"]
    assert all(C.py_is_placeholder_text(w) for w in words)
    assert run(engine, C.is_placeholder_text, words) == [True] * len(words)
    assert run(engine, quality._is_placeholder_text, words) == [True] * len(words)
    assert identity_norm.name(pd.Series(words, dtype="string")).isna().all()
    real = ["Nadia", "Test-Achats", "Sans-Souci", "Xavier"]
    assert run(engine, C.is_placeholder_text, real) == [False] * len(real)
    assert identity_norm.name(pd.Series(real, dtype="string")).notna().all()
