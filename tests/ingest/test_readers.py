"""Readers on every messy form of DESIGN §2, each written by the test into tmp_path."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from prisme.config import SourceSettings
from prisme.ingest.raw import LINE, RawInput
from prisme.ingest.readers import (
    BlankLines,
    SourceError,
    open_source,
    read_csv_python,
    transcode,
)
from prisme.ingest.sniff import FormatGuess

FRENCH = (
    "N° client;Prénom;Nom;Ville;Solde;Date de création\n"
    "C001;Zoé;Lefèvre;Besançon;1 234,50;02/01/2024\n"
    "C002;François;Dupont-Aïnès;Orléans;;15/03/2023\n"
    "C003;Œdipe;Müller;Nîmes;-12,00;31/12/2022\n"
)


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    data = text if isinstance(text, bytes) else text.encode(encoding)
    path.write_bytes(data)
    return path


def read_one(engine, tmp_path: Path, name: str, **options) -> RawInput:
    source = SourceSettings(entity="customer", path=name, **options)
    inputs = list(open_source(engine, "crm", source, tmp_path))
    assert len(inputs) == 1
    return inputs[0]


def rows(engine, raw: RawInput) -> list[dict]:
    df = engine.to_pandas(raw.table.order_by(LINE))
    return df.astype(object).where(df.notna(), None).to_dict("records")


def assert_french_rows(engine, raw: RawInput) -> None:
    got = rows(engine, raw)
    assert [r["N° client"] for r in got] == ["C001", "C002", "C003"]
    assert [r["Prénom"] for r in got] == ["Zoé", "François", "Œdipe"]
    assert got[0]["Ville"] == "Besançon" and got[2]["Ville"] == "Nîmes"
    assert got[0]["Solde"] == "1 234,50"
    assert got[1]["Solde"] in (None, "")  # a blank numeric stays blank, not 0
    assert [r[LINE] for r in got] == [2, 3, 4]
    assert raw.rows_read == 3 and raw.rejects == []
    assert all(isinstance(v, str) for r in got for k, v in r.items() if k != LINE and v)


# ------------------------------------------------------------------ separators & marks
def test_semicolon_decimal_comma_dd_mm_yyyy_utf8(engine, tmp_path):
    write(tmp_path / "clients.csv", FRENCH)
    raw = read_one(engine, tmp_path, "clients.csv")
    assert_french_rows(engine, raw)
    assert raw.fmt["separator"] == ";"
    assert raw.fmt["decimal"] == ","
    assert raw.fmt["date_format"] == "%d/%m/%Y"
    assert raw.fmt["encoding"] == "utf-8"


@pytest.mark.parametrize("sep", [",", "\t", "|"])
def test_comma_tab_and_pipe_separators(engine, tmp_path, sep):
    text = sep.join(["id", "name", "amount"]) + "\n" + sep.join(["1", "Ann", "3.5"]) + "\n" \
        + sep.join(["2", "Bob", "4"]) + "\n"
    write(tmp_path / "x.csv", text)
    raw = read_one(engine, tmp_path, "x.csv")
    assert raw.fmt["separator"] == sep
    assert [(r["id"], r["name"], r["amount"]) for r in rows(engine, raw)] == [
        ("1", "Ann", "3.5"), ("2", "Bob", "4")]


def test_separator_given_in_settings_wins(engine, tmp_path):
    write(tmp_path / "x.txt", "a|b\n1,5|2\n")
    raw = read_one(engine, tmp_path, "x.txt", separator="|", decimal=",", encoding="utf-8",
                   date_format="%Y-%m-%d")
    assert rows(engine, raw)[0]["a"] == "1,5"
    assert raw.fmt["separator"] == "|" and raw.fmt["date_format"] == "%Y-%m-%d"


# -------------------------------------------------------------------------- encodings
@pytest.mark.parametrize("declared", [None, "latin-1", "ISO-8859-1"])
def test_latin1_file(engine, tmp_path, declared):
    write(tmp_path / "clients.csv", FRENCH.replace("Œdipe", "Odile"), "latin-1")
    raw = read_one(engine, tmp_path, "clients.csv", encoding=declared)
    # undeclared, a latin-1 file reads as cp1252, which has the same accented letters
    assert raw.fmt["encoding"] == (declared or "cp1252").lower()
    got = rows(engine, raw)
    assert [r["Prénom"] for r in got] == ["Zoé", "François", "Odile"]
    assert got[2]["Ville"] == "Nîmes"


def test_cp1252_file_with_euro_and_oe(engine, tmp_path):
    text = FRENCH.replace("Date de création", "Date de création (€)")
    write(tmp_path / "clients.csv", text, "cp1252")
    raw = read_one(engine, tmp_path, "clients.csv")
    assert raw.fmt["encoding"] == "cp1252"
    assert_french_rows(engine, raw)
    assert "Date de création (€)" in raw.table.columns


def test_utf8_with_bom(engine, tmp_path):
    write(tmp_path / "clients.csv", "\ufeff" + FRENCH)
    raw = read_one(engine, tmp_path, "clients.csv")
    assert raw.table.columns[0] == "N° client"  # the BOM is not part of the first name
    assert_french_rows(engine, raw)


def test_gzip_utf8_and_gzip_cp1252(engine, tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(FRENCH.encode("utf-8")))
    raw = read_one(engine, tmp_path, "a.csv.gz")
    assert_french_rows(engine, raw)
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(FRENCH.encode("cp1252")))
    raw = read_one(engine, tmp_path, "b.csv.gz")
    assert raw.fmt["encoding"] == "cp1252"
    assert_french_rows(engine, raw)
    assert raw.sha256 == hashlib.sha256((tmp_path / "b.csv.gz").read_bytes()).hexdigest()


def test_wrong_encoding_declared_utf8_rejects_the_bad_lines_only(engine, tmp_path):
    data = FRENCH.encode("utf-8").replace("Nîmes".encode(), "Nîmes".encode("latin-1"))
    write(tmp_path / "clients.csv", data)
    raw = read_one(engine, tmp_path, "clients.csv", encoding="utf-8")
    assert raw.rows_read == 3
    assert [r.line for r in raw.rejects] == [4]
    reason = raw.rejects[0].reason
    assert "clients.csv" in reason and "line 4" in reason and "utf-8" in reason
    assert "encoding" in reason
    assert [r[LINE] for r in rows(engine, raw)] == [2, 3]


def test_wrong_encoding_byte_undefined_in_cp1252(engine, tmp_path):
    data = FRENCH.encode("cp1252").replace(b"Nom", b"N\x81m", 0)
    data = data.replace("Müller".encode("cp1252"), b"M\x81ller")
    write(tmp_path / "clients.csv", data)
    raw = read_one(engine, tmp_path, "clients.csv", encoding="cp1252")
    assert [r.line for r in raw.rejects] == [4]
    assert "cp1252" in raw.rejects[0].reason and "line 4" in raw.rejects[0].reason
    assert raw.rows_read == 3 and len(rows(engine, raw)) == 2


def test_transcode_streams_in_chunks(tmp_path, monkeypatch):
    import prisme.ingest.readers as readers

    monkeypatch.setattr(readers, "CHUNK", 7)  # multi-byte characters cut by chunk edges
    src = write(tmp_path / "in.csv", ("é€ü;" * 50 + "\n") * 3, "cp1252")
    transcode(src, tmp_path / "out.csv", "cp1252", gzipped=False)
    assert (tmp_path / "out.csv").read_text("utf-8") == ("é€ü;" * 50 + "\n") * 3


# ---------------------------------------------------------------- quotes and raggedness
def test_quoted_fields_with_separators_and_newlines(engine, tmp_path):
    text = ('id;comment;amount\n1;"Livré; en retard";10,5\n2;"ligne un\nligne deux";3\n'
            '3;"il a dit ""non""";4\n')
    write(tmp_path / "q.csv", text)
    raw = read_one(engine, tmp_path, "q.csv")
    got = rows(engine, raw)
    assert [r["comment"] for r in got] == ["Livré; en retard", "ligne un\nligne deux",
                                           'il a dit "non"']
    assert raw.rejects == []


