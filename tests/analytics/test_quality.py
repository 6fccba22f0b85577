"""Data-quality audit: a clean list scores near 100; planted defects are counted exactly."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timedelta

import ibis
import pandas as pd
import pytest
from rich.console import Console

from prisme.analytics import quality
from prisme.i18n import quality as words
from prisme.warehouse.schema import (
    ENTITIES,
    LINEAGE,
    LOAD_BATCHES,
    LOAD_ISSUES,
    PARTY_MAP,
    QUARANTINE,
)

LOAD_AT = datetime(2026, 11, 1, 8, 0)
AUDIT_AT = datetime(2026, 11, 11, 8, 0)
FIRST = ["Anne", "Paul", "Léa", "Hugo", "Chloé", "Louis", "Emma", "Jules", "Inès", "Noah"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]


def plain(name: str) -> str:
    return unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()


def clean_list(n: int = 60, source: str = "crm") -> pd.DataFrame:
    rows = []
    for i in range(n):
        f, la = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
        rows.append({
            "source": source, "source_customer_id": f"{source[0].upper()}{i:04d}",
            "kind": "person", "first_name": f, "last_name": la,
            "email": f"{plain(f)}.{plain(la)}{i}@example.fr",
            "phone": f"+336{10000000 + i:08d}", "address_line": f"{i + 1} rue de la Paix",
            "postal_code": f"{75001 + i % 20:05d}", "city": "Paris", "country": "FR",
            "birth_date": date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
            "consent_email": i % 3 != 0, "consent_phone": i % 2 == 0, "consent_post": True,
            "created_at": LOAD_AT - timedelta(days=400 - i),
            "updated_at": LOAD_AT - timedelta(days=1 + i % 10),
        })
    return pd.DataFrame(rows)


def write_load(engine, df: pd.DataFrame, *, load_id: str, source: str, at: datetime,
               quarantined: list[tuple[str, str]] = (),
               issues: list[tuple[int, str, str]] = ()) -> None:
    """dim_customer rows of one load, its journal line, its quarantine rows and its
    load_issues (row index, column, raw value: the loader loaded that value as empty)."""
    schema = ibis.schema({**dict(ENTITIES["customer"].ibis_schema().items()),
                          **dict(LINEAGE.items()), "valid_from": "timestamp",
                          "valid_to": "timestamp", "is_current": "boolean"})
    df = df.copy()
    df["load_id"], df["loaded_at"], df["valid_from"] = load_id, at, at
    df["source_line"] = range(2, len(df) + 2)
    df["is_current"] = True
    for c in schema.names:
        if c not in df.columns:
            df[c] = None
    expr = ibis.memtable(df[list(schema.names)]).cast(schema)
    if engine.has_table("dim_customer"):
        # earlier versions of the same keys end where this load begins
        old = engine.to_pandas(engine.table("dim_customer"))
        again = old.set_index(["source", "source_customer_id"]).index.isin(
            list(zip(df.source, df.source_customer_id, strict=True)))
        old.loc[again & old.valid_to.isna(), "valid_to"] = at
        old["is_current"] = old.valid_to.isna()
        expr = ibis.union(ibis.memtable(old[list(schema.names)]).cast(schema), expr)
        expr = ibis.memtable(engine.to_pandas(expr)).cast(schema)
    engine.create_table("dim_customer", expr, overwrite=True)
    q = pd.DataFrame([{"load_id": load_id, "source": source, "entity": "customer",
                       "file_name": "x.csv", "source_line": 900 + k, "column_name": col,
                       "raw_value": raw, "reason": f"column {col}: bad", "raw_record": "{}",
                       "quarantined_at": at} for k, (col, raw) in enumerate(quarantined)],
                     columns=list(QUARANTINE.names))
    lb = pd.DataFrame([{"load_id": load_id, "source": source, "entity": "customer",
                        "file_name": "x.csv", "file_sha256": load_id, "rows_read": len(df)
                        + len(q), "rows_loaded": len(df), "rows_quarantined": len(q),
                        "started_at": at, "finished_at": at + timedelta(minutes=1),
                        "status": "loaded", "message": "", "watermark": None}])
    li = pd.DataFrame([{"load_id": load_id, "source": source, "entity": "customer",
                        "file_name": "x.csv", "source_line": k + 2, "column_name": col,
                        "raw_value": raw, "reason": f"column {col}: '{raw}' bad; loaded as empty",
                        "noted_at": at} for k, col, raw in issues],
                      columns=list(LOAD_ISSUES.names))
    for k, col, _ in issues:
        assert pd.isna(df.loc[k, col]), "a value noted in load_issues was loaded as empty"
    for name, frame, sch in (("quarantine", q, QUARANTINE), ("load_batches", lb, LOAD_BATCHES),
                             ("load_issues", li, LOAD_ISSUES)):
        t = ibis.memtable(frame).cast(sch)
        if engine.has_table(name):
            engine.insert(name, t)
        else:
            engine.create_table(name, t)


def write_parties(engine, df: pd.DataFrame, same: dict[str, str] = {}) -> None:  # noqa: B006
    """One party per record, except the records in ``same`` (id → id of the same person)."""
    pm = df[["source", "source_customer_id"]].copy()
    pm["party_id"] = ["P" + same.get(k, k) for k in pm.source_customer_id]
    pm["match_probability"] = 1.0
    engine.create_table("party_map", ibis.memtable(pm).cast(PARTY_MAP), overwrite=True)


def value(rows, check, field=None, source="crm", what="value"):
    sel = rows[(rows.check == check) & (rows.source == source)]
    sel = sel[sel.field.isna()] if field is None else sel[sel.field == field]
    assert len(sel) == 1, (check, field, sel)
    return sel[what].iloc[0]


def test_a_clean_list_scores_near_100(engine, settings):
    df = clean_list()
    write_load(engine, df, load_id="L1", source="crm", at=LOAD_AT)
    write_parties(engine, df)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    assert value(rows, "score") >= 98
    for f in ("email", "phone", "postal_code", "birth_date"):
        assert value(rows, "validity", f, what="n") == 0
        assert value(rows, "completeness", f) == 1.0
    assert value(rows, "duplicates", what="n") == 0
    assert value(rows, "records", what="n") == 60
    assert value(rows, "freshness", "days_since_load") == pytest.approx(9.999, abs=0.01)
    # the table is written and re-auditing replaces, not appends
    quality.audit(engine, settings, as_of=AUDIT_AT)
    stored = engine.to_pandas(engine.table("quality_audit"))
    assert len(stored) == len(rows)


def planted() -> tuple[pd.DataFrame, dict[str, str]]:
    df = clean_list(80)
    df.loc[[1, 2, 3], "email"] = ["anne@@example.fr", "paul.bernard.example.fr",
                                  "lea dubois@example"]
    df.loc[[4, 5], "email"] = "noemail@noemail.com"
    df.loc[[6, 7], "birth_date"] = [date(2027, 5, 1), date(1869, 5, 14)]
    df.loc[[8, 9], "postal_code"] = ["7500", "750123"]
    df.loc[10, ["first_name", "email", "phone", "address_line", "postal_code", "city"]] = None
    df.loc[11, "updated_at"] = LOAD_AT + timedelta(days=300)
    df.loc[12, "city"] = "N/A"
    # records 70..73 are second records of customers 20..23 (same source)
    same = {f"C{70 + k:04d}": f"C{20 + k:04d}" for k in range(4)}
    return df, same


def test_planted_defects_are_flagged_with_the_right_counts(engine, settings):
    df, same = planted()
    # three customers whose phone the loader could not use: loaded with an empty phone
    bad_phones = [(13, "phone", "06 12 AB 45"), (14, "phone", "01 23 45"),
                  (15, "phone", "0000000000")]
    df.loc[[13, 14, 15], "phone"] = None
    write_load(engine, df, load_id="L1", source="crm", at=LOAD_AT, issues=bad_phones)
    write_parties(engine, df, same)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    assert value(rows, "records", what="n") == 80  # the three are customers of the list
    assert value(rows, "validity", "email", what="n") == 3
    assert value(rows, "placeholder", "email", what="n") == 2
    assert value(rows, "validity", "phone", what="n") == 2  # the unparsable ones
    assert value(rows, "placeholder", "phone", what="n") == 1
    # delivered but unusable: present for completeness (only record 10 has no phone), so a
    # bad phone is counted once, by validity
    assert value(rows, "completeness", "phone", what="n") == 79
    assert value(rows, "validity", "phone") == pytest.approx(1 - 2 / (79 - 1))
    assert value(rows, "validity", "birth_date", what="n") == 2
    assert value(rows, "validity", "postal_code", what="n") == 2
    assert value(rows, "validity", "updated_at", what="n") == 1
    assert value(rows, "completeness", "near_empty", what="n") == 1
    assert value(rows, "placeholder", "city", what="n") == 1
    assert value(rows, "duplicates", what="n") == 4
    assert value(rows, "duplicates") == pytest.approx(4 / 80)
    assert value(rows, "score_component", "uniqueness") == pytest.approx(95.0)
    assert 80 < value(rows, "score") < 98
    v = value(rows, "validity", "email")
    assert v == pytest.approx(1 - 3 / (80 - 1 - 2))  # 79 present e-mails, 2 placeholders


def test_unknown_countries_noted_at_load_have_a_validity_row(engine, settings):
    df = clean_list(40)
    unknown = [(5, "country", "Frnace"), (6, "country", "Atlantis")]
    df.loc[[5, 6], "country"] = None
    df.loc[[1, 2, 3], "nationality"] = "FR"
    write_load(engine, df, load_id="L1", source="crm", at=LOAD_AT, issues=unknown)
    write_parties(engine, df)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    # delivered but unusable: present for completeness, invalid for validity (counted once)
    assert value(rows, "completeness", "country", what="n") == 40
    assert value(rows, "validity", "country", what="n") == 2
    assert value(rows, "validity", "country") == pytest.approx(1 - 2 / 40)
    assert "2 of 40 are not a known country" in words.text(value(rows, "validity", "country",
                                                                 what="detail"))
    assert value(rows, "validity", "nationality", what="n") == 0
    assert value(rows, "validity", "nationality") == 1.0
    # reported, but the score's validity component is what it was without these rows
    scored = rows[(rows.check == "validity") & rows.value.notna()
                  & ~rows.field.isin(["country", "nationality"])]
    assert value(rows, "score_component", "validity") == pytest.approx(
        100 * scored.value.mean())


def test_freshness_names_the_date_it_was_measured_against(engine, settings, tmp_path):
    from prisme.act import quality_report

    df = clean_list(20)
    write_load(engine, df, load_id="L1", source="crm", at=LOAD_AT)
    write_parties(engine, df)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    detail = words.text(value(rows, "freshness", "days_since_load", what="detail"))
    assert "2026-11-11 08:00" in detail and "2026-11-01" in detail
    assert "2026-11-11 08:00" in words.text(value(rows, "freshness", "days_since_latest_record",
                                                  what="detail"))
    assert "11/11/2026 à 08:00 UTC" in words.text(
        value(rows, "freshness", "days_since_load", what="detail"), "fr")
    console = Console(record=True, width=250)
    console.print(quality.quality_table(rows))
    assert "audited 2026-11-11 08:00 UTC" in console.export_text()
    html = quality_report.render_html(rows)
    assert "counted up to the audit of 2026-11-11 08:00 UTC" in html


def test_overlap_and_trend_over_loads(engine, settings):
    crm = clean_list(40)
    write_load(engine, crm, load_id="L1", source="crm", at=LOAD_AT)
    shop = clean_list(20, source="shop")
    write_load(engine, shop, load_id="L2", source="shop", at=LOAD_AT)
    # second crm load: 10 records come back with broken e-mails
    worse = crm.iloc[:10].copy()
    worse["email"] = "broken"
    write_load(engine, worse, load_id="L3", source="crm", at=LOAD_AT + timedelta(days=5))
    pm = pd.concat([crm, shop])[["source", "source_customer_id"]]
    # shop customers 0..9 are crm customers 0..9
    pm["party_id"] = ["P" + (f"C{k[1:]}" if s == "shop" and int(k[1:]) < 10 else k)
                      for s, k in zip(pm.source, pm.source_customer_id, strict=True)]
    pm["match_probability"] = 1.0
    engine.create_table("party_map", ibis.memtable(pm).cast(PARTY_MAP), overwrite=True)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    assert value(rows[rows.load_id == "L3"], "records", what="n") == 40  # the list after L3
    assert value(rows[rows.load_id == "L3"], "validity", "email", what="n") == 10
    assert value(rows[rows.load_id == "L1"], "validity", "email", what="n") == 0
    assert value(rows[rows.load_id == "L1"], "overlap", "shop", what="n") == 10
    assert value(rows, "overlap", "crm", source="shop", what="n") == 10
    assert value(rows, "overlap", None, source="shop") == pytest.approx(0.5)
    console = Console(record=True, width=200)
    console.print(quality.quality_table(rows))
    lines = console.export_text().splitlines()
    assert any(line.strip("│ ").startswith("crm") and "L3" in line for line in lines)
    assert any(line.strip("│ ").startswith("shop") and "L2" in line for line in lines)
    tr = quality.trend(rows)
    crm_trend = tr[tr.source == "crm"]
    assert crm_trend.load_id.tolist() == ["L1", "L3"]
    assert crm_trend.total.iloc[1] < crm_trend.total.iloc[0]
    # auditing one load keeps the other loads' rows
    quality.audit(engine, settings, load_id="L3", as_of=AUDIT_AT)
    stored = engine.to_pandas(engine.table("quality_audit"))
    assert set(stored.load_id) == {"L1", "L2", "L3"}


def test_weights_are_shown_and_sum_to_one():
    w = quality.weights_table()
    assert w.weight.sum() == pytest.approx(1.0)
    assert set(w.component) == {"completeness", "validity", "uniqueness", "freshness",
                                "consent"}


def test_rich_table_lists_each_source_with_its_score(engine, settings):
    df, same = planted()
    write_load(engine, df, load_id="L1", source="crm", at=LOAD_AT)
    write_parties(engine, df, same)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    console = Console(record=True, width=200)
    console.print(quality.quality_table(rows))
    text = console.export_text()
    assert "crm" in text and "validity 30%" in text  # the weights are shown
    assert f"{value(rows, 'score'):.1f}" in text


def test_nothing_to_audit_gives_an_empty_frame(engine, settings):
    rows = quality.audit(engine, settings)
    assert rows.empty and list(rows.columns) == list(quality.AUDIT.names)


def test_html_report_is_self_contained_with_its_figures(engine, settings, tmp_path):
    from prisme.act import quality_report

    df, same = planted()
    write_load(engine, df, load_id="L1", source="crm", at=LOAD_AT)
    write_load(engine, df.iloc[:70], load_id="L2", source="crm", at=LOAD_AT + timedelta(days=3))
    write_parties(engine, df, same)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    path = quality_report.write_html(rows, tmp_path / "report" / "quality.html")
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=[\"']https?:", html)
    assert not re.search(r"<script[^>]*\bsrc=", html)  # every script is inline
    assert not re.search(r"<link[^>]+href=[\"']https?:", html)
    assert len(html) > 3_000_000 and "Plotly.newPlot" in html  # plotly.js inline + figures
    assert html.count("Plotly.newPlot") == 3
    for title in ("Completeness by field", "Validity by field", "Quality score over loads"):
        assert title in html
    assert f"{value(rows[rows.load_id == 'L2'], 'score'):.1f}" in html
    assert "validity (30%)" in html


# ------------------------------------------------------------------ the demo company's truth
#: planted defect → the audit row that must count it
DEFECT_CHECKS = {
    "invalid_email": ("validity", "email"),
    "placeholder_email": ("placeholder", "email"),
    "placeholder_phone": ("placeholder", "phone"),
    "unparsable_phone": ("validity", "phone"),
    "bad_postcode": ("validity", "postal_code"),
    "implausible_birth_date": ("validity", "birth_date"),
    "future_date": ("validity", "updated_at"),
    "near_empty_record": ("completeness", "near_empty"),
    "placeholder_text": ("placeholder", "city"),
    "duplicate_record": ("duplicates", None),
}


def _quarantined_ids(engine, settings) -> dict[tuple[str, str], str]:
    """(customer system, id) → the column its row was rejected for."""
    q = engine.to_pandas(engine.table("quarantine"))
    out = {}
    for r in q[q.entity == "customer"].itertuples():
        src = settings.sources[r.source]
        record = json.loads(r.raw_record)
        ident = record.get(src.columns.get("source_customer_id", "source_customer_id"))
        out[(src.constants["source"], str(ident))] = r.column_name
    return out


#: defects in contact columns: the customer is loaded, the value loaded as empty when unusable
SOFT_DEFECTS = {"invalid_email": "email", "placeholder_email": "email",
                "placeholder_phone": "phone", "unparsable_phone": "phone",
                "bad_postcode": "postal_code"}


def _assert_bad_contacts_reach_dim_customer(truth, rejected, dim, issues, systems) -> None:
    """Every customer planted with a bad contact value is in dim_customer (unless a strict
    column of the same row was rejected); an unusable value is NULL there and noted in
    load_issues with its source line and the raw value."""
    loaded = set(zip(dim.source, dim.source_customer_id, strict=True))
    by_key = dim.set_index(["source", "source_customer_id"])
    noted = {(systems[r.source], r.load_id, int(r.source_line), r.column_name): r.raw_value
             for r in issues.itertuples()}
    soft = truth[truth.defect.isin(list(SOFT_DEFECTS))]
    assert len(soft) > 0
    for r in soft.itertuples():
        key = (r.source, r.source_customer_id)
        if key in rejected:  # rejected for a strict column (a bad date), not for this one
            assert rejected[key] not in ("email", "phone", "postal_code", "country"), key
            continue
        assert key in loaded, (r.defect, key)
        rec = by_key.loc[key]
        if r.defect in ("invalid_email", "placeholder_email", "placeholder_phone",
                        "unparsable_phone") and pd.isna(rec[r.column]):
            hit = noted.get((r.source, rec.load_id, int(rec.source_line), r.column))
            assert hit is not None and hit.strip() == str(r.value).strip(), (r.defect, key, hit)


@pytest.mark.slow
def test_demo_planted_defects_are_flagged(tmp_path):
    from prisme import engine as engine_mod
    from prisme.config import load_settings
    from prisme.demo import generate
    from prisme.identity.build import resolve_parties
    from prisme.ingest.load import ingest

    generate(customers=200, seed=11, directory=tmp_path / "demo")
    settings = load_settings(tmp_path / "demo")
    settings.engine.memory_limit = "2GB"
    systems = {n: s.constants["source"] for n, s in settings.sources.items()
               if s.entity == "customer"}
    with engine_mod.connect(settings) as engine:
        ingest(settings, list(systems), engine=engine)
        resolve_parties(engine, settings)
        rows = quality.audit(engine, settings)
        rejected = _quarantined_ids(engine, settings)
        parties = engine.to_pandas(engine.table("party_map"))
        dim = engine.to_pandas(engine.table("dim_customer").filter(lambda t: t.is_current))
        issues = engine.to_pandas(engine.table("load_issues"))
    truth = pd.read_csv(tmp_path / "demo" / "truth" / "quality_defects.csv", dtype=str,
                        keep_default_na=False, na_values=[""])  # 'N/A' is a planted value
    persons = pd.read_csv(tmp_path / "demo" / "truth" / "persons.csv", dtype=str)
    _assert_bad_contacts_reach_dim_customer(truth, rejected, dim, issues, systems)
    for name, system in systems.items():
        planted_here = truth[truth.source == system]
        for defect, (check, field) in DEFECT_CHECKS.items():
            d = planted_here[planted_here.defect == defect]
            # a row rejected for another column never reaches the warehouse (one reason a row)
            reached = [k for k, col in zip(d.source_customer_id, d.column, strict=True)
                       if rejected.get((system, k), col) == col]
            got = value(rows, check, field, source=name, what="n")
            if defect == "unparsable_phone":
                assert got >= len(reached), (name, defect)  # the demo has other bad numbers
            elif defect == "duplicate_record":
                # found through identity resolution: a person's records of one source that
                # reached the warehouse share a party (a false merge of the model would add
                # to the count, so the planted count is a lower bound here)
                mine = persons[(persons.source == system) & ~persons.source_customer_id.map(
                    lambda k, system=system: (system, k) in rejected)]
                twice = mine[mine.person_id.duplicated(keep=False)]
                party = twice.merge(parties, on=["source", "source_customer_id"])
                assert (party.groupby("person_id").party_id.nunique() == 1).all(), name
                expected = len(twice) - twice.person_id.nunique()
                assert got >= expected, (name, got, expected)
            else:
                assert got == len(reached), (name, defect, got, len(reached))


def test_a_list_without_contact_fields_is_not_complete(engine, settings):
    """Issue #9 item 10: a list of names alone (no e-mail, phone or address) scored
    completeness 100, measured on the fields it delivered. It is measured on what a customer
    record should have, and the absent fields are named."""
    names = clean_list(30, source="names")[["source", "source_customer_id", "kind",
                                            "first_name", "last_name"]]
    full = clean_list(30)
    write_load(engine, full, load_id="F1", source="crm", at=LOAD_AT)
    # last (the order once hid a Spark fault: an empty text read back through pandas and
    # written again became the text 'NaN'; see test_engine's fetched-frame test)
    write_load(engine, names, load_id="N1", source="names", at=LOAD_AT)
    write_parties(engine, pd.concat([names, full]))
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    comp = value(rows, "score_component", "completeness", source="names")
    assert comp == pytest.approx(100 * 2 / len(quality.EXPECTED_FIELDS))
    absent = rows[(rows.source == "names") & (rows.check == "completeness")
                  & (rows.field == "absent")].iloc[0]
    assert absent.n == 6
    for f in ("email", "phone", "address_line", "postal_code", "city", "country"):
        assert f in absent.detail
    assert "first_name" not in absent.detail
    detail = value(rows, "score_component", "completeness", source="names", what="detail")
    assert "absent from the list: email, phone" in words.text(detail)
    assert "absents de la liste : e-mail, téléphone" in words.text(detail, "fr")
    # the complete list: every expected field, the birth date it delivers counted too
    assert value(rows, "score_component", "completeness") == pytest.approx(100)
    assert value(rows, "completeness", "absent", what="n") == 0
    assert value(rows, "score", source="names") < value(rows, "score") - 15


def test_the_trend_is_drawn_against_load_dates(engine, settings):
    """Issue #9 item 10: the demo's loads, seconds apart, made a "score over loads" drawn
    against seconds. One point per load date (the list at the end of that day)."""
    from prisme.act.quality_report import _trend

    crm = clean_list(40)
    write_load(engine, crm, load_id="L1", source="crm", at=LOAD_AT)
    worse = crm.iloc[:10].copy()
    worse["email"] = "broken"
    write_load(engine, worse, load_id="L2", source="crm", at=LOAD_AT + timedelta(seconds=7))
    write_load(engine, crm.iloc[:10], load_id="L3", source="crm",
               at=LOAD_AT + timedelta(days=3, seconds=2))
    write_parties(engine, crm)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    tr = quality.trend(rows)
    assert tr.load_date.tolist() == [date(2026, 11, 1), date(2026, 11, 4)]
    assert tr.load_id.tolist() == ["L2", "L3"]  # the list as it stood at the end of the day
    assert tr.total.iloc[1] > tr.total.iloc[0]
    (line,) = _trend(rows).data
    assert list(line.x) == ["2026-11-01", "2026-11-04"]
    assert _trend(rows).layout.xaxis.type == "category"


def test_brazilian_postcodes_are_validated(engine, settings):
    """Issue #9 item 10: Brazilian postcodes (CEP, 8 digits, 01310-100) were not validated."""
    df = clean_list(20)
    df["country"] = "BR"
    df["phone"] = [f"+55119{87654300 + i:08d}" for i in range(20)]
    df["postal_code"] = [f"{1310100 + i:08d}"[:5] + "-" + f"{1310100 + i:08d}"[5:]
                         for i in range(20)]
    df.loc[[3, 4], "postal_code"] = ["1310-10", "0131010"]  # 6 and 7 digits: not a CEP
    write_load(engine, df, load_id="B1", source="crm", at=LOAD_AT)
    write_parties(engine, df)
    rows = quality.audit(engine, settings, as_of=AUDIT_AT)
    assert value(rows, "validity", "postal_code", what="n") == 2
    assert value(rows, "validity", "postal_code") == pytest.approx(18 / 20)
