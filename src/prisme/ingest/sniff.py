"""Guess how a delimited text file is written, from a sample of it.

Real exports come with no description: a CRM gives ``;`` separators, decimal commas and
``dd/mm/yyyy`` dates in Latin-1; a web shop gives ``,``, points and ISO dates in UTF-8 with a
BOM. :func:`sniff` looks at the first lines and returns a :class:`FormatGuess` that
``prisme init`` writes into ``prisme.toml`` for the user to confirm, and that readers use for
whatever the configuration leaves out.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

#: bytes read to decide the encoding (cheap: a UTF-8 check runs at memory speed)
ENCODING_PROBE = 16 * 1024 * 1024
#: bytes of text used to guess separator, decimal mark and dates
SAMPLE = 256 * 1024
MAX_SAMPLE_ROWS = 500
SEPARATORS = [";", ",", "\t", "|"]

#: date formats tried on date-looking columns; ambiguous day/month pairs are settled by values > 12
DATE_FORMATS = [
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y%m%d",
]
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?\s*$")
_COMPACT_DATE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
_NUMBER = re.compile(r"^\s*[-+]?[\d\s\u00a0\u202f.,']*\d\s*$")
_COMMA_DECIMAL = re.compile(r"^[-+]?(\d{1,3}([.\s\u00a0\u202f']\d{3})+|\d+),\d+$")
_POINT_DECIMAL = re.compile(r"^[-+]?(\d{1,3}([,\s\u00a0\u202f']\d{3})+|\d+)\.\d+$")
_GROUPED = {
    ".": re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$"),
    ",": re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$"),
    " ": re.compile(r"^[-+]?\d{1,3}([\s\u00a0\u202f]\d{3})+([.,]\d+)?$"),
    "'": re.compile(r"^[-+]?\d{1,3}('\d{3})+([.,]\d+)?$"),
}


@dataclass
class FormatGuess:
    """How a file is written; every field is what prisme.toml calls it."""

    encoding: str = "utf-8"
    separator: str = ","
    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = None
    header: bool = True
    quote: str = '"'
    compression: str | None = None  #: "gzip" or None
    #: the date format of each date-looking column (a file may mix dates and timestamps)
    date_formats: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    #: a few rows as dicts (column → text) for the mapping proposal
    sample: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fmt(self) -> dict:
        """The format as the ``fmt`` dict of a RawInput."""
        return {
            "separator": self.separator,
            "encoding": self.encoding,
            "decimal": self.decimal,
            "thousands": self.thousands,
            "date_format": self.date_format,
            "date_formats": dict(self.date_formats),
            "quote": self.quote,
            "header": self.header,
        }


def read_head(path: Path, size: int) -> tuple[bytes, str | None]:
    """The first ``size`` bytes of a file, decompressed when it is gzip."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        with gzip.open(path, "rb") as fh:
            return fh.read(size), "gzip"
    with open(path, "rb") as fh:
        return fh.read(size), None


