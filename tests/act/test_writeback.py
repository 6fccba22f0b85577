"""Write-back against the real PostgreSQL and MariaDB of the machine (marked ``db``)."""

from __future__ import annotations

import uuid

import ibis
import pandas as pd
import pytest
from act_tables import customers, write_c360

from prisme.access import audit
from prisme.act import writeback as wb

URLS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}


def _fetch(dialect: str, table: str) -> pd.DataFrame:
    if dialect == "postgresql":
        import psycopg

        with psycopg.connect(URLS[dialect]) as con, con.cursor() as cur:
            cur.execute(f"SELECT * FROM {table} ORDER BY source, source_customer_id")
            names = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)
    import pymysql

    con = pymysql.connect(host="127.0.0.1", user="root", database="test")
    try:
        with con.cursor() as cur:
            cur.execute(f"SELECT * FROM {table} ORDER BY source, source_customer_id")
            names = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)
    finally:
        con.close()


def _drop(dialect: str, table: str) -> None:
    if dialect == "postgresql":
        import psycopg

        schema = table.split(".")[0]
        with psycopg.connect(URLS[dialect], autocommit=True) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        return
    import pymysql

    con = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
    try:
        con.cursor().execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        con.close()


@pytest.fixture(params=list(URLS))
def target(request):
    dialect = request.param
    name = f"prisme_wb_{uuid.uuid4().hex[:8]}"
    if dialect == "postgresql":
        import psycopg

        with psycopg.connect(URLS[dialect], autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {name}")
        table = f"{name}.scores"
    else:
        table = name
    yield dialect, table
    _drop(dialect, table)


def _warehouse(engine, n=120):
    df = customers(n)
    write_c360(engine, df)
    pm = pd.DataFrame({
        "source": ["crm"] * n + ["shop"] * (n // 2),
        "source_customer_id": [f"C{i}" for i in range(n)] + [f"S{i}" for i in range(n // 2)],
        "party_id": list(df.party_id) + list(df.party_id[: n // 2]),
        "match_probability": 1.0,
    })
    engine.create_table("party_map", ibis.memtable(pm), overwrite=True)
    return df, pm


@pytest.mark.db
def test_writeback_twice_gives_the_same_table_and_changes_nothing(engine, settings, target):
    dialect, table = target
    df, pm = _warehouse(engine)
    first = wb.run(engine, settings.root, URLS[dialect], table, actor="cli:test")
    assert (first.rows, first.inserted, first.updated, first.deleted) == (len(pm), len(pm), 0, 0)
    one = _fetch(dialect, table)
    second = wb.run(engine, settings.root, URLS[dialect], table, actor="cli:test")
    assert (second.inserted, second.updated, second.deleted) == (0, 0, 0)
    pd.testing.assert_frame_equal(one, _fetch(dialect, table))
    # the content: one row per source customer id, with its party's scores
    assert len(one) == len(pm) and not one.duplicated(["source", "source_customer_id"]).any()
    row = one[(one.source == "shop") & (one.source_customer_id == "S3")].iloc[0]
    src = df[df.party_id == row.party_id].iloc[0]
    assert row.segment == src.rfm_segment
    assert float(row.clv_12m) == pytest.approx(src.clv_12m)
    assert float(row.clv_12m_low) <= float(row.clv_12m) <= float(row.clv_12m_high)
    assert float(row.churn_probability) == pytest.approx(src.churn_probability)
    assert row.churn_reasons == src.churn_reasons and row.next_best_offers == "SKU1; SKU2"
    assert str(row.as_of) == "2026-11-30"
    ev = audit.events(settings.root, action="writeback")
    assert len(ev) == 2 and ev[0]["detail"]["rows"] == len(pm)
    assert "password" not in str(ev)


@pytest.mark.db
def test_writeback_updates_changed_rows_and_deletes_erased_ones(engine, settings, target):
    dialect, table = target
    df, pm = _warehouse(engine)
    wb.writeback(engine, URLS[dialect], table)
    df.loc[df.party_id == "P00000005", "clv_12m"] = 999.0
    write_c360(engine, df)
    engine.create_table("party_map", ibis.memtable(pm[pm.source_customer_id != "C9"]),
                        overwrite=True)
    r = wb.writeback(engine, URLS[dialect], table)
    # P00000005 has two records (crm C4, shop S4): both rows updated; C9 erased
    assert (r.inserted, r.updated, r.deleted) == (0, 2, 1)
    out = _fetch(dialect, table)
    assert "C9" not in set(out.source_customer_id)
    assert set(out.clv_12m[out.party_id == "P00000005"].astype(float)) == {999.0}


@pytest.mark.db
def test_a_failed_writeback_changes_nothing(engine, settings, target, monkeypatch):
    dialect, table = target
    _warehouse(engine)
    wb.writeback(engine, URLS[dialect], table)
    before = _fetch(dialect, table)
    rows = wb.writeback_rows(engine)
    rows.loc[3, "source_customer_id"] = None  # NOT NULL: the upsert fails midway
    monkeypatch.setattr(wb, "writeback_rows", lambda *a, **k: rows)
    with pytest.raises(wb.WritebackError, match="nothing was changed"):
        wb.writeback(engine, URLS[dialect], table)
    pd.testing.assert_frame_equal(before, _fetch(dialect, table))


def test_bad_table_names_and_urls_are_refused(engine):
    with pytest.raises(wb.WritebackError, match="a table name is letters"):
        wb.writeback(engine, URLS["mysql"], "scores; drop table x")
    _warehouse(engine, 10)
    with pytest.raises(wb.WritebackError, match="unsupported url"):
        wb.writeback(engine, "sqlite:///x.db", "scores")
    assert wb.safe_url("postgresql://u:secret@h:5432/db") == "postgresql://u@h:5432/db"


@pytest.mark.db
def test_a_writeback_of_one_source_leaves_the_others_alone(engine, settings, target):
    dialect, table = target
    _, pm = _warehouse(engine)
    wb.writeback(engine, URLS[dialect], table)
    r = wb.writeback(engine, URLS[dialect], table, sources=["crm"])
    assert (r.rows, r.inserted, r.updated, r.deleted) == ((pm.source == "crm").sum(), 0, 0, 0)
    assert len(_fetch(dialect, table)) == len(pm)


def test_the_churn_reasons_are_written_in_words_of_the_chosen_language(engine):
    """The warehouse stores reasons as codes and figures; the CRM gets sentences."""
    df, _ = _warehouse(engine, n=4)
    df["churn_reasons"] = ('[{"code":"no_purchase","days":213,"usual_days":42},'
                           '{"code":"complaints","n":2}]')
    write_c360(engine, df)
    en = wb.writeback_rows(engine).churn_reasons.iloc[0]
    fr = wb.writeback_rows(engine, lang="fr").churn_reasons.iloc[0]
    assert en == "no purchase for 7 months, usually every 6 weeks; 2 complaints in the last " \
                 "12 months"
    assert fr == ("aucun achat depuis 7 mois, d'habitude un achat toutes les 6 semaines ; "
                  "2 réclamations au cours des 12 derniers mois")
