"""Excel, Parquet and JSON lines: typed files streamed into the engine as text, in batches.

Cells become the text an export would have written (ISO dates and timestamps to the second,
no trailing ``.0`` on whole numbers), so that one validation step serves every format. Rows go
to a temp table of the engine :data:`BATCH_ROWS` at a time: a file is never held whole.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
from collections import Counter
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from prisme.config import SourceSettings
from prisme.ingest.raw import LINE, RawInput, Reject

BATCH_ROWS = 50_000
CHUNK = 8 * 1024 * 1024


class SourceError(ValueError):
    """A source that cannot be read at all; the message names the source and the file."""


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def text_value(v) -> str | None:
    """A cell as text the way an export would write it (ISO dates and timestamps to the
    second, no trailing .0 on whole numbers)."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):  # to the second: one date format for the whole column
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, time):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


class BatchWriter:
    """Append rows (lists of text) to a temp table in batches of :data:`BATCH_ROWS`."""

    def __init__(self, engine, table: str, columns: list[str]) -> None:
        self.engine, self.table, self.columns = engine, table, columns
        self.rows: list[list] = []
        self.count = 0
        schema = pa.schema([(c, pa.string()) for c in columns] + [(LINE, pa.int64())])
        self.schema = schema
        engine.drop_raw(table)
        self.ibis_table = engine.create_table(table, schema=_ibis_schema(schema), temp=True)

    def add(self, values: list, line: int) -> None:
        self.rows.append([*values, line])
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        cols = list(zip(*self.rows, strict=True))
        arrays = [pa.array(c, type=f.type) for c, f in zip(cols, self.schema, strict=True)]
        self.engine.insert(self.table, pa.Table.from_arrays(arrays, schema=self.schema))
        self.count += len(self.rows)
        self.rows = []

    def finish(self):
        self.flush()
        return self.engine.table(self.table)


def _ibis_schema(schema: pa.Schema):
    import ibis

    return ibis.schema({f.name: ("int64" if f.type == pa.int64() else "string") for f in schema})


def unique_names(names: list) -> list[str]:
    """Header cells as column names: blanks get ``columnN``, repeats get a suffix."""
    out: list[str] = []
    for i, n in enumerate(names):
        n = text_value(n)
        n = n.replace("\x00", "") if n else n  # a NUL in a header is never part of a name
        base = n.strip() if n and n.strip() else f"column{i}"
        n, k = base, 1
        while n in out:
            k += 1
            n = f"{base}_{k}"
        out.append(n)
    return out