def test_ragged_lines_are_rejected_with_line_and_reason(engine, tmp_path):
    text = "id;name;amount\n1;Ann;3\n2;Bob\n3;Cid;4;extra\n4;Dan;5\n"
    write(tmp_path / "r.csv", text)
    raw = read_one(engine, tmp_path, "r.csv")
    assert raw.rows_read == 4
    assert [(r.line, r.raw) for r in raw.rejects] == [(3, "2;Bob"), (4, "3;Cid;4;extra")]
    assert "2 fields where 3 were expected" in raw.rejects[0].reason
    assert "r.csv, line 3" in raw.rejects[0].reason
    assert "4 fields where 3 were expected" in raw.rejects[1].reason
    got = rows(engine, raw)
    assert [(r["id"], r[LINE]) for r in got] == [("1", 2), ("4", 5)]


def test_unclosed_quote_rejects_the_joined_lines_together(engine, tmp_path):
    write(tmp_path / "u.csv", 'id;name;x\n1;"abc;2\n2;ok;3\n3;ok;4\n')
    raw = read_one(engine, tmp_path, "u.csv")
    assert [r.line for r in raw.rejects] == [2]
    assert "unclosed quote" in raw.rejects[0].reason and "lines 2 to 4" in \
        raw.rejects[0].reason
    assert raw.rejects[0].raw == '1;"abc;2\n2;ok;3\n3;ok;4'  # nothing lost: all in raw
    assert raw.rows_read == 1


