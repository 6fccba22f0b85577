"""Loads: batches, quarantine, the read = loaded + quarantined invariant, idempotence, atomicity
(a failure and a killed process) and two loads at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

from prisme import engine as engine_mod
from prisme.config import Settings, SourceSettings, save_settings
from prisme.ingest import ingest
from prisme.ingest.load import load_raw, raw_input_from_frame
from prisme.ingest.raw import Reject

ORDERS = dict(order_id="Order", ordered_at="Date", sku="SKU", quantity="Qty",
              unit_price="Price", source_customer_id="Cust")


def shop_source(**extra) -> SourceSettings:
    base = dict(
        entity="transaction", path="orders_*.csv", columns=dict(ORDERS),
        derive={"revenue": "quantity * unit_price", "is_return": "order_id startswith 'C'"},
        constants={"source": "shop"}, date_format="%d/%m/%Y", decimal=",", separator=";",
    )
    base.update(extra)
    return SourceSettings(**base)


def orders(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Order", "Date", "SKU", "Qty", "Price", "Cust"])


GOOD = orders([
    ["1001", "01/02/2024", "A1", "2", "2,50", "17"],
    ["1001", "01/02/2024", "B2", "1", "10", "17"],
    ["C1002", "03/02/2024", "A1", "-1", "2,50", "17"],
    ["1003", "04/02/2024 14:30", "A1", "3", "2,50", ""],  # anonymous: kept
])


def load_frame(engine, settings, frame, name="shop", **kw):
    return load_raw(engine, settings, name, raw_input_from_frame(engine, name, frame, **kw))


def counts(engine) -> tuple[int, int]:
    return (engine.scalar(engine.table("fact_sales").count()),
            engine.scalar(engine.table("quarantine").count()))


@pytest.fixture
def shop(settings):
    settings.sources["shop"] = shop_source()
    return settings


def test_a_good_file_is_one_batch_with_typed_rows(engine, shop):
    r = load_frame(engine, shop, GOOD)
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 4, 4, 0)
    sales = engine.to_pandas(engine.table("fact_sales").order_by("source_line"))
    assert list(sales.source_line) == [2, 3, 4, 5]
    assert list(sales.revenue) == [Decimal("5.0000"), Decimal("10.0000"), Decimal("-2.5000"),
                                   Decimal("7.5000")]
    assert list(sales.is_return) == [False, False, True, False]
    assert set(sales.source) == {"shop"}
    assert sales.source_customer_id.isna().sum() == 1  # the anonymous line is kept
    assert str(sales.ordered_at[3]) == "2024-02-04 14:30:00"
    assert set(sales.load_id) == {r.load_id}
    batch = engine.to_pandas(engine.table("load_batches")).iloc[0]
    assert (batch.rows_read, batch.rows_loaded, batch.rows_quarantined) == (4, 4, 0)
    assert batch.status == "loaded" and batch.finished_at >= batch.started_at


def test_rejected_rows_are_quarantined_with_reasons_a_person_understands(engine, shop):
    bad = orders([
        ["2001", "31/02/2011", "A1", "1", "1", "5"],
        ["2002", "01/03/2011", "A1", "deux", "1", "5"],
        ["2003", "01/03/2011", "", "1", "1", "5"],
        ["2004", "01/03/2011", "A1", "1", "1", "5"],
    ])
    r = load_frame(engine, shop, bad, file_name="orders_03.csv")
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (4, 1, 3)
    q = engine.to_pandas(engine.table("quarantine").order_by("source_line"))
    assert list(q.source_line) == [2, 3, 4]
    assert list(q.column_name) == ["ordered_at", "quantity", "sku"]
    assert q.reason[0] == (
        "column ordered_at (Date): '31/02/2011' is not a date in the format %d/%m/%Y"
    )
    assert "'deux' is not a number" in q.reason[1] and "decimal comma" in q.reason[1]
    assert q.reason[2] == "column sku (SKU) is required but blank"
    assert json.loads(q.raw_record[1])["Qty"] == "deux"
    assert set(q.file_name) == {"orders_03.csv"} and set(q.load_id) == {r.load_id}


def test_reader_rejects_are_quarantined_and_counted(engine, shop):
    ragged = Reject(line=3, reason="orders.csv, line 3: 7 fields where 6 were expected",
                    raw="1;2;3;4;5;6;7")
    r = load_frame(engine, shop, GOOD.iloc[:2], rejects=[ragged])
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 2, 1)
    q = engine.to_pandas(engine.table("quarantine"))
    assert q.source_line.tolist() == [3] and "7 fields" in q.reason[0]
    lines = engine.to_pandas(engine.table("fact_sales")).source_line.sort_values().tolist()
    assert lines == [2, 4]  # line numbers skip the rejected line


def test_reloading_an_unchanged_file_is_a_no_op_that_says_so(engine, shop):
    first = load_frame(engine, shop, GOOD)
    before = counts(engine)
    again = load_frame(engine, shop, GOOD)
    assert again.status == "unchanged" and first.load_id in again.message
    assert counts(engine) == before
    other = load_frame(engine, shop, GOOD.iloc[:1])  # a different content loads
    assert other.status == "loaded" and counts(engine)[0] == before[0] + 1


def test_a_header_that_does_not_match_fails_the_batch_and_keeps_the_previous_state(
    engine, shop
):
    load_frame(engine, shop, GOOD)
    before = counts(engine)
    wrong = GOOD.rename(columns={"Qty": "Quantité"})
    r = load_frame(engine, shop, wrong, file_name="orders_04.csv")
    assert r.status == "failed" and r.rows_loaded == 0
    assert "orders_04.csv" in r.message and "'Qty' (mapped to quantity)" in r.message
    assert "'Quantité'" in r.message  # the columns it has
    # no fact arrived; every line of the failed file is accounted for in the quarantine
    assert counts(engine) == (before[0], before[1] + len(wrong))
    assert r.rows_read == r.rows_loaded + r.rows_quarantined == len(wrong)
    q = engine.to_pandas(engine.table("quarantine"))
    assert q[q.load_id == r.load_id].reason.str.contains("orders_04.csv").all()
    batches = engine.to_pandas(engine.table("load_batches").order_by("started_at"))
    assert list(batches.status) == ["loaded", "failed"]


def test_a_failure_inside_the_load_rolls_everything_back(engine, shop, monkeypatch):
    load_frame(engine, shop, GOOD)
    before = counts(engine)
    from prisme.ingest import load as load_mod

    def broken(*args, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(load_mod, "_quarantine_rejects", broken)
    r = load_frame(engine, shop, GOOD.iloc[:2])
    assert r.status == "failed" and "disk full" in r.message
    assert counts(engine) == before


CUSTOMERS = SourceSettings(
    entity="customer", path="c.csv", constants={"source": "crm"},
    columns={"source_customer_id": "id", "email": "mail", "phone": "tel",
             "postal_code": "cp", "birth_date": "born"},
    date_format="%d/%m/%Y",
)


def customers(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "mail", "tel", "cp", "born"])


def test_a_bad_phone_keeps_the_customer_and_a_failed_load_keeps_no_issue(engine, settings,
                                                                          monkeypatch):
    settings.sources["crm"] = CUSTOMERS
    settings.project.default_country = "FR"
    frame = customers([["1", "a@b.fr", "06 12", "75001", "01/02/1980"],
                       ["2", "N/A", "0612345678", "N/A", "31/02/1980"]])
    from prisme.ingest import load as load_mod

    def broken(*args, **kw):
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(load_mod, "_quarantine_rejects", broken)
        r = load_frame(engine, settings, frame, name="crm")
    assert r.status == "failed"
    for table in ("load_issues", "quarantine", "dim_customer"):
        assert engine.scalar(engine.table(table).count()) == 0, table
    r = load_frame(engine, settings, frame, name="crm")
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == (
        "loaded", 2, 1, 1), r.message
    assert r.rows_with_issues == 1 and "1 values of 1 loaded lines loaded as empty" in r.message
    dim = engine.to_pandas(engine.table("dim_customer"))
    assert dim.source_customer_id.tolist() == ["1"] and pd.isna(dim.phone[0])
    assert dim.email[0] == "a@b.fr" and dim.postal_code[0] == "75001"
    issue = engine.to_pandas(engine.table("load_issues")).iloc[0]
    assert (issue.load_id, issue.source, issue.file_name, issue.source_line) == (
        r.load_id, "crm", "<dataframe>", 2)
    assert (issue.column_name, issue.raw_value) == ("phone", "06 12")
    assert issue.reason == ("column phone (tel): '06 12' is not a valid phone number for FR "
                            "(nor an international number starting with +); loaded as empty")
    # the row with a bad date is quarantined for the date; its placeholders are not noted
    q = engine.to_pandas(engine.table("quarantine")).iloc[0]
    assert (q.source_line, q.column_name) == (3, "birth_date")


CONTACT = st.sampled_from(["a@b.fr", "N/A", "noemail@x.fr", "x@", "06 12 34 56 78", "12",
                           "0000000000", "+44 20 7946 0958", "75001", "", None])
BORN = st.sampled_from(["01/02/1980", "", "31/02/1980", None])


@pytest.mark.slow
@hsettings(max_examples=12, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(CONTACT, CONTACT, CONTACT, BORN), max_size=15))
def test_property_bad_contacts_are_loaded_empty_and_every_line_is_accounted_once(rows):
    s = Settings()
    s.project.default_country = "FR"
    s.sources["crm"] = CUSTOMERS
    frame = customers([[str(i), *r] for i, r in enumerate(rows)])
    with engine_mod.connect(s, path=":memory:") as eng:
        r = load_frame(eng, s, frame, name="crm")
        assert r.status == "loaded"
        assert r.rows_read == len(frame) == r.rows_loaded + r.rows_quarantined
        dim = eng.to_pandas(eng.table("dim_customer"))
        q = eng.to_pandas(eng.table("quarantine"))
        issues = eng.to_pandas(eng.table("load_issues"))
        assert len(dim) == r.rows_loaded  # one key per line here: one version per loaded line
        assert set(q.column_name) <= {"birth_date"}  # contact values never reject a row
        assert set(dim.source_line).isdisjoint(q.source_line)
        assert set(dim.source_line) | set(q.source_line) == set(range(2, len(frame) + 2))
        assert set(issues.source_line) <= set(dim.source_line)
        assert r.rows_with_issues == issues.source_line.nunique()
        by_line = dim.set_index("source_line")
        for i in issues.itertuples():
            assert pd.isna(by_line.loc[i.source_line, i.column_name])
            assert i.raw_value.strip() and i.reason.endswith("; loaded as empty")


def test_the_invariant_is_checked_and_a_violation_rolls_back(engine, shop):
    raw = raw_input_from_frame(engine, "shop", GOOD)
    raw.rows_read += 1  # a reader that lost a line
    r = load_raw(engine, shop, "shop", raw)
    assert r.status == "failed" and "rows read 5" in r.message
    assert counts(engine) == (0, 0)


def test_money_in_another_currency_is_converted_or_quarantined(engine, settings):
    settings.project.currency = "EUR"
    settings.project.exchange_rates = {"GBP": 1.2}
    cols = dict(ORDERS, currency="Cur")
    settings.sources["shop"] = shop_source(columns=cols)
    frame = orders([
        ["1", "01/02/2024", "A", "2", "10", "1"],
        ["2", "01/02/2024", "A", "1", "10", "1"],
        ["3", "01/02/2024", "A", "1", "10", "1"],
    ]).assign(Cur=["eur", "GBP", "JPY"])
    r = load_frame(engine, settings, frame)
    assert (r.rows_loaded, r.rows_quarantined) == (2, 1)
    sales = engine.to_pandas(engine.table("fact_sales").order_by("source_line"))
    assert list(sales.revenue) == [Decimal("20.0000"), Decimal("12.0000")]
    assert set(sales.currency) == {"EUR"}
    reason = engine.to_pandas(engine.table("quarantine")).reason[0]
    assert "'JPY'" in reason and "exchange rate to EUR" in reason


def test_a_source_currency_without_a_column_is_converted(engine, settings):
    settings.project.exchange_rates = {"GBP": 1.5}
    settings.sources["uk"] = shop_source(currency="GBP")
    load_frame(engine, settings, GOOD.iloc[:1], name="uk")
    sales = engine.to_pandas(engine.table("fact_sales"))
    assert sales.revenue[0] == Decimal("7.5000") and sales.currency[0] == "EUR"


MESSY = st.sampled_from(["1", "2,5", "-3", "1.234,5", " 7 ", "", "abc", "1e", "0,001", None])
DATES = st.sampled_from(["01/02/2024", "29/02/2023", "2024-02-01", "", "31/12/1999 23:59",
                         "13/13/2013", None])
TEXT = st.sampled_from(["A1", "", " B2 ", "ÉTÉ", "x;y", '"q"', None])


@st.composite
def messy_orders(draw):
    n = draw(st.integers(min_value=0, max_value=30))
    rows = [[draw(TEXT), draw(DATES), draw(TEXT), draw(MESSY), draw(MESSY), draw(TEXT)]
            for _ in range(n)]
    return orders(rows)


@pytest.mark.slow
@hsettings(max_examples=15, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=messy_orders())
def test_property_rows_read_equal_loaded_plus_quarantined_and_reload_changes_nothing(frame):
    s = Settings()
    s.sources["shop"] = shop_source()
    with engine_mod.connect(s, path=":memory:") as eng:
        r = load_frame(eng, s, frame)
        assert r.status == "loaded"
        assert r.rows_read == len(frame) == r.rows_loaded + r.rows_quarantined
        facts, quarantined = counts(eng)
        assert (facts, quarantined) == (r.rows_loaded, r.rows_quarantined)
        q = eng.to_pandas(eng.table("quarantine"))
        assert q.reason.notna().all() and q.column_name.notna().all()
        lines = set(q.source_line) | set(eng.to_pandas(eng.table("fact_sales")).source_line)
        assert lines == set(range(2, len(frame) + 2))  # every line accounted for, once
        again = load_frame(eng, s, frame)
        assert again.status == "unchanged" and counts(eng) == (facts, quarantined)


# ----------------------------------------------------------- files, processes
def write_project(root: Path, files: dict[str, pd.DataFrame], lock_timeout_s=30.0) -> Settings:
    s = Settings()
    s.root = root
    s.engine.memory_limit = "1GB"
    s.engine.lock_timeout_s = lock_timeout_s
    s.sources["shop"] = shop_source()
    for name, frame in files.items():
        frame.to_csv(root / name, sep=";", index=False)
    save_settings(s, root)
    return s


def big_orders(n: int, offset: int = 0) -> pd.DataFrame:
    i = pd.RangeIndex(offset, offset + n)
    return pd.DataFrame({
        "Order": (i // 3).astype(str), "Date": "05/03/2024", "SKU": "S" + (i % 97).astype(str),
        "Qty": (i % 5 + 1).astype(str), "Price": "1,25", "Cust": (i % 1000).astype(str),
    })


def test_ingest_loads_every_file_of_a_source(tmp_path):
    s = write_project(tmp_path, {"orders_1.csv": GOOD, "orders_2.csv": GOOD.iloc[:2]})
    (tmp_path / "orders_3.csv").write_bytes(b"")  # an export with nothing in it
    seen = []
    results = ingest(s, progress=lambda *a: seen.append(a))
    assert [r.status for r in results] == ["loaded", "loaded", "loaded"]
    assert [r.rows_loaded for r in results] == [4, 2, 0]
    assert "empty" in results[2].message
    assert seen[-1][2:] == (2, 2)
    again = ingest(s, ["shop"])
    assert [r.status for r in again] == ["unchanged"] * 3
    with pytest.raises(ValueError, match="unknown source"):
        ingest(s, ["nope"])


_CHILD = textwrap.dedent("""
    import sys, time
    from prisme.config import load_settings
    from prisme.ingest import ingest

    def progress(source, file_name, done, total):
        if 0 < done < total or (done == total and "orders_2" in file_name and done > 0):
            print("INSIDE", file_name, done, flush=True)
            time.sleep(float(sys.argv[2]))

    results = ingest(load_settings(sys.argv[1]), progress=progress)
    print("DONE", [(r.status, r.message) for r in results], flush=True)
