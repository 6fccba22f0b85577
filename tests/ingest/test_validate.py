"""Validation and derived columns: raw text → typed canonical columns, or a reason."""

from __future__ import annotations

from decimal import Decimal

import ibis
import pandas as pd
import pytest

from prisme.config import SourceSettings
from prisme.ingest import derive
from prisme.ingest.derive import DeriveError
from prisme.ingest.load import load_raw, raw_input_from_frame
from prisme.ingest.validate import MappingError, plan_for


# ------------------------------------------------------------------ derive language
def run(engine, text, **cols):
    t = ibis.memtable(pd.DataFrame(cols))
    return engine.to_pandas(t.select(v=derive.compile_expr(text, lambda n: t[n]))).v.tolist()


def test_derive_arithmetic_and_comparisons(engine):
    assert run(engine, "q * p - 1", q=[2.0, 3.0], p=[1.5, 2.0]) == [2.0, 5.0]
    assert run(engine, "q / 4", q=[2, 3]) == [0.5, 0.75]
    assert run(engine, "q < 0 or p >= 2", q=[-1, 1, 1], p=[0, 0, 3]) == [True, False, True]
    assert run(engine, "not (q == 1)", q=[1, 2]) == [False, True]
    assert run(engine, "0 < q <= 2", q=[0, 1, 2, 3]) == [False, True, True, False]
    assert run(engine, "'big' if q > 1 else 'small'", q=[1, 2]) == ["small", "big"]
    assert run(engine, "channel in ['web', 'app']", channel=["web", "shop"]) == [True, False]


def test_derive_string_functions_in_every_spelling(engine):
    ids = ["C536379", "536380"]
    expected = [True, False]
    assert run(engine, "order_id startswith 'C'", order_id=ids) == expected
    assert run(engine, "startswith(order_id, 'C')", order_id=ids) == expected
    assert run(engine, "order_id.startswith('C')", order_id=ids) == expected
    assert run(engine, "lower(strip(x))", x=[" AbC "]) == ["abc"]
    assert run(engine, "coalesce(x, 'none')", x=[None, "a"]) == ["none", "a"]
    assert run(engine, "x is None", x=[None, "a"]) == [True, False]


def test_money_stays_exact_in_derived_arithmetic(engine):
    t = ibis.memtable({"q": [3.0, -1.0], "p": ["0.1", "2.55"]})
    p = t.p.cast("decimal(18, 4)")
    expr = derive.compile_expr("q * p", lambda n: t.q if n == "q" else p)
    assert expr.type().is_decimal()
    out = engine.to_pandas(t.select(v=expr.cast("decimal(18, 4)"))).v.tolist()
    assert out == [Decimal("0.3000"), Decimal("-2.5500")]


@pytest.mark.parametrize("text,needle", [
    ("__import__('os').system('true')", "__import__"),
    ("q.__class__", "__class__"),
    ("open('x')", "open"),
    ("lambda: 1", "Lambda"),
    ("[x for x in q]", "ListComp"),
    ("q ** 2", "Pow"),
    ("q = 1", "not a valid expression"),
    ("upper(x, y=1)", "keyword"),
])
def test_derive_refuses_anything_outside_the_little_language(text, needle):
    with pytest.raises(DeriveError, match="derive") as info:
        derive.parse(text)
    assert needle in str(info.value)


def test_derive_names_and_numeric_names():
    assert derive.names_used("quantity * unit_price") == {"quantity", "unit_price"}
    assert derive.numeric_names("a * b > 0 or startswith(c, 'x')") == {"a", "b"}


def test_an_unknown_name_in_a_derive_says_which(engine):
    t = ibis.memtable({"q": [1]})

    def resolve(n):
        if n == "q":
            return t.q
        raise KeyError(f"unknown column {n!r}")

    with pytest.raises(DeriveError, match="unknown column 'price'"):
        derive.compile_expr("q * price", resolve)


# ------------------------------------------------------------------ typing the raw columns
SESSIONS = SourceSettings(
    entity="web_session", path="s.csv", decimal=",", thousands=".", date_format="%d/%m/%Y",
    columns={"session_id": "id", "started_at": "when", "clicks": "clicks",
             "duration_s": "secs", "device": "device"},
)


def load(engine, settings, name, frame):
    return load_raw(engine, settings, name, raw_input_from_frame(engine, name, frame))


