"""Database sources: a table or a query of PostgreSQL (psycopg 3) or MariaDB/MySQL (pymysql).

Rows are fetched with a server-side cursor in batches and appended to a temp table of the
engine, every value as text, so an extract of any size streams. With ``watermark`` (a
column, usually ``updated_at``) a load only takes the rows changed since the last one:
``watermark > since_watermark``, in watermark order; the RawInput carries the highest value
seen (ISO text), which the load journal keeps for the next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from datetime import date, datetime
from urllib.parse import unquote, urlsplit

from prisme.config import SourceSettings
from prisme.ingest.raw import RawInput

BATCH_ROWS = 50_000
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


class DatabaseError(RuntimeError):
    """A database source that cannot be read; the message names the source and the server."""


def dialect_of(url: str) -> str:
    scheme = urlsplit(url).scheme.lower().split("+")[0]
    if scheme in ("postgresql", "postgres", "pgsql"):
        return "postgresql"
    if scheme in ("mysql", "mariadb"):
        return "mysql"
    raise DatabaseError(f"unsupported database url {url!r}: use postgresql://… or mysql://…")


def safe_url(url: str) -> str:
    """The url without its password (for messages and file_name)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


@contextlib.contextmanager
def connect(url: str):
    """A DB-API connection for a postgresql:// or mysql:// url."""
    kind = dialect_of(url)
    parts = urlsplit(url)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    database = parts.path.lstrip("/") or None
    try:
        if kind == "postgresql":
            import psycopg

            con = psycopg.connect(
                host=parts.hostname or "localhost", port=parts.port or 5432, user=user,
                password=password, dbname=database, connect_timeout=10,
            )
        else:
            import pymysql

            con = pymysql.connect(
                host=parts.hostname or "localhost", port=parts.port or 3306, user=user or "root",
                password=password or "", database=database, charset="utf8mb4",
                connect_timeout=10,
            )
    except Exception as exc:  # each driver has its own error classes
        raise DatabaseError(f"cannot connect to {safe_url(url)}: {exc}") from exc
    try:
        yield con
    finally:
        con.close()


def quote_ident(name: str, kind: str) -> str:
    """A table or column name, quoted for the dialect; refuses anything but a plain name."""
    if not _IDENT.match(name):
        raise DatabaseError(f"{name!r} is not a plain table or column name")
    q = '"' if kind == "postgresql" else "`"
    return ".".join(f"{q}{part}{q}" for part in name.split("."))


def extract_sql(source: SourceSettings, kind: str, since_watermark: str | None) -> tuple[str, list]:
    """The SELECT for a source, with the incremental condition and its parameters."""
    base = (f"SELECT * FROM {quote_ident(source.table, kind)}" if source.table
            else source.query.strip().rstrip(";"))
    if not source.watermark:
        return base, []
    wm = quote_ident(source.watermark, kind)
    sql = f"SELECT * FROM ({base}) AS prisme_extract"
    params: list = []
    if since_watermark is not None:
        sql += f" WHERE {wm} > %s"
        params.append(since_watermark)
    return sql + f" ORDER BY {wm}", params


def _cursor(con, kind: str):
    if kind == "postgresql":
        return con.cursor(name="prisme_extract")  # server-side: rows come in batches
    import pymysql.cursors

    return con.cursor(pymysql.cursors.SSCursor)  # unbuffered: streamed from the server


def fetch_batches(url: str, sql: str, params: list) -> Iterator[tuple[list[str], list[tuple]]]:
    """(column names, rows) batches of a query, streamed with a server-side cursor."""
    kind = dialect_of(url)
    with connect(url) as con:
        cur = _cursor(con, kind)
        try:
            cur.execute(sql, params or None)
            names = [d[0] for d in cur.description]
            while rows := cur.fetchmany(BATCH_ROWS):
                yield names, rows
            else:
                yield names, []
        except DatabaseError:
            raise
        except Exception as exc:
            raise DatabaseError(f"{safe_url(url)}: the extract failed: {exc}") from exc
        finally:
            with contextlib.suppress(Exception):
                cur.close()
            with contextlib.suppress(Exception):
                con.rollback()


def _watermark_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_database(engine, name: str, source: SourceSettings, *, table: str,
                  since_watermark: str | None = None) -> RawInput:
    """One extract of a database source as a RawInput (``__line`` = record number from 1)."""
    from prisme.ingest.batch_readers import BatchWriter, text_value, typed_fmt, unique_names

    kind = dialect_of(source.url)
    sql, params = extract_sql(source, kind, since_watermark)
    where = f"{safe_url(source.url)}#{source.table or 'query'}"
    digest = hashlib.sha256()
    writer = None
    top = None
    wm_index = None
    line = 1
    samples: list[list] = []
    for names, rows in fetch_batches(source.url, sql, params):
        if writer is None:
            columns = unique_names(names)
            writer = BatchWriter(engine, table, columns)
            if source.watermark:
                if source.watermark not in names:
                    raise DatabaseError(
                        f"source {name!r}: {where} has no watermark column "
                        f"{source.watermark!r}; it has {', '.join(names)}"
                    )
                wm_index = names.index(source.watermark)
        for row in rows:
            cells = [text_value(v) for v in row]
            digest.update(repr(cells).encode("utf-8"))
            writer.add(cells, line)
            if len(samples) < 200:
                samples.append(cells)
            line += 1
            if wm_index is not None and row[wm_index] is not None and (
                top is None or row[wm_index] > top
            ):
                top = row[wm_index]
    t = writer.finish()
    watermark = _watermark_text(top) if top is not None else since_watermark
    return RawInput(
        source=name, file_name=where, sha256=digest.hexdigest(), table=t,
        rows_read=writer.count, fmt=typed_fmt(source, writer.columns, samples),
        watermark=watermark,
    )