def test_duplicate_lines_are_all_delivered(engine, tmp_path):
    write(tmp_path / "d.csv", "id;x\n1;a\n1;a\n1;a\n")
    raw = read_one(engine, tmp_path, "d.csv")
    assert raw.rows_read == 3 and [r[LINE] for r in rows(engine, raw)] == [2, 3, 4]


def test_preamble_lines_skipped(engine, tmp_path):
    write(tmp_path / "p.csv", "Export CRM du 01/02/2024\n\nid;nom\n1;Zoé\n2;Léa\n")
    raw = read_one(engine, tmp_path, "p.csv", skip_rows=2)
    got = rows(engine, raw)
    assert [(r["id"], r["nom"], r[LINE]) for r in got] == [("1", "Zoé", 4), ("2", "Léa", 5)]


def test_empty_and_header_only_files(engine, tmp_path):
    write(tmp_path / "empty.csv", "")
    raw = read_one(engine, tmp_path, "empty.csv")
    assert raw.rows_read == 0 and engine.scalar(raw.table.count()) == 0
    write(tmp_path / "header.csv", "id;nom\n")
    raw = read_one(engine, tmp_path, "header.csv")
    assert raw.rows_read == 0 and raw.table.columns == ("id", "nom", LINE)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["ok", "ok", "short", "long", "blank"]), min_size=1,
                max_size=60), st.sampled_from(["utf-8", "cp1252"]))
def test_line_numbers_survive_any_pattern_of_rejects(engine, tmp_path, kinds, encoding):
    """Every accepted row carries its own line number, whatever rejected or empty lines come
    before it; rows_read = accepted + rejected (empty lines are not rows)."""
    lines = ["line;a;b"]
    for i, kind in enumerate(kinds, start=2):
        lines.append({"ok": f"{i};é;y", "short": f"{i};x", "long": f"{i};x;y;z",
                      "blank": ""}[kind])
    write(tmp_path / "h.csv", "\n".join(lines) + "\n", encoding)
    raw = read_one(engine, tmp_path, "h.csv", separator=";", encoding=encoding, decimal=".",
                   date_format="%Y-%m-%d")
    got = rows(engine, raw)
    assert [int(r["line"]) for r in got] == [r[LINE] for r in got]
    assert [r[LINE] for r in got] == [i for i, k in enumerate(kinds, start=2) if k == "ok"]
    assert sorted(r.line for r in raw.rejects) == [
        i for i, k in enumerate(kinds, start=2) if k in ("short", "long")]
    assert raw.rows_read == len([k for k in kinds if k != "blank"]) == len(got) + len(
        raw.rejects)
    # the slow fallback reader agrees with the fast one, row for row and reject for reject
    fmt = FormatGuess(separator=";", encoding="utf-8")
    if encoding == "utf-8":
        n, found = read_csv_python(engine, tmp_path / "h.csv", "raw_fallback", fmt, 0,
                                   gzipped=False)
        slow = engine.to_pandas(engine.table("raw_fallback").order_by(LINE))
        assert n == len(got) and slow[LINE].tolist() == [r[LINE] for r in got]
        assert slow["a"].tolist() == [r["a"] for r in got]
        assert [r.line for r in found] == sorted(r.line for r in raw.rejects)


