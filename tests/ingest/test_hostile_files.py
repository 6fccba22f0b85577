"""Hostile files through ``prisme ingest`` (issue #9, item 7): a seeded generator
(:mod:`tests.ingest.hostile`) — ``PRISME_HOSTILE_FILES`` files (200 by default; more with
the variable) in one glob — and checks from each file's own bytes: no crash, every line
accounted for, the right line number on every loaded and quarantined row, rows_read = loaded
+ quarantined on every batch, and nothing of a failed load in the warehouse."""

from __future__ import annotations

import os
import re

import pytest
from hostile import COLUMNS, MARKER, check, generate
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from prisme.config import SourceSettings
from prisme.ingest import ingest

N_FILES = int(os.environ.get("PRISME_HOSTILE_FILES", "200"))
SEED = int(os.environ.get("PRISME_HOSTILE_SEED", "9"))


def _source(path="hostile/*"):
    return SourceSettings(entity="transaction", path=path, columns=dict(COLUMNS),
                          date_format="%Y-%m-%d", derive={"revenue": "quantity * unit_price"},
                          constants={"source": "shop"})


def test_hostile_files_are_read_or_quarantined_line_by_line(settings, engine):
    folder = settings.root / "hostile"
    folder.mkdir()
    files = {}
    for i in range(N_FILES):
        h = generate(SEED * 100_000 + i)
        (folder / h.name).write_bytes(h.data)
        files[h.name] = h
    settings.sources["shop"] = _source()
    results = ingest(settings, engine=engine)  # never raises
    assert len(results) == N_FILES
    facts = engine.to_pandas(engine.table("fact_sales"))
    quarantine = engine.to_pandas(engine.table("quarantine"))
    problems = {}
    for r in results:
        name = r.file_name.rsplit("/", 1)[-1]
        found = check(files[name], folder / name, r, facts, quarantine)
        if found:
            problems[f"{name} {files[name].kinds}"] = found[:3]
    assert not problems, problems
    # nothing of a failed load reached the facts; every loaded row belongs to a counted load
    failed = {r.load_id for r in results if r.status == "failed"}
    assert not set(facts.load_id) & failed
    assert len(facts) == sum(r.rows_loaded for r in results if r.status == "loaded")
    assert sum(r.status == "loaded" for r in results) > 0.8 * N_FILES


@pytest.mark.parametrize("kind", ["cr", "mixed"])
def test_cr_and_mixed_line_ends_lose_no_row(settings, engine, kind):
    lines = ["order_id;customer;date;sku;qty;price"] + [
        f"o{i:05d}x;c{i};2024-02-0{1 + i % 9};A;1;2.5" for i in range(86)]
    if kind == "cr":
        text = "\r".join(lines) + "\r"
    else:
        text = "".join(line + ("\r\n" if i % 3 else "\r") for i, line in enumerate(lines))
    (settings.root / "orders.csv").write_bytes(text.encode())
    settings.sources["shop"] = _source("orders.csv")
    (r,) = ingest(settings, engine=engine)
    assert (r.status, r.rows_read, r.rows_loaded) == ("loaded", 86, 86)
    facts = engine.to_pandas(engine.table("fact_sales").order_by("source_line"))
    assert facts.source_line.tolist() == list(range(2, 88))


def test_one_unreadable_file_does_not_stop_the_others_of_its_glob(settings, engine):
    folder = settings.root / "orders"
    folder.mkdir()
    good = "order_id;customer;date;sku;qty;price\no1;c1;2024-02-01;A;1;2.5\n"
    (folder / "a_good.csv").write_text(good, encoding="utf-8")
    (folder / "b_bad.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage that is no deflate")
    (folder / "c_good.csv").write_text(good.replace("o1", "o2"), encoding="utf-8")
    settings.sources["shop"] = _source("orders/*")
    results = ingest(settings, engine=engine)
    assert [r.status for r in results] == ["loaded", "failed", "loaded"]
    bad = results[1]
    assert "b_bad.csv.gz" in bad.message and bad.rows_read == 0
    assert "gzip" in bad.message.lower() or "byte" in bad.message.lower()


def test_an_overflowing_derived_amount_is_quarantined_with_line_column_and_value(
        settings, engine):
    text = ("order_id;customer;date;sku;qty;price\n"
            "o1;c1;2024-02-01;A;1e308;2.5\n"
            "o2;c1;2024-02-01;A;2;99999999999999\n"
            "o3;c1;2024-02-01;A;2;2.5\n")
    (settings.root / "orders.csv").write_text(text, encoding="utf-8")
    settings.sources["shop"] = _source("orders.csv")
    (r,) = ingest(settings, engine=engine)
    assert r.status == "loaded", r.message
    assert (r.rows_loaded, r.rows_quarantined) == (1, 2)
    assert "aborted" not in r.message.lower()
    q = engine.to_pandas(engine.table("quarantine").order_by("source_line"))
    assert q.source_line.tolist() == [2, 3]
    assert q.column_name[0] == "quantity" and "'1e308'" in q.reason[0]
    assert q.column_name[1] == "revenue" and "199999999999998" in q.reason[1]
    assert "quantity * unit_price" in q.reason[1]


