"""Write-back: the scores and offers, as simple indicators, in the operational CRM's database.

``prisme writeback --url postgresql://…|mysql://… --table NAME`` writes one row per source
customer id (``party_map``: every record of every source, or those of ``--source``) with the
party's segment, CLV and its interval, churn probability and its top reasons (in words, in
the project's language: ``[project] language``, or ``--lang``), next best
offers and the ``as_of`` day of the scores (from ``customer_360``). The table is created when
missing, with the primary key (source, source_customer_id). The rows are sent to a temporary
table, then upserted in **one transaction**: new keys inserted, changed rows updated, rows
unchanged left alone (a second run changes nothing), and the rows of keys the warehouse no
longer holds (an erased person) deleted — with ``--source``, only among that source's rows. PostgreSQL through psycopg 3, MariaDB / MySQL
through pymysql (the ``db`` extra).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import ibis
import pandas as pd

from prisme.i18n import reasons as churn_reasons

KEY = ("source", "source_customer_id")
#: column → (PostgreSQL type, MySQL type)
COLUMNS: dict[str, tuple[str, str]] = {
    "source": ("text", "VARCHAR(64)"),
    "source_customer_id": ("text", "VARCHAR(191)"),
    "party_id": ("text", "VARCHAR(32)"),
    "segment": ("text", "VARCHAR(64)"),
    "clv_12m": ("double precision", "DOUBLE"),
    "clv_12m_low": ("double precision", "DOUBLE"),
    "clv_12m_high": ("double precision", "DOUBLE"),
    "churn_probability": ("double precision", "DOUBLE"),
    "churn_reasons": ("text", "TEXT"),
    "next_best_offers": ("text", "TEXT"),
    "as_of": ("date", "DATE"),
}
_VALUES = [c for c in COLUMNS if c not in KEY]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class WritebackError(RuntimeError):
    """The write-back could not be done; nothing was changed in the target table."""


@dataclass
class WritebackResult:
    table: str
    url: str  #: without the password
    rows: int
    inserted: int
    updated: int
    deleted: int

    def sentence(self) -> str:
        return (f"{self.url} {self.table}: {self.rows:,} customer rows — {self.inserted:,} "
                f"inserted, {self.updated:,} updated, {self.deleted:,} deleted, "
                f"{self.rows - self.inserted - self.updated:,} unchanged.")


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def dialect_of(url: str) -> str:
    scheme = urlsplit(url).scheme.lower().split("+")[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    if scheme in ("mysql", "mariadb"):
        return "mysql"
    raise WritebackError(f"unsupported url {safe_url(url)!r}: use postgresql://… or mysql://…")


def _text(value):
    """Reasons and offers as text (a list or a structure becomes JSON)."""
    if value is None or (not isinstance(value, (list, dict, tuple)) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    return json.dumps(value, ensure_ascii=False, default=str)


def writeback_rows(engine, sources: list[str] | None = None, *, lang: str = "en",
                   currency: str | None = None) -> pd.DataFrame:
    """One row per (source, source_customer_id) of ``party_map`` with its party's scores;
    the churn reasons (stored as codes and figures) in words of ``lang`` (``en``, ``fr``)."""
    for needed in ("party_map", "customer_360"):
        if not engine.has_table(needed):
            raise WritebackError(f"the warehouse has no {needed} yet: run prisme build first")
    pm = engine.table("party_map")
    if sources:
        pm = pm.filter(pm.source.isin(sources))
    c360 = engine.table("customer_360")
    have = set(c360.columns)
    picked = {
        "party_id": c360.party_id,
        "segment": c360.rfm_segment if "rfm_segment" in have else ibis.null("string"),
        **{c: (c360[c].cast("float64") if c in have else ibis.null("float64"))
           for c in ("clv_12m", "clv_12m_low", "clv_12m_high", "churn_probability")},
        **{c: (c360[c] if c in have else ibis.null("string"))
           for c in ("churn_reasons", "next_best_offers")},
        "as_of": c360.as_of.cast("date") if "as_of" in have else ibis.null("date"),
    }
    scores = c360.select(**picked)
    j = pm.select(*KEY, "party_id").left_join(scores, "party_id").drop("party_id_right")
    df = engine.to_pandas(j.order_by(list(KEY)))
    df["churn_reasons"] = [churn_reasons.text(_text(v), lang, currency)
                           for v in df["churn_reasons"]]
    df["next_best_offers"] = [_text(v) for v in df["next_best_offers"]]
    df["as_of"] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in df["as_of"]]
    for c in ("clv_12m", "clv_12m_low", "clv_12m_high", "churn_probability"):
        df[c] = [None if pd.isna(v) else float(v) for v in df[c]]
    df = df.astype(object).where(df.notna(), None)
    return df[list(COLUMNS)]


def _check_table(table: str) -> None:
    if not _IDENT.match(table):
        raise WritebackError(f"--table {table!r}: a table name is letters, digits and "
                             "underscores, optionally schema.table")


def _q(table: str, quote: str) -> str:
    return ".".join(f"{quote}{p}{quote}" for p in table.split("."))


def writeback(engine, url: str, table: str, *, sources: list[str] | None = None,
              lang: str = "en", currency: str | None = None) -> WritebackResult:
    """Upsert the rows of :func:`writeback_rows` into ``table`` at ``url`` (one transaction)."""
    _check_table(table)
    rows = writeback_rows(engine, sources, lang=lang, currency=currency)
    dialect = dialect_of(url)
    try:
        counts = (_postgres if dialect == "postgresql" else _mysql)(url, table, rows,
                                                                    sources or [])
    except WritebackError:
        raise
    except Exception as exc:  # the driver's own error, with the server named
        raise WritebackError(f"write-back to {safe_url(url)} {table} failed, nothing was "
                             f"changed: {exc}") from exc
    return WritebackResult(table, safe_url(url), len(rows), *counts)


def _records(rows: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in rows.itertuples(index=False, name=None)]


def _scope(sources: list[str], mark: str) -> tuple[str, list[str]]:
    """The rows a run may delete: all, or those of the sources it wrote."""
    if not sources:
        return "", []
    return f" AND t.source IN ({', '.join([mark] * len(sources))})", list(sources)


def _postgres(url: str, table: str, rows: pd.DataFrame,
              sources: list[str]) -> tuple[int, int, int]:
    import psycopg

    t = _q(table, '"')
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    ddl = ", ".join(f'"{c}" {pg}' + (" NOT NULL" if c in KEY else "")
                    for c, (pg, _) in COLUMNS.items())
    sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in _VALUES)
    mine = ", ".join(f't."{c}"' for c in _VALUES)
    theirs = ", ".join(f'EXCLUDED."{c}"' for c in _VALUES)
    with psycopg.connect(url) as con:  # one transaction: committed at the end of the block
        with con.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {t} ({ddl}, "
                        "PRIMARY KEY (source, source_customer_id))")
            cur.execute(f"CREATE TEMP TABLE prisme_writeback ({ddl}) ON COMMIT DROP")
            with cur.copy(f"COPY prisme_writeback ({cols}) FROM STDIN") as copy:
                for rec in _records(rows):
                    copy.write_row(rec)
            cur.execute(
                f"INSERT INTO {t} AS t ({cols}) SELECT {cols} FROM prisme_writeback "
                f"ON CONFLICT (source, source_customer_id) DO UPDATE SET {sets} "
                f"WHERE ({mine}) IS DISTINCT FROM ({theirs}) RETURNING (xmax = 0)"
            )
            flags = [r[0] for r in cur.fetchall()]
            scope, params = _scope(sources, "%s")
            cur.execute(f"DELETE FROM {t} AS t WHERE NOT EXISTS (SELECT 1 FROM "
                        "prisme_writeback w WHERE w.source = t.source "
                        f"AND w.source_customer_id = t.source_customer_id){scope}", params)
            deleted = cur.rowcount
    inserted = sum(1 for f in flags if f)
    return inserted, len(flags) - inserted, deleted


def _mysql(url: str, table: str, rows: pd.DataFrame,
           sources: list[str]) -> tuple[int, int, int]:
    import pymysql

    parts = urlsplit(url)
    t = _q(table, "`")
    cols = ", ".join(f"`{c}`" for c in COLUMNS)
    ddl = ", ".join(f"`{c}` {my}" + (" NOT NULL" if c in KEY else "")
                    for c, (_, my) in COLUMNS.items())
    con = pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                          user=unquote(parts.username or "root"),
                          password=unquote(parts.password or ""),
                          database=parts.path.lstrip("/") or None, charset="utf8mb4",
                          autocommit=False)
    try:
        with con.cursor() as cur:
            # DDL commits implicitly in MySQL: create the table before the transaction
            cur.execute(f"CREATE TABLE IF NOT EXISTS {t} ({ddl}, PRIMARY KEY (source, "
                        "source_customer_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
            cur.execute("DROP TEMPORARY TABLE IF EXISTS prisme_writeback")
            cur.execute(f"CREATE TEMPORARY TABLE prisme_writeback ({ddl}, PRIMARY KEY "
                        "(source, source_customer_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
            con.begin()
            marks = ", ".join(["%s"] * len(COLUMNS))
            recs = _records(rows)
            for i in range(0, len(recs), 5000):
                cur.executemany(f"INSERT INTO prisme_writeback ({cols}) VALUES ({marks})",
                                recs[i:i + 5000])
            # which keys are new, which changed (<=> is NULL-safe equality)
            cur.execute(f"SELECT count(*) FROM prisme_writeback w LEFT JOIN {t} t USING "
                        "(source, source_customer_id) WHERE t.source IS NULL")
            inserted = int(cur.fetchone()[0])
            same = " AND ".join(f"t.`{c}` <=> w.`{c}`" for c in _VALUES)
            cur.execute(f"SELECT count(*) FROM prisme_writeback w JOIN {t} t USING "
                        f"(source, source_customer_id) WHERE NOT ({same})")
            updated = int(cur.fetchone()[0])
            sets = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in _VALUES)
            cur.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM prisme_writeback "
                        f"ON DUPLICATE KEY UPDATE {sets}")
            scope, params = _scope(sources, "%s")
            deleted = cur.execute(
                f"DELETE t FROM {t} t LEFT JOIN prisme_writeback w USING "
                f"(source, source_customer_id) WHERE w.source IS NULL{scope}", params)
            cur.execute("DROP TEMPORARY TABLE prisme_writeback")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()
    return inserted, updated, int(deleted)


def run(engine, root, url: str, table: str, *, actor: str,
        sources: list[str] | None = None, lang: str = "en",
        currency: str | None = None) -> WritebackResult:
    """:func:`writeback`, recorded in the audit log."""
    from prisme.access import audit

    result = writeback(engine, url, table, sources=sources, lang=lang, currency=currency)
    audit.record(root, actor, "writeback", table, {
        "url": result.url, "rows": result.rows, "inserted": result.inserted,
        "updated": result.updated, "deleted": result.deleted, "sources": sources})
    return result