def feed_in_chunks(finder: BlankLines, data: bytes, cuts: list[int]) -> BlankLines:
    """Feed ``data`` to the line finder cut into chunks of the given sizes (then the rest)."""
    pos = 0
    for n in cuts * 4:
        if pos >= len(data):
            break
        finder.feed(data[pos:pos + n])
        pos += n
    finder.feed(data[pos:])
    return finder


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"", b"\r", b"a", b"ab\r", b"x;y", b"\r\r"]), max_size=15),
       st.booleans(), st.lists(st.integers(1, 6), min_size=40, max_size=40))
def test_blank_line_finder_whatever_the_chunks(lines, final_newline, cuts):
    """Empty lines ('' or a lone '\\r') are found at their line numbers, however the bytes
    are cut into chunks."""
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    expected = [i + 1 for i, text in enumerate(data.split(b"\n")[:-1]) if text in (b"", b"\r")]
    finder = feed_in_chunks(BlankLines(), data, cuts)
    assert finder.found == expected


def test_quoted_values_spanning_lines_keep_physical_line_numbers(engine, tmp_path):
    """A record whose quoted value spans lines starts where an editor shows it, and so do the
    rows and rejected lines after it (DuckDB counts such a record as one line)."""
    text = ('a;b;c\n'            # 1
            '1;x;2\n'            # 2
            '2;"multi\n'         # 3
            'line\n'             # 4
            'three";3\n'         # 5
            '3;z\n'              # 6: ragged
            '4;w;5\n'            # 7
            '\n'                 # 8: empty
            '5;"q\n'             # 9: a quoted value over two lines, ragged
            '";6;7\n'            # 10
            '6;"a\n'             # 11: an empty line inside a quoted value
            '\n'                 # 12
            'b";7\n'             # 13
            '7;v;8\n')           # 14
    write(tmp_path / "m.csv", text)
    raw = read_one(engine, tmp_path, "m.csv", separator=";", encoding="utf-8", decimal=".",
                   date_format="%Y-%m-%d")
    got = rows(engine, raw)
    assert [(r["a"], r[LINE]) for r in got] == [("1", 2), ("2", 3), ("4", 7), ("6", 11),
                                                ("7", 14)]
    assert got[1]["b"] == "multi\nline\nthree" and got[3]["b"] == "a\n\nb"
    assert [(r.line, r.raw) for r in raw.rejects] == [(6, "3;z"), (9, '5;"q\n";6;7')]
    assert "m.csv, line 9" in raw.rejects[1].reason
    assert "spans lines 9 to 10" in raw.rejects[1].reason
    assert raw.rows_read == 7


def test_quoted_values_spanning_lines_in_gzip_and_cp1252(engine, tmp_path):
    """The same numbering through the gzip reader and through the re-encoding pass."""
    text = 'id;note\n1;"é\nè"\n\n2;ok\n3\n4;fin\n'
    (tmp_path / "g.csv.gz").write_bytes(gzip.compress(text.encode("utf-8")))
    write(tmp_path / "w.csv", text, "cp1252")
    for name, encoding in (("g.csv.gz", "utf-8"), ("w.csv", "cp1252")):
        raw = read_one(engine, tmp_path, name, separator=";", encoding=encoding,
                       decimal=".", date_format="%Y-%m-%d")
        assert [(r["id"], r[LINE]) for r in rows(engine, raw)] == [("1", 2), ("2", 5),
                                                                   ("4", 7)], name
        assert [r.line for r in raw.rejects] == [6], name


def test_a_stray_quote_falls_back_to_record_numbers(engine, tmp_path):
    """An unbalanced quote makes the byte scan unreliable: its breaks are not used, and
    every line is still accounted for (rows + rejects = data lines)."""
    write(tmp_path / "s.csv", 'id;x\n1;a\n2;5" ecran\n3;b\n')
    raw = read_one(engine, tmp_path, "s.csv", separator=";", encoding="utf-8", decimal=".",
                   date_format="%Y-%m-%d")
    got = rows(engine, raw)
    assert raw.rows_read == len(got) + len(raw.rejects) >= 1
    assert all(r[LINE] == int(r["id"]) + 1 for r in got)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(['a;b', '"x\ny";z', '"";q', '"p""\n\nq";r', '', 'e;"f"']),
                max_size=12),
       st.lists(st.integers(1, 9), min_size=30, max_size=30))
