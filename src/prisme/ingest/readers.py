"""Readers: turn a source of ``prisme.toml`` into :class:`RawInput` s, one per file.

A reader knows formats, not the canonical model: it delivers every column as text, named as in
the file, with ``__line`` (where the row is in the file) and the lines it could not split.
CSV goes through the engine's own reader (DuckDB ``read_csv``: parallel and streaming); a file
in an encoding DuckDB does not read (cp1252, latin-1…) is first re-encoded to UTF-8 on disk, in
chunks, never held whole in memory. Excel, Parquet and JSON lines
(:mod:`prisme.ingest.batch_readers`) and database extracts (:mod:`prisme.ingest.databases`)
are streamed into the engine in batches.

``__line`` is the line in the file where the row starts (header = line 1 after any
``skip_rows``), as an editor shows it: empty lines are skipped but counted, and a quoted value
spanning several lines moves the rows after it down by as many lines. DuckDB numbers records,
so a pass over the bytes (beside the read, in a thread, with the sha256) finds the empty lines
and the line breaks inside quotes; when its count of records disagrees with DuckDB's (a stray
quote), a multi-line value counts as one line, as DuckDB counts. A file DuckDB gives up on as
a whole (mixed line endings, a derailed quote) is read again by a forgiving line-by-line reader
whose line numbers are physical. Either way every data row comes out as a row or as a
:class:`Reject` naming the file, the line and what was expected: ``rows_read`` = rows + rejects.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prisme.config import SourceSettings
from prisme.engine import EngineError
from prisme.engine.base import LineLayout, RejectedLine
from prisme.ingest.batch_readers import (  # noqa: F401 - re-exported for callers
    BatchWriter,
    SourceError,
    read_jsonl,
    read_parquet,
    read_xlsx,
    text_value,
    typed_fmt,
    unique_names,
)
from prisme.ingest.raw import LINE, RawInput, Reject
from prisme.ingest.sniff import FormatGuess, sniff

CHUNK = 8 * 1024 * 1024
#: bytes read to find the header line
HEADER_PROBE = 1024 * 1024
#: encodings DuckDB reads itself; anything else is re-encoded to UTF-8 first
_NATIVE = {"utf-8", "utf8", "utf-8-sig"}
_SUFFIX_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}


def open_source(
    engine, name: str, source: SourceSettings, root: Path, *, since_watermark: str | None = None
) -> Iterator[RawInput]:
    """One :class:`RawInput` per file matched by the source's glob (sorted by name), or one for
    a database source (only rows whose watermark is above ``since_watermark``)."""
    if source.url:
        from prisme.ingest.databases import read_database

        yield read_database(engine, name, source, table=raw_table_name(name, 0),
                            since_watermark=since_watermark)
        return
    files = matching_files(name, source, Path(root))
    for n, path in enumerate(files):
        yield read_file(engine, name, source, path, table=raw_table_name(name, n))


def matching_files(name: str, source: SourceSettings, root: Path) -> list[Path]:
    pattern = Path(source.path)
    if pattern.is_absolute():
        base, rel = Path(pattern.anchor), str(pattern.relative_to(pattern.anchor))
    else:
        base, rel = root, str(pattern)
    files = sorted(p for p in base.glob(rel) if p.is_file())
    if not files:
        raise SourceError(f"source {name!r}: no file matches {source.path!r} in {base}")
    return files


def raw_table_name(source: str, n: int) -> str:
    return f"raw_{re.sub(r'[^0-9A-Za-z_]', '_', source)}_{n}"


def file_format(source: SourceSettings, path: Path) -> str:
    if source.format:
        return source.format
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return _SUFFIX_FORMATS.get(suffixes[-1] if suffixes else "", "csv")


def read_file(engine, name: str, source: SourceSettings, path: Path, *, table: str) -> RawInput:
    kind = file_format(source, path)
    reader = {"csv": read_csv, "xlsx": read_xlsx, "parquet": read_parquet, "jsonl": read_jsonl}
    return reader[kind](engine, name, source, path, table=table)


# --------------------------------------------------------------------------- CSV
def csv_format(source: SourceSettings, path: Path) -> FormatGuess:
    """The format of a CSV file: what prisme.toml says, the rest sniffed."""
    given = [source.separator, source.encoding, source.decimal, source.date_format]
    guess = sniff(path, skip_rows=source.skip_rows) if any(v is None for v in given) else _head_only(path)
    if source.separator:
        guess.separator = _unescape(source.separator)
    if source.encoding:
        guess.encoding = source.encoding.lower()
    if source.decimal:
        guess.decimal = source.decimal
    if source.thousands is not None:
        guess.thousands = source.thousands
    if source.date_format:
        guess.date_format = source.date_format
    guess.header = source.header
    return guess


def _head_only(path: Path) -> FormatGuess:
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return FormatGuess(compression="gzip" if gz else None)


def _unescape(sep: str) -> str:
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(sep, sep)


def read_csv(engine, name: str, source: SourceSettings, path: Path, *, table: str) -> RawInput:
    """A delimited text file (see :func:`read_plain_csv`); a gzip file with bytes after its
    end, or cut short, is read as far as it goes and the rest is said (byte offset)."""
    import zlib

    try:
        return read_plain_csv(engine, name, source, path, table=table)
    except (OSError, EOFError, zlib.error, EngineError) as exc:
        if not _is_gzip(path):
            raise
        workdir = Path(tempfile.mkdtemp(prefix="prisme-"))
        try:
            plain = workdir / (path.name.removesuffix(".gz") or "data.csv")
            warning, cut = salvage_gzip(path, plain)
            if warning is None:
                raise SourceError(f"{path}: {exc}") from exc
            raw = read_plain_csv(engine, name, source, plain, table=table)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        rejects = list(raw.rejects)
        if cut:
            line = raw_last_line(engine, raw) + 1
            rejects.append(Reject(line=line, raw=cut, reason=(
                f"{path.name}, line {line}: the line is cut where the compressed data ends "
                "(truncated gzip); a complete line was expected")))
        fmt = dict(raw.fmt)
        fmt["warnings"] = [*fmt.get("warnings", []), warning]
        return RawInput(source=name, file_name=str(path), sha256=file_digest(path)[0],
                        table=raw.table, rows_read=raw.rows_read + (1 if cut else 0),
                        rejects=rejects, fmt=fmt)


def raw_last_line(engine, raw: RawInput) -> int:
    """The last line number the reader delivered (a row or a reject); 1 (the header) if none."""
    last = engine.scalar(raw.table[LINE].max())
    values = [int(v) for v in [last, *(r.line for r in raw.rejects)] if v is not None and v == v]
    return max(values, default=1)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def salvage_gzip(path: Path, out: Path) -> tuple[str | None, str]:
    """Decompress what can be of a damaged gzip file into ``out``: everything up to the end
    of its compressed stream (bytes after it are ignored) or up to where it is cut (the
    partial last line is returned apart). Returns the warning to give and that partial line
    (text), or (None, "") when nothing could be read."""
    import zlib

    d = zlib.decompressobj(wbits=31)
    size = path.stat().st_size
    done, written = 0, 0
    with open(path, "rb") as fin, open(out, "wb") as fout:
        try:
            while chunk := fin.read(CHUNK):
                data = d.decompress(chunk)
                fout.write(data)
                written += len(data)
                done += len(chunk)
                if d.eof:
                    break
        except zlib.error as exc:
            raise SourceError(
                f"{path}: not a readable gzip file — the compressed data is damaged within "
                f"bytes {done:,}–{done + len(chunk):,} of {size:,} ({exc}); expected a gzip "
                "stream (re-export or re-compress the file)") from None
        fout.write(d.flush())
    if d.eof:
        trailing = size - (done - len(d.unused_data))
        return (f"{path.name}: {trailing:,} bytes after the end of the gzip stream (at byte "
                f"{size - trailing:,}) were ignored", "")
    if written == 0:
        raise SourceError(f"{path}: the gzip file is cut short at byte {size:,} before any "
                          "text; expected a complete gzip stream")
    text = out.read_bytes()
    cut_at = max(text.rfind(b"\n"), text.rfind(b"\r"))
    partial = text[cut_at + 1:]
    with open(out, "wb") as fh:
        fh.write(text[:cut_at + 1])
    return (f"{path.name}: the gzip file is cut short at byte {size:,} (its end-of-stream "
            f"marker is missing); the {written:,} bytes of text before are read",
            partial.decode("utf-8", errors="replace"))


def read_plain_csv(engine, name: str, source: SourceSettings, path: Path, *,
                   table: str) -> RawInput:
    """A delimited text file through the engine's CSV reader, every column as text.

    The sha256 of the file and the scan of its lines (empty lines, line breaks inside quoted
    values: :class:`BlankLines`) run in a thread while the engine reads the file; the engine
    asks for the scan's result once its read is done."""
    fmt = csv_format(source, path)
    quote = fmt.quote or '"'
    encoding = codecs.lookup(fmt.encoding).name  # 'latin-1' → 'iso8859-1', 'utf8' → 'utf-8'
    size = path.stat().st_size
    workdir = None
    read_path, compression = path, "gzip" if fmt.compression else "none"
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prisme-digest") as pool:
        try:
            if encoding not in _NATIVE and size:
                workdir = Path(tempfile.mkdtemp(prefix="prisme-"))
                read_path = workdir / (path.name + ".utf8.csv")
                digest = pool.submit(file_digest, path)
                layout = transcode(path, read_path, encoding, gzipped=bool(fmt.compression),
                                   quote=quote)
                compression = "none"
            else:
                digest = pool.submit(digest_and_scan, path, quote, gzipped=bool(fmt.compression))
                layout = None
            if size == 0 or not _has_text(read_path, compression):
                return _empty(engine, name, path, digest.result()[0], table, fmt)
            names = header_names(read_path, compression, fmt, source.skip_rows)
            try:
                rows, found = engine.read_csv_text(
                    str(read_path), table, delim=fmt.separator, quote=quote,
                    header=fmt.header, skip=source.skip_rows, compression=compression,
                    layout=layout or (lambda: digest.result()[1]), columns=names,
                )
                lines = layout or digest.result()[1]
                nul = lines.nul
                if lines.lone_cr:
                    # CR line ends (alone, or mixed with CRLF): the fast reader splits on LF
                    # and would merge lines; the forgiving reader splits on every line end
                    raise EngineError("lone carriage returns")
                if _cut_quoted_values(found, lines, quote):
                    # a quoted value holding a line break that the fast reader cut (it does
                    # with CRLF and LF line ends mixed): the record is whole, read it whole
                    raise EngineError("a quoted value with a line break was cut")
            except EngineError:
                # the fast reader gave up on the whole file (mixed line endings, a stray quote
                # that derails its state machine…): read it line by line instead
                nul = None
                rows, found = read_csv_python(engine, read_path, table, fmt, source.skip_rows,
                                              gzipped=compression == "gzip")
            sha = digest.result()[0]
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
    rejects = [_csv_reject(r, path, fmt) for r in _one_per_line(found)]
    out = fmt.fmt()
    if nul == 0:
        out["no_nul"] = True  # the scan saw none: validation skips the NUL checks
    out["warnings"] = encoding_warnings(path, fmt, source) + [
        n for n in fmt.notes if "more than once" in n]
    return RawInput(
        source=name, file_name=str(path), sha256=sha, table=engine.table(table),
        rows_read=rows + len(rejects), rejects=rejects, fmt=out,
    )