def test_a_utf8_file_declared_cp1252_is_said(settings, engine):
    text = "order_id;customer;date;sku;qty;price\no1;Hélène;2024-02-01;A;1;2.5\n"
    (settings.root / "orders.csv").write_text(text, encoding="utf-8")
    settings.sources["shop"] = _source("orders.csv")
    settings.sources["shop"].encoding = "cp1252"
    (r,) = ingest(settings, engine=engine)
    assert r.status == "loaded" and "declared 'cp1252'" in r.message and "UTF-8" in r.message


def test_an_impossible_date_quotes_the_configured_format(settings, engine):
    text = "order_id;customer;date;sku;qty;price\no1;c1;31/02/2024;A;1;2.5\n"
    (settings.root / "orders.csv").write_text(text, encoding="utf-8")
    settings.sources["shop"] = _source("orders.csv")
    settings.sources["shop"].date_format = "%d/%m/%Y"
    ingest(settings, engine=engine)
    reason = engine.to_pandas(engine.table("quarantine")).reason[0]
    assert "'31/02/2024'" in reason and "%d/%m/%Y" in reason and "%Y-%m-%d" not in reason


def test_five_thousand_columns_load(settings, engine):
    extra = [f"x{i}" for i in range(4994)]
    header = ";".join(["order_id", "customer", "date", "sku", "qty", "price", *extra])
    row = ";".join(["o1", "c1", "2024-02-01", "A", "1", "2.5", *["v"] * 4994])
    (settings.root / "wide.csv").write_text(header + "\n" + row + "\n", encoding="utf-8")
    settings.sources["shop"] = _source("wide.csv")
    (r,) = ingest(settings, engine=engine)
    assert (r.status, r.rows_loaded) == ("loaded", 1)


@pytest.mark.parametrize("text, lines", [
    ('order_id;customer;note\r\no00000x;c0;"a\nb"\n', [2]),
    ('order_id;customer;note\r\no00000x;c0;"a\nb"\n\no00001x;c1;n\r\n', [2, 5]),
    ('order_id;customer;note\r\no00000x;c0;"a\nb"\no00001x;c1;"x\r\ny\nz"\r\n'
     'o00002x;c2;n\n', [2, 4, 7]),
])
def test_a_quoted_line_break_in_a_file_mixing_crlf_and_lf_is_read_whole(settings, engine,
                                                                         text, lines):
    """The cases the property below found: a CRLF header, LF lines, a quoted value holding
    a line break. DuckDB's reader rejected the record as "a quote inside an unquoted value";
    it is read whole, with the line where it starts, and the lines after keep theirs."""
    from prisme.ingest.readers import read_file

    path = settings.root / "lines.csv"
    path.write_bytes(text.encode())
    source = SourceSettings(entity="transaction", path="lines.csv", separator=";",
                            encoding="utf-8", decimal=".", date_format="%Y-%m-%d")
    raw = read_file(engine, "t", source, path, table="raw_t_0")
    got = engine.to_pandas(raw.table).sort_values("__line")
    assert raw.rows_read == len(lines) and not raw.rejects
    assert got["__line"].tolist() == lines
    assert got.note.iloc[0] == "a\nb"
    engine.drop_raw("raw_t_0")


_END = st.sampled_from(["\n", "\r\n", "\r"])


@given(rows=st.lists(st.tuples(_END, st.booleans(), st.booleans()), min_size=1, max_size=25),
       header_end=_END)
@examples(max_examples=int(os.environ.get("PRISME_LINE_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_row_names_its_physical_line_whatever_the_line_ends(settings, engine, rows,
                                                                  header_end):
    """Property: with any mix of LF, CRLF and CR line ends, empty lines and quoted values
    holding a line break, every row's line is where its marker is in the file."""
    from prisme.ingest.readers import read_file

    text = "order_id;customer;note" + header_end
    for i, (end, blank, quoted_break) in enumerate(rows):
        note = f'"a{end}b"' if quoted_break else "n"
        text += f"o{i:05d}x;c{i};{note}{end}" + (end if blank else "")
    path = settings.root / "lines.csv"
    path.write_bytes(text.encode())
    source = SourceSettings(entity="transaction", path="lines.csv", separator=";",
                            encoding="utf-8", decimal=".", date_format="%Y-%m-%d")
    raw = read_file(engine, "t", source, path, table="raw_t_0")
    got = engine.to_pandas(raw.table)
    physical = re.split(r"\r\n|\r|\n", text)
    where = {m: i for i, line in enumerate(physical, start=1) for m in MARKER.findall(line)}
    assert raw.rows_read == len(rows) and not raw.rejects
    assert {o: where[o] for o in got.order_id} == dict(zip(got.order_id, got["__line"],
                                                          strict=True))
    engine.drop_raw("raw_t_0")


def test_a_header_naming_a_column_twice_is_read_and_said(settings, engine):
    text = "order_id;customer;date;sku;qty;price;qty\no1;c1;2024-02-01;A;1;2.5;9\n"
    (settings.root / "orders.csv").write_text(text, encoding="utf-8")
    settings.sources["shop"] = _source("orders.csv")
    (r,) = ingest(settings, engine=engine)
    assert (r.status, r.rows_loaded) == ("loaded", 1)
    assert "'qty' more than once" in r.message and "'qty_2'" in r.message
    assert engine.to_pandas(engine.table("fact_sales")).quantity.tolist() == [1.0]