def test_numbers_dates_and_blanks_in_a_french_export(engine, settings):
    settings.sources["web"] = SESSIONS
    frame = pd.DataFrame({
        "id": ["s1", "s2", "s3", "s4", "s5", "s6"],
        "when": ["21/03/2024", "21/03/2024 08:15", "21/03/2024", "2024-03-21", "21/03/2024",
                 "21/03/2024"],
        "clicks": ["3", "", "1.200", "1", "2,5", "1"],
        "secs": ["12,5", "1.234,75", " ", "1", "2", "douze"],
        "device": [" mobile ", "", "pc", "pc", "pc", "pc"],
    })
    r = load(engine, settings, "web", frame)
    assert (r.rows_loaded, r.rows_quarantined) == (3, 3)
    ok = engine.to_pandas(engine.table("fact_web_sessions").order_by("source_line"))
    assert ok.session_id.tolist() == ["s1", "s2", "s3"]
    assert ok.duration_s.tolist()[:2] == [12.5, 1234.75] and pd.isna(ok.duration_s[2])
    assert ok.clicks.tolist()[0] == 3 and pd.isna(ok.clicks[1]) and ok.clicks[2] == 1200
    assert str(ok.started_at[1]) == "2024-03-21 08:15:00"
    assert ok.device[0] == "mobile" and pd.isna(ok.device[1])  # trimmed; blank = NULL
    q = engine.to_pandas(engine.table("quarantine").order_by("source_line"))
    assert q.reason.tolist() == [
        "column started_at (when): '2024-03-21' is not a date in the format %d/%m/%Y",
        "column clicks: '2,5' is not a whole number",
        "column duration_s (secs): 'douze' is not a number (expected digits with a decimal "
        "comma)",
    ]


def test_a_required_column_the_mapping_forgets_is_named(engine, settings):
    src = SESSIONS.model_copy(update={"columns": {"session_id": "id"}})
    raw = raw_input_from_frame(engine, "web", pd.DataFrame({"id": ["a"], "when": ["x"]}))
    with pytest.raises(MappingError, match="required column.*started_at"):
        plan_for("web", src, raw)


def test_without_a_mapping_same_named_columns_are_used(engine, settings):
    settings.sources["ads"] = SourceSettings(entity="ad_spend", path="a.csv",
                                             date_format="%Y-%m-%d")
    frame = pd.DataFrame({"Date": ["2024-01-01"], "channel": ["email"], "SPEND": ["12.5"],
                          "other": ["x"]})
    r = load(engine, settings, "ads", frame)
    assert r.rows_loaded == 1
    assert engine.to_pandas(engine.table("fact_ad_spend")).spend[0] == Decimal("12.5000")


CONTACTS = SourceSettings(
    entity="customer", path="c.csv", constants={"source": "crm"},
    columns={"source_customer_id": "id", "email": "mail", "phone": "tel", "country": "pays",
             "consent_email": "optin", "birth_date": "naissance"},
    date_format="%d/%m/%Y",
)


def test_contact_columns_are_normalised_or_loaded_empty_with_an_issue(engine, settings):
    """A bad or placeholder e-mail, phone or country does not lose the customer: the value is
    loaded as NULL and noted in load_issues; a bad yes/no (strict) still quarantines the row."""
    settings.sources["crm"] = CONTACTS
    settings.project.default_country = "FR"
    frame = pd.DataFrame({
        "id": ["1", "2", "3", "4", "5", "6"],
        "mail": [" Jean.Dupont@Example.FR ", "", "marie@", "a@b.fr", "c@d.fr",
                 "noemail@noemail.com"],
        "tel": ["06 12 34 56 78", "+44 20 7946 0958", "", "12", "0612345678", "0000000000"],
        "pays": ["France", "GB", "", "FR", "Atlantide", "N/A"],
        "optin": ["oui", "0", "", "yes", "peut-être", ""],
        "naissance": ["01/02/1980", "", "", "", "", ""],
    })
    r = load(engine, settings, "crm", frame)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (6, 5, 1)
    assert r.rows_with_issues == 3
    dim = engine.to_pandas(engine.table("dim_customer").order_by("source_customer_id"))
    assert dim.source_customer_id.tolist() == ["1", "2", "3", "4", "6"]
    assert dim.email.tolist()[0] == "jean.dupont@example.fr" and pd.isna(dim.email[1])
    assert dim.email[1:].isna().tolist() == [True, True, False, True]
    assert dim.email[3] == "a@b.fr"
    assert dim.phone.tolist()[:2] == ["+33612345678", "+442079460958"]
    assert dim.phone[2:].isna().all()
    assert dim.country.tolist()[:2] == ["FR", "GB"] and dim.country[3] == "FR"
    assert pd.isna(dim.country[4])
    assert dim.consent_email.tolist()[:2] == [True, False]
    assert str(dim.birth_date[0]) == "1980-02-01"
    q = engine.to_pandas(engine.table("quarantine"))
    assert (q.source_line.tolist(), q.column_name.tolist()) == ([6], ["consent_email"])
    issues = engine.to_pandas(engine.table("load_issues").order_by(["source_line",
                                                                   "column_name"]))
    got = list(zip(issues.source_line, issues.column_name, issues.raw_value, strict=True))
    assert got == [(4, "email", "marie@"), (5, "phone", "12"), (7, "country", "N/A"),
                   (7, "email", "noemail@noemail.com"), (7, "phone", "0000000000")]
    assert (issues.load_id == r.load_id).all() and (issues.entity == "customer").all()
    reasons = issues.reason.tolist()
    assert reasons[0] == ("column email (mail): 'marie@' is not an e-mail address "
                          "(expected name@domain.tld); loaded as empty")
    assert reasons[1].startswith("column phone (tel): '12' is not a valid phone number for FR")
    assert reasons[1].endswith("; loaded as empty")
    assert "'N/A' is a placeholder" in reasons[2]
    assert "'noemail@noemail.com' is a placeholder" in reasons[3]
    assert "'0000000000' is a placeholder" in reasons[4]
    # the reason of a quarantined row is the strict column's, its bad country is not noted
    assert "'peut-être' is not a yes/no value" in q.reason[0]
    assert 6 not in issues.source_line.tolist()