def test_line_breaks_inside_quotes_whatever_the_chunks(records, cuts):
    """The scan finds the lines whose break is inside a quoted value, and the number of
    records, as Python's csv module reads them, however the bytes are cut into chunks."""
    import csv
    import io

    data = ("h;h\n" + "".join(r + "\n" for r in records)).encode()
    reader = csv.reader(io.StringIO(data.decode(), newline=""), delimiter=";")
    expected_breaks, count, end = [], 0, 0
    for rec in reader:
        start = end + 1
        end = reader.line_num
        expected_breaks += list(range(start, end))
        count += 1 if rec else 0
    layout = feed_in_chunks(BlankLines('"'), data, cuts).layout()
    assert list(layout.breaks) == expected_breaks
    assert layout.records == count


def test_crlf_file_windows_export(engine, tmp_path):
    write(tmp_path / "w.csv", FRENCH.replace("\n", "\r\n"), "cp1252")
    raw = read_one(engine, tmp_path, "w.csv")
    assert_french_rows(engine, raw)
    assert rows(engine, raw)[0]["Date de création"] == "02/01/2024"  # no stray \r


def test_mixed_line_endings_and_empty_lines_keep_line_numbers(engine, tmp_path):
    write(tmp_path / "b.csv", "id;x\n1;a\n\n\r\n4;b\n5\n6;c\n\n")
    raw = read_one(engine, tmp_path, "b.csv")
    assert [(r["id"], r[LINE]) for r in rows(engine, raw)] == [("1", 2), ("4", 5), ("6", 7)]
    assert [r.line for r in raw.rejects] == [6]
    assert raw.rows_read == 4


def test_large_file_line_numbers_in_file_order(engine, tmp_path):
    """200k lines, read in parallel: __line still follows the file (rowid = insertion order)."""
    with open(tmp_path / "big.csv", "w") as fh:
        fh.write("n;v\n")
        for i in range(2, 200_002):
            fh.write(f"{i};{i % 7}\n" if i % 50_000 else f"{i}\n")  # 4 ragged lines
    raw = read_one(engine, tmp_path, "big.csv")
    assert raw.rows_read == 200_000 and len(raw.rejects) == 4
    t = raw.table
    bad = engine.scalar((t.n.cast("int64") != t[LINE]).sum())
    assert bad == 0
    assert [r.line for r in raw.rejects] == [50_000, 100_000, 150_000, 200_000]


# ------------------------------------------------------------------------ globs
def test_glob_gives_one_input_per_file_sorted(engine, tmp_path):
    (tmp_path / "in").mkdir()
    write(tmp_path / "in" / "b_2024.csv", "id\n3\n")
    write(tmp_path / "in" / "a_2023.csv", "id\n1\n2\n")
    source = SourceSettings(entity="customer", path="in/*.csv")
    inputs = list(open_source(engine, "crm", source, tmp_path))
    assert [Path(r.file_name).name for r in inputs] == ["a_2023.csv", "b_2024.csv"]
    assert [r.rows_read for r in inputs] == [2, 1]
    assert rows(engine, inputs[0])[0]["id"] == "1"  # the first input still readable


def test_no_matching_file_names_the_pattern(engine, tmp_path):
    source = SourceSettings(entity="customer", path="exports/*.csv")
    with pytest.raises(SourceError, match=r"exports/\*\.csv"):
        list(open_source(engine, "crm", source, tmp_path))


# ------------------------------------------------------------------- Online Retail
def test_online_retail_every_line_accounted(engine, shared_data):
    path = shared_data / "online_retail" / "Online_Retail.csv.gz"
    source = SourceSettings(entity="transaction", path=str(path))
    raw = next(open_source(engine, "online_retail", source, Path(".")))
    assert raw.rows_read == 541_909
    assert engine.scalar(raw.table.count()) + len(raw.rejects) == 541_909
    t = raw.table
    assert engine.scalar(t.CustomerID.isnull().sum()) == 135_080
    assert engine.scalar(t.InvoiceNo.nunique()) == 25_900
    assert raw.fmt["separator"] == "," and raw.fmt["decimal"] == "."


