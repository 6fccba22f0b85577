"""A seeded generator of hostile export files (issue #9, item 7), and what a load must do
with them.

Every file is a small sales export whose lines carry a unique marker in their order id
(``o00042x``), then damaged the way real exports are: encodings (UTF-16 with or without a
BOM and tab-separated, cp1252, a BOM), line ends (CR, CRLF, mixed), NUL bytes, stray quotes,
CRs inside quoted values, 1 MB fields, byte flips, formulas, NaN / inf / 1e308 quantities,
dates outside any plausible window, ragged lines, empty lines, duplicated header names,
gzip with trailing bytes or cut short. :func:`check` then verifies, from the file's own
bytes, that every line is accounted for and that every row names the right physical line.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

HEADER = ["order_id", "customer", "date", "sku", "qty", "price"]
COLUMNS = {"order_id": "order_id", "source_customer_id": "customer", "ordered_at": "date",
           "sku": "sku", "quantity": "qty", "unit_price": "price"}
MARKER = re.compile(r"o\d{5}x")
KINDS = ["encoding", "line_ends", "nul", "stray_quote", "cr_in_quotes", "big_field", "flip",
         "formula", "non_finite", "odd_date", "ragged", "empty_lines", "dup_header", "gzip",
         "accents"]


@dataclass
class Hostile:
    name: str
    data: bytes
    encoding: str  #: how to decode the file to find its physical lines
    gzipped: bool = False
    kinds: list[str] = field(default_factory=list)
    #: markers on lines no damage touched: each must be loaded or quarantined
    intact: set[str] = field(default_factory=set)


def generate(seed: int, n_lines: int | None = None) -> Hostile:
    rnd = random.Random(seed)
    n = n_lines or rnd.randint(3, 30)
    kinds = rnd.sample(KINDS, rnd.randint(1, 3))
    sep = ";" if rnd.random() < 0.5 else ","
    header = list(HEADER)
    rows = []
    for i in range(n):
        marker = f"o{(seed * 100 + i) % 100000:05d}x"
        rows.append([marker, f"c{rnd.randint(1, 50)}", f"2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}",
                     f"A{rnd.randint(1, 9)}", str(rnd.randint(1, 5)), f"{rnd.randint(1, 99)}.50"])
    touched: set[int] = set()
    if "accents" in kinds:
        rows[0][1] = "Hélène Müller"
    if "dup_header" in kinds:
        header.append("qty")
        for r in rows:
            r.append("9")
    if "formula" in kinds:
        k = rnd.randrange(n)
        rows[k][3] = "=HYPERLINK(\"http://x\",\"A1\")" if sep == ";" else "=1+2"
    if "non_finite" in kinds:
        k = rnd.randrange(n)
        rows[k][4] = rnd.choice(["NaN", "inf", "-inf", "1e308", "Infinity"])
        touched.add(k)
    if "odd_date" in kinds:
        k = rnd.randrange(n)
        rows[k][2] = rnd.choice(["9999-12-31", "1800-01-01", "0001-01-01"])
        touched.add(k)
    if "big_field" in kinds:
        k = rnd.randrange(n)
        rows[k][3] = "B" * rnd.choice([1_000_000, 200_000])
    cells = [[_quote(c, sep) for c in r] for r in rows]
    if "stray_quote" in kinds:
        k = rnd.randrange(n)
        cells[k][1] = cells[k][1][:1] + '"' + cells[k][1][1:]
        touched.update(range(k, n))  # an open quote may swallow the rest of the file
    if "cr_in_quotes" in kinds:
        k = rnd.randrange(n)
        cells[k][3] = '"' + rows[k][3][:1] + "\r" + rows[k][3][1:] + '"'
    if "nul" in kinds:
        k = rnd.randrange(n)
        col = rnd.choice([0, 1, 3])
        cells[k][col] = cells[k][col][:2] + "\x00" + cells[k][col][2:]
        if col == 0:
            touched.add(k)  # the marker itself is cut by the NUL
    if "ragged" in kinds:
        k = rnd.randrange(n)
        cells[k] = cells[k][:-1] if rnd.random() < 0.5 else [*cells[k], "extra"]
    lines = [sep.join(header)] + [sep.join(c) for c in cells]
    if "empty_lines" in kinds:
        for _ in range(rnd.randint(1, 3)):
            lines.insert(rnd.randint(1, len(lines)), "")
    ends = "\n"
    if "line_ends" in kinds:
        ends = rnd.choice(["\r\n", "\r", "mixed"])
    if ends == "mixed":
        text = "".join(line + rnd.choice(["\r\n", "\r"]) for line in lines)
    else:
        text = ends.join(lines) + ends
    encoding = "utf-8"
    if "encoding" in kinds:
        encoding = rnd.choice(["utf-8-sig", "cp1252", "utf-16-le-bom", "utf-16-le", "utf-16-be-bom"])
        if encoding.startswith("utf-16") and rnd.random() < 0.7:
            text = text.replace(sep, "\t")  # Excel's "Unicode text"
    data = _encode(text, encoding)
    if "flip" in kinds:
        pos = rnd.randrange(len(lines[0]) + 2, max(len(lines[0]) + 3, len(data)))
        data = data[:pos] + bytes([data[pos] ^ (1 << rnd.randrange(8))]) + data[pos + 1:]
        touched.update(range(n))  # a flipped byte may land anywhere, a marker included
    gz = False
    if "gzip" in kinds:
        gz = True
        packed = gzip.compress(data)
        if rnd.random() < 0.5:
            data = packed + b"trailing bytes"
        else:
            data = packed[: max(20, len(packed) - rnd.randint(9, 40))]
            touched.add(n - 1)
            touched.update(range(n))  # where the stream is cut is known only by decompressing
    intact = {rows[i][0] for i in range(n) if i not in touched}
    name = f"h{seed:05d}.csv" + (".gz" if gz else "")
    dec = {"utf-16-le-bom": "utf-16", "utf-16-be-bom": "utf-16", "utf-8-sig": "utf-8-sig"}
    return Hostile(name, data, dec.get(encoding, encoding), gz, kinds, intact)


def _quote(value: str, sep: str) -> str:
    if sep in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return "\ufeff".encode("utf-16-be") + text.encode("utf-16-be")
    return text.encode(encoding, errors="replace")


def physical_lines(h: Hostile, path: Path) -> list[str]:
    """The file's lines as an editor shows them: split at CRLF, CR or LF."""
    data = path.read_bytes()
    if h.gzipped:
        import zlib

        d = zlib.decompressobj(wbits=31)
        try:
            data = d.decompress(data)
        except zlib.error:
            data = b""
    text = data.decode(h.encoding, errors="replace")
    return re.split(r"\r\n|\r|\n", text)