def detect_encoding(head: bytes, *, complete: bool = True) -> str:
    """BOM, else UTF-8 if the bytes decode, else cp1252 (Windows) or latin-1. With
    ``complete=False`` (a probe cut from a longer file) a character cut at the end is fine."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    try:
        # the probe may cut a multi-byte character at its end: decode incrementally
        import codecs

        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Windows exports are cp1252: the same as latin-1 for accented letters, plus € ' " … œ
    # in 0x80-0x9F (control characters in latin-1, which no export means). A file whose
    # probe shows none of them may still have a '€' further down, so cp1252 is the safer
    # guess; only bytes undefined in cp1252 make it latin-1.
    if any(b in head for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")):
        return "latin-1"
    return "cp1252"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark (what Excel's "Unicode text" sometimes is): mostly
    ASCII text, so every other byte is NUL — the odd ones (little-endian) or the even ones."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.7 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.7 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode_sample(head: bytes, encoding: str) -> str:
    if encoding.startswith("utf-16") and len(head) % 2:
        head = head[:-1]
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    # every line end as LF (old Mac CR, CRLF): the sample is for guessing, not for reading
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # drop the last, probably cut, line
    cut = text.rfind("\n")
    return text[: cut + 1] if 0 < cut < len(text) - 1 else text


def guess_separator(text: str) -> str:
    """The separator that splits the sample lines into the most consistent field counts."""
    best, best_score = ",", (-1.0, 0)
    for sep in SEPARATORS:
        rows = _parse(text, sep)[:MAX_SAMPLE_ROWS]
        if not rows:
            continue
        counts = Counter(len(r) for r in rows)
        width, freq = counts.most_common(1)[0]
        if width < 2:
            continue
        score = (freq / len(rows), width)
        if score > best_score:
            best, best_score = sep, score
    return best


def _parse(text: str, sep: str, quote: str = '"') -> list[list[str]]:
    """The first :data:`MAX_SAMPLE_ROWS` + 1 records of the sample."""
    reader = csv.reader(io.StringIO(text), delimiter=sep, quotechar=quote)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
                if len(rows) > MAX_SAMPLE_ROWS:
                    break
    except csv.Error:
        pass
    return rows


def guess_header(rows: list[list[str]]) -> bool:
    """A first row of distinct non-numeric labels over rows with numbers is a header."""
    if len(rows) < 2:
        return True
    first = rows[0]
    if any(_NUMBER.match(v) or _DATE_LIKE.match(v) for v in first if v.strip()):
        return False
    return len(set(first)) == len(first)


def guess_decimal(values: list[str], separator: str = ",") -> tuple[str, str | None]:
    """Decimal mark and thousands separator from numeric-looking values. Without evidence
    (no decimals in the sample) a ';'-separated file gets the comma: that is why it uses ';'."""
    comma = point = 0
    groups: Counter = Counter()
    for v in values:
        v = v.strip()
        if not v or not _NUMBER.match(v):
            continue
        if _COMMA_DECIMAL.match(v):
            comma += 1
        elif _POINT_DECIMAL.match(v):
            point += 1
        for mark, pattern in _GROUPED.items():
            if pattern.match(v):
                groups[mark] += 1
    decimal = "," if comma > point or (comma == point == 0 and separator == ";") else "."
    thousands = None
    for mark, _ in groups.most_common():
        if mark != decimal:
            thousands = "\u00a0" if mark == " " and _has_nbsp(values) else mark
            break
    return decimal, thousands


def _has_nbsp(values: list[str]) -> bool:
    return any("\u00a0" in v for v in values)


def guess_date_format(values: list[str], prefer_day_first: bool = True) -> str | None:
    """The format that parses every date-looking value; day/month settled by values over 12."""
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        return None
    if not all(_DATE_LIKE.match(v) for v in values):
        if all(_COMPACT_DATE.match(v) for v in values):
            return "%Y%m%d"
        return None
    fits = [f for f in DATE_FORMATS if f != "%Y%m%d" and all(_parses(v, f) for v in values)]
    if not fits:
        return None
    if len(fits) > 1:
        # only ambiguous between day-first and month-first: keep the preferred order
        day_first = [f for f in fits if f.startswith("%d")]
        month_first = [f for f in fits if f.startswith("%m")]
        if day_first and month_first:
            return (day_first if prefer_day_first else month_first)[0]
    return fits[0]


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def column_values(rows: list[list[str]], width: int) -> list[list[str]]:
    return [[r[i] for r in rows if len(r) == width] for i in range(width)]


def sniff(path: str | Path, *, skip_rows: int = 0) -> FormatGuess:
    """Guess encoding, separator, decimal mark, thousands mark, date format, header, quote and
    compression of a delimited text file from its first lines (after ``skip_rows`` lines of
    preamble, e.g. a report title)."""
    path = Path(path)
    head, compression = read_head(path, ENCODING_PROBE)
    guess = FormatGuess(compression=compression)
    guess.encoding = detect_encoding(head, complete=len(head) < ENCODING_PROBE)
    text = decode_sample(head[:SAMPLE] if len(head) > SAMPLE else head, guess.encoding)
    if skip_rows:
        text = "".join(text.splitlines(keepends=True)[skip_rows:])
    if not text.strip():
        guess.notes.append(f"{path.name} is empty")
        return guess
    guess.separator = guess_separator(text)
    rows = _parse(text, guess.separator)[: MAX_SAMPLE_ROWS + 1]
    if not rows:
        guess.notes.append(f"{path.name}: no line could be split into columns")
        return guess
    guess.header = guess_header(rows)
    width = Counter(len(r) for r in rows).most_common(1)[0][0]
    names = rows[0] if guess.header else [f"column{i}" for i in range(len(rows[0]))]
    body = rows[1:] if guess.header else rows
    cols = column_values(body, width)
    guess.columns = [n.strip() for n in names]
    guess.sample = [dict(zip(guess.columns, r, strict=False)) for r in body[:50]]
    numeric = [v for c in cols for v in c if not _DATE_LIKE.match(v)]
    guess.decimal, guess.thousands = guess_decimal(numeric, guess.separator)
    prefer_day_first = not (guess.separator == "," and guess.decimal == ".")
    for name, values in zip(guess.columns, cols, strict=False):
        fmt = guess_date_format(values, prefer_day_first)
        if fmt:
            guess.date_formats[name] = fmt
    if guess.date_formats:
        # the format of most date columns; a datetime format covers date-only columns less well
        guess.date_format = Counter(guess.date_formats.values()).most_common(1)[0][0]
    guess.notes.extend(_notes(path, guess))
    return guess


def _notes(path: Path, g: FormatGuess) -> list[str]:
    sep = {"\t": "tab", ";": "';'", ",": "','", "|": "'|'"}[g.separator]
    notes = [
        f"{path.name}: {g.encoding}{' (gzip)' if g.compression else ''}, separator {sep}, "
        f"decimal mark '{g.decimal}'"
        + (f", thousands mark {g.thousands!r}" if g.thousands else "")
        + (f", dates {g.date_format}" if g.date_format else "")
    ]
    ambiguous = [c for c, f in g.date_formats.items() if f.startswith(("%d/", "%m/"))]
    if ambiguous:
        notes.append(
            "check the day/month order of " + ", ".join(ambiguous)
            + " (settled from values over 12 in the sample when there are some)"
        )
    return notes
