"""Writing the sources the way real exports look, fast and byte-for-byte reproducible.

Columns are turned into text here (decimal commas, ``dd/mm/yyyy`` dates…) with pyarrow
compute, then written with pyarrow's CSV writer and re-encoded when the system exports in
cp1252 or prefixes a UTF-8 byte-order mark. Excel files get fixed timestamps inside the zip so
that the same seed gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def money_text(values, decimal: str = ".", digits: int = 2) -> pa.Array:
    """Numbers as text with ``digits`` decimals and the given mark; NaN → empty."""
    v = np.asarray(values, dtype=float)
    missing = np.isnan(v)
    scaled = np.round(np.where(missing, 0, v) * 10**digits).astype(np.int64)
    sign = np.where(scaled < 0, "-", "")
    a = np.abs(scaled)
    units = pa.array(a // 10**digits).cast(pa.string())
    if digits == 0:
        out = pc.binary_join_element_wise(pa.array(sign), units, "")
    else:
        frac = pc.utf8_lpad(pa.array(a % 10**digits).cast(pa.string()), digits, "0")
        out = pc.binary_join_element_wise(pa.array(sign), units, decimal, frac, "")
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), out)


def number_text(values) -> pa.Array:
    """Whole numbers as text (NaN → empty)."""
    v = np.asarray(values, dtype=float)
    missing = np.isnan(v)
    out = pa.array(np.where(missing, 0, v).astype(np.int64)).cast(pa.string())
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), out)


def date_text(values, fmt: str) -> pa.Array:
    """datetime64 values formatted with a strftime ``fmt`` (NaT → empty).

    Fast on millions of values: each distinct day and each second of the day is formatted
    once in a lookup table, and the text is assembled with two ``take`` and one join."""
    v = np.asarray(values).astype("datetime64[s]")
    nat = np.isnat(v)
    secs = np.where(nat, 0, v.astype(np.int64))
    day = secs // 86400
    cut = fmt.find("%H")
    date_fmt, time_fmt = (fmt, "") if cut < 0 else (fmt[:cut], fmt[cut:])
    lo = int(day[~nat].min()) if (~nat).any() else 0
    hi = int(day[~nat].max()) if (~nat).any() else 0
    if hi - lo < 20_000:  # a few years: every day of the span
        span = np.arange(lo, hi + 1)
        idx = np.clip(day - lo, 0, hi - lo)
    else:  # birth dates over a century: only the days present
        span, idx = np.unique(day, return_inverse=True)
    origin = dt.date(1970, 1, 1)
    days = [(origin + dt.timedelta(days=int(k))).strftime(date_fmt) for k in span]
    out = pa.array(days, type=pa.string()).take(pa.array(idx.reshape(-1)))
    if time_fmt:
        out = pc.binary_join_element_wise(
            out, _time_table(time_fmt).take(pa.array(secs - day * 86400)), "")
    if not nat.any():
        return out
    return pc.if_else(pa.array(nat), pa.scalar(None, pa.string()), out)


@functools.lru_cache(maxsize=8)
def _time_table(fmt: str) -> pa.Array:
    base = dt.datetime(2000, 1, 1)
    return pa.array([(base + dt.timedelta(seconds=k)).strftime(fmt) for k in range(86400)],
                    type=pa.string())


def prefixed_numbers(prefix, numbers, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` (e.g. ``V00000042``), vectorised."""
    digits = pc.utf8_lpad(pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()),
                          width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def days_to_datetime(days) -> np.ndarray:
    """Days since 1970-01-01 (float) → datetime64[s], to the minute."""
    d = np.asarray(days, dtype=float)
    missing = np.isnan(d)
    out = (np.round(np.where(missing, 0, d) * 1440) * 60).astype(np.int64).astype("datetime64[s]")
    out[missing] = np.datetime64("NaT")
    return out


def text(values) -> pa.Array:
    """Python values / None as a pyarrow string array (numbers written with ``str``)."""
    arr = np.asarray(values, dtype=object)
    try:
        return pa.array(arr, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in arr], type=pa.string())


def write_csv(columns: dict | pa.Table, path: Path, *, separator: str = ",", encoding: str = "utf-8",
              bom: bool = False) -> Path:
    """Write string columns as CSV with the given separator, encoding and BOM."""
    table = columns if isinstance(columns, pa.Table) else pa.table(
        {k: v if isinstance(v, pa.Array) else text(v) for k, v in columns.items()})
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(delimiter=separator,
                                                   quoting_style="needed"))
    data = buf.getvalue()
    if encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
        data = data.decode("utf-8").encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_jsonl(df: pd.DataFrame, path: Path) -> Path:
    """One JSON object per line; missing values are left out of the object, as APIs do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(df.columns)
    values = [df[c].to_numpy(dtype=object) for c in cols]
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in zip(*values, strict=True):
            obj = {c: v for c, v in zip(cols, row, strict=True)
                   if v is not None and not (isinstance(v, float) and np.isnan(v))}
            f.write(json.dumps(obj, ensure_ascii=False))
            f.write("\n")
    return path


def write_parquet(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return path


def write_xlsx(df: pd.DataFrame, path: Path, sheet: str) -> Path:
    """An Excel workbook with one sheet; zip entries get a fixed time (reproducible bytes)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and np.isnan(v)) else v for v in row])
    fixed = pd.Timestamp("2026-01-01").to_pydatetime()
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fix_core_times(data)
            z = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            z.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(z, data)
    path.write_bytes(out.getvalue())
    return path


def _fix_core_times(xml: bytes) -> bytes:
    import re

    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                  rb"\g<1>2026-01-01T00:00:00Z\g<2>", xml)