""")


def _start_child(project: Path, hold_s: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(project), str(hold_s)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_inside(child: subprocess.Popen, file_part: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("INSIDE") and file_part in line:
            return line
        if not line and child.poll() is not None:
            raise AssertionError(f"child ended early: {child.stderr.read()}")
    raise AssertionError("child never reached the load")


def test_a_load_killed_part_way_leaves_the_previous_state(tmp_path):
    s = write_project(tmp_path, {"orders_1.csv": GOOD})
    ingest(s)
    (tmp_path / "orders_2.csv").write_text(
        big_orders(20_000).to_csv(sep=";", index=False), encoding="utf-8"
    )
    child = _start_child(tmp_path, hold_s=60)
    try:
        _wait_for_inside(child, "orders_2")  # core rows written, transaction still open
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    with engine_mod.connect(s) as eng:
        assert counts(eng) == (4, 0)
        journal = eng.to_pandas(eng.table("load_batches"))
        assert journal.status.tolist().count("loaded") == 1
        assert not journal.file_name.str.endswith("orders_2.csv").any()
    results = ingest(s)  # the interrupted file loads on the next run
    assert [r.status for r in results] == ["unchanged", "loaded"]
    assert results[1].rows_loaded == 20_000


def test_a_second_load_waits_then_is_refused_with_a_clear_message(tmp_path):
    s = write_project(tmp_path, {"orders_1.csv": GOOD.iloc[:1]}, lock_timeout_s=1.0)
    (tmp_path / "orders_2.csv").write_text(
        big_orders(100).to_csv(sep=";", index=False), encoding="utf-8"
    )
    first = _start_child(tmp_path, hold_s=4)
    try:
        _wait_for_inside(first, "orders_2")
        t0 = time.monotonic()
        from prisme.engine import EngineBusy

        with pytest.raises(EngineBusy, match="refused") as info:
            ingest(s)
        assert time.monotonic() - t0 >= 1.0  # it waited lock_timeout_s first
        assert "lock_timeout_s" in str(info.value)
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert "DONE" in out and "failed" not in out, err
    with engine_mod.connect(s) as eng:
        assert counts(eng) == (101, 0)
