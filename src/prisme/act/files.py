"""Writing an export file (CSV, xlsx, Parquet) so that no cell can run in a spreadsheet.

A customer name typed as ``=HYPERLINK("http://x","y")`` or ``+cmd|' /C calc'!A0`` is a formula
(or a DDE command) to Excel and LibreOffice when the file is opened: CSV/formula injection
(OWASP). Every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is written with a leading apostrophe, which makes it plain text in a spreadsheet — in
every CSV and xlsx export. A cell that is only a signed number (``+33612345678``,
``-12.5``) is left as it is: nothing in it can be executed, and a phone number stays usable.
Parquet is not opened by spreadsheets as formulas and is written as is.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

FORMATS = ("csv", "xlsx", "parquet")
#: first characters that make a spreadsheet evaluate a cell
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d .]*$")


def neutralise(value):
    """``value`` made safe for a spreadsheet cell (text only; other values unchanged)."""
    if not isinstance(value, str) or not value.startswith(DANGEROUS_START):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are all :func:`neutralise`-d."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise, na_action="ignore")
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def format_of(path: Path, given: str | None = None) -> str:
    """The export format: ``given``, else the file's extension."""
    fmt = (given or Path(path).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"{path}: unknown export format {fmt!r}; use one of "
                         f"{', '.join(FORMATS)} (--format or the file's extension)")
    return fmt


def write_frame(frame: pd.DataFrame, path: Path, fmt: str | None = None) -> Path:
    """Write ``frame`` to ``path`` as CSV (UTF-8 with BOM, which Excel reads), xlsx or
    Parquet; text cells neutralised in CSV and xlsx."""
    path = Path(path)
    fmt = format_of(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
        return path
    safe = neutralised(frame)
    if fmt == "csv":
        # CRLF line ends (RFC 4180): a value holding a CR or LF is then quoted, so a line
        # break inside a name cannot start a new row whose first cell is a formula
        safe.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n",
                    quoting=csv.QUOTE_MINIMAL)
        return path
    _write_xlsx(safe, path)
    return path


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """Every text cell is written as a string cell (type ``s``): openpyxl would otherwise
    store a text starting with ``=`` as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("list")

    def cell(value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"
        return c

    ws.append([cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        ws.append([cell(v) for v in row])
    wb.save(path)
