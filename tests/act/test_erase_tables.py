"""Erasure, table by table, on a small warehouse written by hand (every engine)."""

from __future__ import annotations

import datetime as _dt
import json

import ibis
import pandas as pd
import pytest

from prisme.access import audit
from prisme.act import erase as erasure
from prisme.warehouse import core, suppression
from prisme.warehouse.schema import ENTITIES, QUARANTINE, TARGET_LISTS

T0 = _dt.datetime(2026, 1, 5, 10, 0)


def _insert(engine, name, rows):
    schema = engine.table(name).schema()
    df = pd.DataFrame(rows)
    for c in schema.names:
        if c not in df.columns:
            df[c] = None
    engine.insert(name, ibis.memtable(df[list(schema.names)]).cast(schema))


@pytest.fixture
def warehouse(engine, settings):
    core.ensure_tables(engine)
    people = [  # party P1 = crm:C1 + shop:S1 (the person); P2 = crm:C2 (someone else)
        dict(source="crm", source_customer_id="C1", first_name="Zoé", last_name="Quintarel",
             email="zoe.q@example.fr", phone="+33611223344", load_id="L1", source_line=2),
        dict(source="crm", source_customer_id="C1", first_name="Zoé", last_name="Quintarel",
             email="zoe.old@example.fr", phone="+33611223344", load_id="L0", source_line=2),
        dict(source="shop", source_customer_id="S1", first_name="Zoe", last_name="Quintarel",
             email="zoe.q@example.fr", load_id="L2", source_line=7),
        dict(source="crm", source_customer_id="C2", first_name="Marc", last_name="Durand",
             email="marc@example.fr", phone="+33699887766", load_id="L1", source_line=3),
    ]
    _insert(engine, "core_customer_versions", [dict(r, loaded_at=T0) for r in people])
    pm = pd.DataFrame({"source": ["crm", "shop", "crm"], "source_customer_id": ["C1", "S1", "C2"],
                       "party_id": ["P1", "P1", "P2"], "match_probability": 1.0})
    engine.create_table("party_map", ibis.memtable(pm))
    engine.create_table("party_history", ibis.memtable(pm.assign(
        event="created", other_party_id=[None, None, "P1"], load_id="L9", at=T0)))
    engine.create_table("dim_party", ibis.memtable(pd.DataFrame({
        "party_id": ["P1", "P2"], "email": ["zoe.q@example.fr", "marc@example.fr"]})))
    engine.create_table("customer_360", ibis.memtable(pd.DataFrame({
        "party_id": ["P1", "P2"], "last_name": ["Quintarel", "Durand"], "clv_12m": [1.0, 2.0]})))
    engine.create_view("my_view", engine.table("customer_360"))
    engine.create_table("mart_card", ibis.memtable(pd.DataFrame({
        "party_id": ["P1", "P2"], "last_name": ["Quintarel", "Durand"]})))
    engine.create_index("mart_card", "party_id")
    engine.create_table("score_history", ibis.memtable(pd.DataFrame({
        "party_id": ["P1", "P2"], "model": "clv_12m", "value": [1.0, 2.0]})))
    engine.create_table("target_lists", ibis.memtable(pd.DataFrame({
        "list_id": "L", "party_id": ["P1", "P2"], "group": "treatment", "channel": "email",
        "exported_at": T0, "exported_by": "cli:x"})).cast(TARGET_LISTS))
    _insert(engine, core.storage_table(ENTITIES["transaction"]), [
        dict(source="shop", order_id="O1", source_customer_id="S1", ordered_at=T0, sku="A",
             quantity=1.0, revenue=10, load_id="L3", loaded_at=T0, source_line=2),
        dict(source="crm", order_id="O2", source_customer_id="C2", ordered_at=T0, sku="A",
             quantity=1.0, revenue=20, load_id="L3", loaded_at=T0, source_line=3)])
    _insert(engine, core.storage_table(ENTITIES["survey"]), [
        dict(source="crm", source_customer_id="C1", answered_at=T0, nps=9.0,
             comment="Zoé Quintarel ici", load_id="L4", loaded_at=T0, source_line=2)])
    q = [dict(load_id="L1", source="crm_customers", entity="customer", file_name="c.csv",
              source_line=9, column_name="birth_date", raw_value="31/02/1990",
              reason="not a date", quarantined_at=T0,
              raw_record=json.dumps({"Nom": "QUINTAREL", "Prénom": "Zoé", "Tel": "06 11 22 33 44"})),
         dict(load_id="L1", source="crm_customers", entity="customer", file_name="c.csv",
              source_line=10, column_name="birth_date", raw_value="x", reason="not a date",
              quarantined_at=T0, raw_record=json.dumps({"Nom": "Durand", "Prénom": "Marc"}))]
    engine.insert("quarantine", ibis.memtable(pd.DataFrame(q)[list(QUARANTINE.names)])
                  .cast(QUARANTINE))
    _insert(engine, "load_issues", [
        dict(load_id="L2", source="shop_customers", entity="customer", file_name="s.csv",
             source_line=7, column_name="phone", raw_value="0611", reason="bad phone '0611'",
             noted_at=T0)])
    audit.record(settings.root, "alice", "view_customer", "P1")
    audit.record(settings.root, "bob", "search", "", {"q": "zoe.q@example.fr"})
    audit.record(settings.root, "bob", "view_customer", "P2")
    audit.record(settings.root, "carol", "search", "", {"q": "Quintarel"})
    audit.record(settings.root, "carol", "search", "", {"q": "Durand"})
    return engine