def read_xlsx(engine, name: str, source: SourceSettings, path: Path, *, table: str) -> RawInput:
    """An Excel sheet (openpyxl read-only, streamed); ``__line`` is the sheet row number."""
    from openpyxl import load_workbook

    sha = file_sha256(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SourceError(f"source {name!r}: {path} is not a readable .xlsx file: {exc}") from exc
    try:
        if source.sheet and source.sheet not in wb.sheetnames:
            raise SourceError(
                f"source {name!r}: {path.name} has no sheet {source.sheet!r}; "
                f"it has {', '.join(wb.sheetnames)}"
            )
        ws = wb[source.sheet] if source.sheet else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        for _ in range(source.skip_rows):
            next(rows, None)
        first_row = source.skip_rows + 1
        header = next(rows, None) if source.header else None
        writer = None
        line = first_row + (1 if source.header else 0)
        samples: list[list] = []
        for values in rows:
            if writer is None:
                width = len(header) if header is not None else len(values)
                columns = unique_names(list(header) if header is not None
                                       else [f"column{i}" for i in range(width)])
                writer = BatchWriter(engine, table, columns)
            cells = [text_value(v) for v in values[: len(writer.columns)]]
            cells += [None] * (len(writer.columns) - len(cells))
            if any(c not in (None, "") for c in cells):  # empty sheet rows are not data
                writer.add(cells, line)
                if len(samples) < 200:
                    samples.append(cells)
            line += 1
        if writer is None:
            columns = unique_names(list(header)) if header else []
            writer = BatchWriter(engine, table, columns)
    finally:
        wb.close()
    t = writer.finish()
    fmt = typed_fmt(source, writer.columns, samples)
    return RawInput(source=name, file_name=str(path), sha256=sha, table=t,
                    rows_read=writer.count, fmt=fmt)


def typed_fmt(source: SourceSettings, columns: list[str], samples: list[list]) -> dict:
    """Format of a typed file (xlsx, parquet, jsonl): points and ISO dates, unless text cells
    in the file say otherwise."""
    from prisme.ingest.sniff import guess_date_format, guess_decimal

    cols = [[r[i] for r in samples if r[i] is not None] for i in range(len(columns))]
    decimal, thousands = guess_decimal([v for c in cols for v in c])
    date_formats = {}
    for c, values in zip(columns, cols, strict=True):
        f = guess_date_format(values)
        if f:
            date_formats[c] = f
    date_format = source.date_format or (
        Counter(date_formats.values()).most_common(1)[0][0] if date_formats else None
    )
    return {
        "separator": None, "encoding": "utf-8",
        "decimal": source.decimal or decimal,
        "thousands": source.thousands if source.thousands is not None else thousands,
        "date_format": date_format, "date_formats": date_formats,
    }


def read_jsonl(engine, name: str, source: SourceSettings, path: Path, *, table: str) -> RawInput:
    """JSON lines: one object per line; ``__line`` is the line number (first record = 1).

    A line that is not a JSON object becomes a Reject; keys are the columns (in first-seen
    order; the file is read twice: keys first, then values — never held whole in memory)."""
    sha = file_sha256(path)
    opener = gzip.open if _is_gzip(path) else open
    encoding = source.encoding or "utf-8-sig"
    keys: dict[str, None] = {}
    rejects: list[Reject] = []
    with opener(path, "rt", encoding=encoding, errors="strict", newline="") as fh:
        for line, obj, err in _json_lines(fh):
            if err:
                rejects.append(Reject(line=line, reason=f"{path.name}, line {line}: {err}",
                                      raw=obj))
            else:
                keys.update(dict.fromkeys(obj))
    columns = list(keys)
    writer = BatchWriter(engine, table, columns)
    samples = []
    with opener(path, "rt", encoding=encoding, errors="strict", newline="") as fh:
        for line, obj, err in _json_lines(fh):
            if err:
                continue
            cells = [text_value(obj.get(k)) for k in columns]
            writer.add(cells, line)
            if len(samples) < 200:
                samples.append(cells)
    t = writer.finish()
    return RawInput(source=name, file_name=str(path), sha256=sha, table=t,
                    rows_read=writer.count + len(rejects), rejects=rejects,
                    fmt=typed_fmt(source, columns, samples))


def _json_lines(fh):
    line = 0
    while True:
        try:
            text = fh.readline()
        except UnicodeDecodeError as exc:
            # cannot know where the next line starts once decoding fails: report and stop
            yield line + 1, "", f"bytes not valid {fh.encoding} ({exc.reason}); set `encoding`"
            return
        if not text:
            return
        line += 1
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield line, text.rstrip("\r\n"), f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        if not isinstance(obj, dict):
            yield line, text.rstrip("\r\n"), f"a JSON {type(obj).__name__}, not an object"
            continue
        yield line, obj, None


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def read_parquet(engine, name: str, source: SourceSettings, path: Path, *,
                 table: str) -> RawInput:
    """A Parquet file, streamed by record batches; ``__line`` is the record number (from 1)."""
    import pyarrow.parquet as pq

    sha = file_sha256(path)
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError…
        raise SourceError(f"source {name!r}: {path} is not a readable Parquet file: {exc}") from exc
    columns = unique_names(pf.schema_arrow.names)
    writer = BatchWriter(engine, table, columns)
    line, samples = 1, []
    for batch in pf.iter_batches(batch_size=BATCH_ROWS):
        writer.flush()
        arrays = [_as_text(batch.column(i)) for i in range(batch.num_columns)]
        n = batch.num_rows
        arrays.append(pa.array(range(line, line + n), type=pa.int64()))
        engine.insert(table, pa.Table.from_arrays(arrays, schema=writer.schema))
        writer.count += n
        if len(samples) < 200:
            samples.extend(zip(*[a.to_pylist()[:200] for a in arrays[:-1]], strict=True))
        line += n
    t = writer.finish()
    return RawInput(source=name, file_name=str(path), sha256=sha, table=t,
                    rows_read=writer.count, fmt=typed_fmt(source, columns,
                                                           [list(s) for s in samples[:200]]))


def _as_text(array: pa.Array) -> pa.Array:
    """A Parquet column as text: strings as they are, numbers and dates as an export writes
    them (ISO dates, no trailing .0)."""
    t = array.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return array.cast(pa.string())
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_integer(t) \
            or pa.types.is_decimal(t) or pa.types.is_boolean(t):
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if pa.types.is_timestamp(t):
                import pyarrow.compute as pc

                seconds = array.cast(pa.timestamp("s", tz=t.tz), safe=False)
                return pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S")
            return array.cast(pa.string())
    return pa.array([text_value(v) for v in array.to_pylist()], type=pa.string())