# ------------------------------------------------------------------ fast paths, same results
def test_narrowing_a_wide_decimal_rounds_as_the_direct_cast(engine):
    """``_cast`` narrows a product computed in 38 digits to money through 64-bit integers
    when it fits; the result is the direct cast's, halves and negatives included, and a
    value too large for the fast path still takes the direct one."""
    import ibis.expr.datatypes as dt

    from prisme.ingest.validate import _cast
    from prisme.warehouse.schema import MONEY

    values = ["1.00005", "-1.00005", "2.00015", "-2.00015", "0.00004999", "-0.00005",
              "123456789.12345678", "9999999999.99994999", "99999999999999.00005", None]
    t = ibis.memtable(pd.DataFrame({"x": values}))
    wide = t.x.cast(dt.Decimal(38, 8))
    out = engine.to_pandas(t.select(fast=_cast(wide, MONEY), direct=wide.cast(MONEY)))
    assert out.fast.tolist()[:-1] == out.direct.tolist()[:-1]
    assert out.fast.iloc[0] == Decimal("1.0001") and out.fast.iloc[5] == Decimal("-0.0001")
    assert out.fast.iloc[8] == Decimal("99999999999999.0001")
    assert pd.isna(out.fast.iloc[-1])


@pytest.mark.parametrize(("decimal", "thousands", "text", "expected"), [
    (",", None, "12,50", 12.5), (",", None, " 7 ", 7.0), (",", " ", "1 234,50", 1234.5),
    (",", ".", "1.234,5", 1234.5), (",", ".", "1.234", 1234.0), (".", ",", "1,234.5", 1234.5),
    (",", None, "1\u00a0234,5", 1234.5), (",", None, "€12,5", 12.5), (",", None, "12\t", 12.0),
    (",", None, "deux", None), (",", None, "1.234,5", None), (".", None, "", None),
])
def test_plain_number_fast_path_agrees_with_the_full_parser(engine, decimal, thousands, text,
                                                           expected):
    """Money and numbers go through a cheap cast first and the full parser (symbols, spaces,
    non-breaking spaces) only when it fails; the value is the full parser's either way."""
    src = SourceSettings(entity="transaction", path="x.csv", decimal=decimal,
                         thousands=thousands, date_format="%Y-%m-%d",
                         columns={"order_id": "o", "ordered_at": "d", "sku": "s",
                                  "quantity": "q", "unit_price": "p"},
                         derive={"revenue": "quantity * unit_price"},
                         constants={"source": "shop"})
    from prisme.config import Settings

    settings = Settings()
    settings.sources["s"] = src
    frame = pd.DataFrame({"o": ["A", "B"], "d": ["2024-01-02"] * 2, "s": ["K"] * 2,
                          "q": [text, "2"], "p": ["3", text]})
    raw = raw_input_from_frame(engine, "s", frame, fmt={"decimal": decimal,
                                                        "thousands": thousands})
    result = load_raw(engine, settings, "s", raw)
    facts = engine.to_pandas(engine.table("fact_sales").order_by("source_line"))
    by_order = dict(zip(facts.order_id, facts.itertuples(), strict=True))
    if expected is None:  # text in a quantity, and in a price
        assert result.rows_quarantined == 2 and facts.empty
        return
    if "€" in text:  # a currency symbol is part of a price, not of a quantity
        assert "A" not in by_order
    else:
        assert by_order["A"].quantity == expected
    assert by_order["B"].revenue == 2 * Decimal(str(expected))