def encoding_warnings(path: Path, fmt: FormatGuess, source: SourceSettings) -> list[str]:
    """A source declared in a one-byte encoding (cp1252, latin-1) whose bytes read as UTF-8
    with accents: its text would load as 'Ã©' for 'é'. Said, not refused (it may be right)."""
    if not source.encoding or codecs.lookup(source.encoding).name in _NATIVE:
        return []
    from prisme.ingest.sniff import read_head

    head, _ = read_head(path, HEADER_PROBE)
    if not any(b >= 0x80 for b in head[:HEADER_PROBE]):
        return []
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return []
    return [f"{path.name} is declared {source.encoding!r} in prisme.toml but its bytes are "
            "UTF-8: accented letters would load garbled (é as Ã©); set encoding = 'utf-8'"]


def read_csv_python(engine, path: Path, table: str, fmt: FormatGuess, skip: int, *,
                    gzipped: bool) -> tuple[int, list[RejectedLine]]:
    """The slow, forgiving reader (Python's csv module, streamed in batches): any line
    ending, exact physical line numbers. Rejects look like the engine's."""
    import csv
    import io

    opener = gzip.open if gzipped else open
    rejects: list[RejectedLine] = []
    csv.field_size_limit(2**31 - 1)  # a 1 MB value is a value (the default stops at 128 kB)
    with opener(path, "rb") as raw_fh:
        fh = io.TextIOWrapper(raw_fh, encoding="utf-8-sig", errors="surrogateescape",
                              newline="")
        for _ in range(skip):
            fh.readline()
        reader = csv.reader(fh, delimiter=fmt.separator, quotechar=fmt.quote or '"',
                            strict=False)
        writer, width, end = None, 0, skip
        while True:
            start = end + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                end = skip + reader.line_num
                rejects.append(RejectedLine(start, "unreadable", found=str(exc)))
                continue
            end = skip + reader.line_num
            if writer is None:
                if fmt.header:
                    writer = BatchWriter(engine, table, unique_names(record))
                    width = len(record)
                    continue
                writer = BatchWriter(engine, table, [f"column{i}" for i in range(len(record))])
                width = len(record)
            if not record:
                continue  # an empty line is not a row
            line_text = fmt.separator.join(record)
            if len(record) != width:
                kind = "missing_fields" if len(record) < width else "extra_fields"
                rejects.append(RejectedLine(start, kind, expected=width, found=len(record),
                                            raw=_printable(line_text)))
                continue
            bad = next((i for i, v in enumerate(record) if _has_surrogate(v)), None)
            if bad is not None:
                rejects.append(RejectedLine(start, "invalid_encoding", expected="utf-8",
                                            column=writer.columns[bad],
                                            raw=_printable(line_text)))
                continue
            writer.add(record, start)
        if writer is None:
            writer = BatchWriter(engine, table, [])
    writer.finish()
    return writer.count, rejects