def test_every_layer_loses_the_person_and_keeps_the_others(warehouse, settings):
    engine = warehouse
    result = erasure.erase(engine, settings, source_id="shop:S1", actor="cli:test")
    assert result.compacted == (engine.name == "duckdb")
    assert result.compacted or "not available" in result.notes[0]
    assert (result.records, result.parties) == (2, 1)
    t = lambda name: engine.to_pandas(engine.table(name))  # noqa: E731
    assert set(t("core_customer_versions").source_customer_id) == {"C2"}
    assert set(t("dim_customer").source_customer_id) == {"C2"}
    assert t("party_map").party_id.tolist() == ["P2"]
    ph = t("party_history")
    assert set(ph.party_id) == {"P1", "P2"} and ph.other_party_id.isna().all()
    assert ph[ph.party_id == "P1"].event.tolist() == ["erased"]
    assert ph[ph.party_id == "P1"].source.isna().all()
    for name in ("dim_party", "customer_360", "score_history", "target_lists", "my_view",
                 "mart_card"):
        assert set(t(name).party_id) == {"P2"}, name
    if engine.name == "duckdb":  # the card's point-lookup index is made again
        assert engine.execute_sql("SELECT count(*) FROM duckdb_indexes() "
                                  "WHERE table_name = 'mart_card'")[0][0] == 1
    sales = t("fact_sales")
    assert len(sales) == 2 and sales.revenue.astype(float).sum() == 30  # anonymised, kept
    assert sales.source_customer_id.isna().sum() == 1
    surveys = t("fact_surveys")
    assert len(surveys) == 1 and surveys.comment.isna().all() \
        and surveys.source_customer_id.isna().all()
    q = t("quarantine").sort_values("source_line")
    assert len(q) == 2
    assert pd.isna(q.raw_record.iloc[0]) and q.reason.iloc[0] == erasure.ERASED
    assert "Durand" in q.raw_record.iloc[1]
    li = t("load_issues")
    assert li.raw_value.isna().all() and (li.reason == erasure.ERASED).all()
    ev = {(e["actor"], e["action"]): e for e in audit.events(settings.root)}
    assert ev[("alice", "view_customer")]["subject"] == "erased"
    assert ev[("bob", "search")]["detail"] == {}
    assert ev[("bob", "view_customer")]["subject"] == "P2"
    searches = {e["detail"].get("q") for e in audit.events(settings.root, actor="carol")}
    assert searches == {None, "Durand"}
    erase_ev = ev[("cli:test", "erase")]
    assert "zoe" not in json.dumps(erase_ev).lower() and "S1" not in json.dumps(erase_ev)
    # what comes back later is held back
    salt = suppression.salt(engine)
    listed = set(t("suppression_list").digest)
    for kind, value in [("email", "zoe.q@example.fr"), ("email", "zoe.old@example.fr"),
                        ("phone", "+33611223344"), ("source_id", "crm\x1fC1")]:
        assert suppression.digest(salt, kind, value) in listed
    if engine.name == "duckdb":
        copies = sorted((settings.root / ".published").glob("*.duckdb"))
        assert len(copies) == 1  # the state after the erasure; the one before is deleted
        data = b"".join(f.read_bytes() for f in [settings.warehouse_path, *copies]).lower()
        for secret in (b"quintarel", b"zoe.q@example.fr", b"+33611223344", b"zoe.old"):
            assert secret not in data
        assert b"durand" in data


def test_erase_by_party_and_by_email_find_the_same_person(warehouse):
    a = erasure.find_person(warehouse, party="P1")
    b = erasure.find_person(warehouse, email=" Zoe.Old@Example.FR ")
    assert a.source_ids == b.source_ids == {"crm:C1", "shop:S1"}
    assert a.party_ids == b.party_ids == {"P1"}