def check(h: Hostile, path: Path, result, facts, quarantine) -> list[str]:
    """What is wrong with the load of one hostile file (empty: all is right)."""
    problems = []
    r = result
    if r.rows_read != r.rows_loaded + r.rows_quarantined:
        problems.append(f"rows_read {r.rows_read} != {r.rows_loaded} + {r.rows_quarantined}")
    if r.status == "failed" and path.name not in r.message:
        problems.append(f"failed without naming the file: {r.message!r}")
    for internal in ("transaction is aborted", "universal-newline", "Traceback"):
        if internal in r.message:
            problems.append(f"internal text in the message: {r.message!r}")
    lines = physical_lines(h, path)
    where: dict[str, list[int]] = {}
    for i, line in enumerate(lines, start=1):
        for m in MARKER.findall(line):
            where.setdefault(m, []).append(i)
    mine_f = facts[facts.load_id == r.load_id]
    mine_q = quarantine[quarantine.load_id == r.load_id]
    for oid, line in zip(mine_f.order_id, mine_f.source_line, strict=True):
        if "\x00" in str(oid):
            problems.append(f"a NUL stored in the key {oid!r}")
        markers = MARKER.findall(str(oid))
        if markers and line not in where.get(markers[0], []):
            problems.append(f"{oid} loaded with line {line}, on line(s) {where.get(markers[0])}")
    seen_q = " ".join(f"{a} {b}" for a, b in zip(mine_q.raw_record.fillna(""),
                                                 mine_q.raw_value.fillna(""), strict=True))
    for rec, line in zip(mine_q.raw_record.fillna(""), mine_q.source_line, strict=True):
        try:
            text = " ".join(str(v) for v in json.loads(rec).values()) if rec else ""
        except (ValueError, AttributeError):
            text = rec
        markers = MARKER.findall(text)
        span = text.count("\n") + text.count("\r")
        if markers:
            on = where.get(markers[0], [])
            if on and not any(line <= x <= line + span for x in on):
                problems.append(f"{markers[0]} quarantined with line {line}, on line(s) {on}")
    loaded = set(MARKER.findall(" ".join(map(str, mine_f.order_id))))
    for m in sorted(h.intact):
        if m not in loaded and m not in seen_q:
            problems.append(f"{m} (line {where.get(m)}) neither loaded nor quarantined")
    return problems