def _has_surrogate(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def _printable(text: str) -> str:
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def header_names(path: Path, compression: str, fmt: FormatGuess, skip: int) -> list[str]:
    """The column names: the first record after ``skip`` lines (a UTF-8 file by now), or
    ``column0…`` for a file without a header. Blank or repeated names are made unique."""
    import csv
    import io

    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rb") as fh:
        head = fh.read(HEADER_PROBE)
    text = head.decode("utf-8-sig", errors="replace")
    lines = text.splitlines(keepends=True)[skip:]
    # any line end (CR, CRLF, LF): StringIO with newline="" hands the csv module whole lines
    reader = csv.reader(io.StringIO("".join(lines), newline=""), delimiter=fmt.separator,
                        quotechar=fmt.quote or '"')
    try:
        first = next((r for r in reader if r), [])
    except csv.Error:
        first = next(csv.reader([lines[0].rstrip("\r\n")] if lines else [],
                                delimiter=fmt.separator), [])
    first = [c.replace("\x00", "") for c in first]
    if not fmt.header:
        return [f"column{i}" for i in range(len(first))]
    names = unique_names(first)
    twice = sorted({c.strip() for c in first if c.strip() and
                    sum(x.strip() == c.strip() for x in first) > 1})
    if twice:
        fmt.notes.append(
            f"{path.name}: the header names {', '.join(repr(c) for c in twice)} more than once; "
            "the first is read under its name, the others as " + ", ".join(
                repr(n) for n, c in zip(names, first, strict=True) if n != c.strip() and c.strip()))
    return names


def _has_text(path: Path, compression: str) -> bool:
    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rb") as fh:
        return bool(fh.read(4096).strip(b"\xef\xbb\xbf \r\n\t"))


def _cut_quoted_values(found: list[RejectedLine], lines: LineLayout, quote: str) -> bool:
    """Whether the engine rejected as "a quote inside an unquoted value" a record that is a
    well-formed quoted value holding a line break (DuckDB does, with CRLF and LF line ends
    mixed): the byte scan saw line breaks inside quotes and every quote closed, or the
    rejected record's own text spans lines with its quotes balanced. An unclosed quote
    leaves an odd count and stays a reject."""
    cut = [r for r in found if r.kind == "unquoted_value"]
    if not cut:
        return False
    if lines.breaks and lines.records is not None:
        return True
    return any(("\n" in r.raw or "\r" in r.raw) and r.raw.count(quote) % 2 == 0 for r in cut)


def _one_per_line(found: list[RejectedLine]) -> list[RejectedLine]:
    seen, out = set(), []
    for r in found:
        if r.line not in seen:
            seen.add(r.line)
            out.append(r)
    return out


def _csv_reject(r: RejectedLine, path: Path, fmt: FormatGuess) -> Reject:
    """The engine's typed record of a rejected line, in words (the file, the line, what was
    expected and what was found)."""
    line, kind = r.line, r.kind
    sep = {"\t": "tab"}.get(fmt.separator, repr(fmt.separator))
    where = f"{path.name}, line {line}"
    if kind in ("missing_fields", "extra_fields"):
        reason = (
            f"{where}: {r.found} fields where {r.expected} were expected (separator {sep}); "
            + ("the line is cut short or a separator is missing"
               if kind == "missing_fields"
               else "a separator inside an unquoted value, or extra fields")
        )
    elif kind == "invalid_encoding":
        reason = (
            f"{where}: bytes that are not valid {fmt.encoding}"
            + (f" (in column {r.column!r})" if r.column else "")
            + "; set `encoding` for this source in prisme.toml (e.g. 'cp1252' or 'latin-1')"
        )
    elif kind == "unquoted_value":
        reason = f"{where}: a quote {fmt.quote!r} inside a value that is not quoted, or text " \
                 "after a closing quote"
    elif kind == "line_too_long":
        size = f"{int(r.expected) // 2**20} MB" if isinstance(r.expected, int) else "the limit"
        reason = f"{where}: the line is longer than {size} (an unclosed quote?)"
    else:
        reason = f"{where}: {r.found or 'unreadable line'}"
    raw = r.raw
    extra = raw.count("\n")
    if extra and kind in ("unquoted_value", "missing_fields", "extra_fields"):
        if raw.count(fmt.quote or '"') % 2:
            reason += (f" — an unclosed quote {fmt.quote!r} joined lines {line} to "
                       f"{line + extra} into this one record; they are rejected together "
                       "(all kept in raw)")
        else:
            reason += (f" — the record spans lines {line} to {line + extra} (a quoted value "
                       "with line breaks); rejected whole (all kept in raw)")
    return Reject(line=line, reason=reason, raw=raw, column=r.column)


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 of the file's bytes, and its size."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def digest_and_scan(path: Path, quote: str | None, *,
                    gzipped: bool) -> tuple[str, LineLayout]:
    """sha256 of the file's bytes, and the layout of its lines (of the decompressed text for
    a gzip file): one pass over a plain file. Both release the GIL (hashlib, numpy), so this
    runs beside the engine's read."""
    h = hashlib.sha256()
    finder = BlankLines(quote)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            if not gzipped:
                finder.feed(chunk)
    if gzipped:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                finder.feed(chunk)
    return h.hexdigest(), finder.layout()