# ------------------------------------------------------------------------- Excel
def test_xlsx_sheet_rows_dates_numbers_and_blank_rows(engine, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Clients"
    ws.append(["Liste des clients"])  # a title row
    ws.append(["N° client", "Nom", "Solde", "Date de naissance", "Créé le"])
    ws.append(["C1", "Zoé", 12.5, date(1980, 4, 2), datetime(2024, 1, 2, 8, 30)])
    ws.append([None, None, None, None, None])  # an empty row in the middle
    ws.append([1002, "Léa", 3.0, None, datetime(2024, 2, 3, 9, 0)])
    wb.save(tmp_path / "clients.xlsx")
    raw = read_one(engine, tmp_path, "clients.xlsx", skip_rows=1, sheet="Clients")
    got = rows(engine, raw)
    assert [r[LINE] for r in got] == [3, 5]  # sheet row numbers
    assert got[0]["Solde"] == "12.5" and got[1]["Solde"] == "3"
    assert got[1]["N° client"] == "1002"
    assert got[0]["Date de naissance"] in ("1980-04-02", "1980-04-02 00:00:00")
    assert got[0]["Créé le"] == "2024-01-02 08:30:00"
    assert raw.rows_read == 2
    assert raw.fmt["decimal"] == "."
    assert raw.fmt["date_formats"]["Créé le"] == "%Y-%m-%d %H:%M:%S"


def test_xlsx_unknown_sheet_is_named(engine, tmp_path):
    wb = Workbook()
    wb.active.append(["a"])
    wb.save(tmp_path / "x.xlsx")
    with pytest.raises(SourceError, match="no sheet 'Ventes'"):
        read_one(engine, tmp_path, "x.xlsx", sheet="Ventes")


# ----------------------------------------------------------------------- Parquet
def test_parquet_types_become_text(engine, tmp_path):
    table = pa.table({
        "order_id": pa.array(["A1", "A2", None]),
        "qty": pa.array([1, -2, 3], type=pa.int64()),
        "price": pa.array([Decimal("2.55"), Decimal("10.00"), None], type=pa.decimal128(10, 2)),
        "ratio": pa.array([0.5, 1.0, None]),
        "at": pa.array([datetime(2010, 12, 1, 8, 26), datetime(2011, 1, 2), None],
                       type=pa.timestamp("us")),
        "day": pa.array([date(2020, 1, 31), None, date(2021, 2, 1)]),
    })
    pq.write_table(table, tmp_path / "sales.parquet", row_group_size=2)
    raw = read_one(engine, tmp_path, "sales.parquet")
    got = rows(engine, raw)
    assert [r[LINE] for r in got] == [1, 2, 3]
    assert [r["qty"] for r in got] == ["1", "-2", "3"]
    assert [r["price"] for r in got] == ["2.55", "10.00", None]
    assert [r["ratio"] for r in got] == ["0.5", "1", None]
    assert got[0]["at"] == "2010-12-01 08:26:00" and got[2]["at"] is None
    assert got[0]["day"] == "2020-01-31"
    assert raw.rows_read == 3 and raw.rejects == []


# -------------------------------------------------------------------- JSON lines
def test_jsonl_with_a_broken_line(engine, tmp_path):
    lines = [
        json.dumps({"session_id": "s1", "clicks": 3, "device": "mobile"}),
        "{not json",
        "",
        json.dumps({"session_id": "s2", "clicks": None, "tags": ["a", "b"], "ok": True}),
        json.dumps([1, 2]),
    ]
    write(tmp_path / "web.jsonl", "\n".join(lines) + "\n")
    raw = read_one(engine, tmp_path, "web.jsonl")
    got = rows(engine, raw)
    assert [(r["session_id"], r[LINE]) for r in got] == [("s1", 1), ("s2", 4)]
    assert got[0]["clicks"] == "3" and got[1]["clicks"] is None
    assert got[1]["tags"] == '["a", "b"]' and got[1]["ok"] == "true"
    assert got[0]["tags"] is None  # a key missing on a line is NULL
    assert [r.line for r in raw.rejects] == [2, 5]
    assert "web.jsonl, line 2" in raw.rejects[0].reason and "not valid JSON" in \
        raw.rejects[0].reason
    assert raw.rows_read == 4