class BlankLines:
    """Find the empty lines of a file fed in chunks (the CSV reader skips them but counts
    them in its line numbers, so ``__line`` must count them too) and, given the quote
    character, the lines whose line break lies inside a quoted value (the reader counts a
    record spanning lines as one line; the file has several). Vectorised: the newline and
    quote positions of a chunk come from numpy; an empty line is two newlines one byte apart
    (or two apart around a '\\r'); a newline is inside quotes when an odd number of quotes
    precede it (a doubled quote inside a value counts twice: parity holds)."""

    def __init__(self, quote: str | None = None) -> None:
        self.lines = 0  # complete lines seen
        self.last_nl = -1  # position of the last newline, relative to the current chunk
        self.last_cr = False  # the byte just before the current chunk is '\\r'
        self.found: list[int] = []
        self.quote = quote.encode()[0] if quote and len(quote.encode()) == 1 else None
        self.in_quote = False  # an odd number of quotes so far
        self.breaks: list[int] = []
        self.tail = False  # bytes after the last newline (a last line without one)
        self.lone_cr = 0  # '\r' not followed by '\n'
        self.nul = 0  # NUL bytes (a damaged file; never kept in an identifier)
        self._pending_cr = False  # the chunk ended with '\r': depends on the next byte

    def feed(self, chunk: bytes) -> None:
        import numpy as np

        arr = np.frombuffer(chunk, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        self.nul += len(chunk) - np.count_nonzero(arr)
        if self._pending_cr and len(arr):
            self.lone_cr += int(arr[0] != 10)
            self._pending_cr = False
        cr = np.flatnonzero(arr == 13)
        if len(cr):
            inner = cr[cr < len(arr) - 1]
            self.lone_cr += int((arr[inner + 1] != 10).sum())
            self._pending_cr = bool(cr[-1] == len(arr) - 1)
        if self.quote is not None:
            self._quotes(arr, nl, np)
        if len(nl):
            prev = np.concatenate(([self.last_nl], nl[:-1]))
            gap = nl - prev
            blank = gap == 1
            two = np.flatnonzero(gap == 2)
            if len(two):
                before = nl[two] - 1  # the byte between the two newlines
                is_cr = np.where(before >= 0, arr[np.maximum(before, 0)] == 13, self.last_cr)
                blank[two[is_cr]] = True
            for i in np.flatnonzero(blank):
                self.found.append(self.lines + int(i) + 1)
            self.lines += len(nl)
            self.last_nl = int(nl[-1]) - len(chunk)
            self.tail = int(nl[-1]) < len(chunk) - 1
        else:
            self.last_nl -= len(chunk)
            self.tail = self.tail or len(chunk) > 0
        if len(chunk):
            self.last_cr = chunk[-1:] == b"\r"

    def _quotes(self, arr, nl, np) -> None:
        quotes = np.flatnonzero(arr == self.quote)
        if len(quotes) == 0 and not self.in_quote:
            return
        if len(nl):
            before = np.searchsorted(quotes, nl) + (1 if self.in_quote else 0)
            for i in np.flatnonzero(before & 1):
                self.breaks.append(self.lines + int(i) + 1)
        self.in_quote ^= bool(len(quotes) & 1)

    def layout(self) -> LineLayout:
        """What was found; ``records`` only when every quote was closed."""
        lines = self.lines + (1 if self.tail else 0)
        inside = set(self.breaks)
        blank = [b for b in self.found if b - 1 not in inside]
        records = None if self.in_quote else lines - len(self.breaks) - len(blank)
        lone = self.lone_cr + int(self._pending_cr)
        return LineLayout(blank=list(self.found), breaks=list(self.breaks), records=records,
                          lone_cr=lone, nul=self.nul)


def transcode(src: Path, dst: Path, encoding: str, *, gzipped: bool,
              quote: str | None = '"') -> LineLayout:
    """Re-encode a file to UTF-8 in chunks; return the layout of its lines. Bytes invalid in
    ``encoding`` are copied as they are, so that the CSV reader rejects just their line as an
    invalid encoding."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    opener = gzip.open if gzipped else open
    finder = BlankLines(quote)
    with opener(src, "rb") as fin, open(dst, "wb") as fout:
        first = True
        while chunk := fin.read(CHUNK):
            text = decoder.decode(chunk)
            if first and text.startswith("\ufeff"):
                text = text[1:]
            first = False
            data = text.encode("utf-8", errors="surrogateescape")
            finder.feed(data)
            fout.write(data)
        rest = decoder.decode(b"", final=True).encode("utf-8", errors="surrogateescape")
        finder.feed(rest)
        fout.write(rest)
    return finder.layout()


def _empty(engine, name, path, sha, table, fmt) -> RawInput:
    engine.drop_raw(table)
    t = engine.create_table(table, schema=_line_schema(), temp=True)
    return RawInput(source=name, file_name=str(path), sha256=sha, table=t, rows_read=0,
                    fmt=fmt.fmt())


def _line_schema():
    import ibis

    return ibis.schema({LINE: "int64"})
