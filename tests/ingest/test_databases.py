"""Database sources against the real local servers: PostgreSQL and MariaDB.

Each test creates its own schema / database with a unique name, a customers table with an
``updated_at`` watermark, reads it, adds and updates rows, reads again incrementally (only the
new and changed rows come), and drops what it created.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pymysql
import pytest

from prisme.config import SourceSettings
from prisme.ingest.databases import DatabaseError, extract_sql, quote_ident, safe_url
from prisme.ingest.readers import open_source

pytestmark = pytest.mark.db

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MY_HOST = dict(host="127.0.0.1", port=3306, user="root", password="")

FIRST = [
    (1, "Zoé", "Lefèvre", "zoe@example.fr", "1980-04-02", "120.50", "2024-01-01 10:00:00"),
    (2, "John", "Smith", None, None, "0", "2024-01-02 11:30:00"),
    (3, "Anaïs", "Dubois-Martin", "anais@example.fr", "1975-12-31", "99.99",
     "2024-01-03 09:15:00"),
]


@pytest.fixture
def pg_schema():
    schema = f"prisme_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                         autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(
            f"CREATE TABLE {schema}.customers (id int primary key, first_name text, "
            "last_name text, email text, birth_date date, balance numeric(10,2), "
            "updated_at timestamp)"
        )
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO {schema}.customers VALUES (%s,%s,%s,%s,%s,%s,%s)",
                            FIRST)
    yield schema
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                         autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def my_database():
    db = f"prisme_t_{uuid.uuid4().hex[:10]}"
    con = pymysql.connect(**MY_HOST, autocommit=True, charset="utf8mb4")
    with con.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db} CHARACTER SET utf8mb4")
        cur.execute(
            f"CREATE TABLE {db}.customers (id int primary key, first_name varchar(50), "
            "last_name varchar(50), email varchar(100), birth_date date, "
            "balance decimal(10,2), updated_at datetime)"
        )
        cur.executemany(f"INSERT INTO {db}.customers VALUES (%s,%s,%s,%s,%s,%s,%s)", FIRST)
    yield db
    with con.cursor() as cur:
        cur.execute(f"DROP DATABASE {db}")
    con.close()


def _pg_exec(sql: str, params=None) -> None:
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                         autocommit=True) as con:
        con.execute(sql, params)


def _my_exec(sql: str, params=None) -> None:
    con = pymysql.connect(**MY_HOST, autocommit=True, charset="utf8mb4")
    with con.cursor() as cur:
        cur.execute(sql, params)
    con.close()


def _rows(engine, raw) -> list[dict]:
    df = engine.to_pandas(raw.table.order_by("__line"))
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _check_full_then_incremental(engine, source: SourceSettings, execute, table: str):
    raw = next(open_source(engine, "crm", source, Path(".")))
    assert raw.rows_read == 3
    assert raw.rejects == []
    rows = _rows(engine, raw)
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert [r["__line"] for r in rows] == [1, 2, 3]
    assert rows[0]["first_name"] == "Zoé" and rows[2]["last_name"] == "Dubois-Martin"
    assert rows[0]["birth_date"] == "1980-04-02"
    assert rows[0]["balance"] == "120.50"
    assert rows[1]["email"] is None  # NULL stays NULL, not 'None'
    assert rows[0]["updated_at"] == "2024-01-01 10:00:00"
    assert raw.watermark == "2024-01-03 09:15:00"
    assert raw.fmt["decimal"] == "."
    assert "password" not in raw.file_name

    # a new customer and a changed one: only these two come in the next load
    execute(f"INSERT INTO {table} VALUES (4, 'Éloïse', 'Martin', 'e@x.fr', NULL, '5.00', "
            "'2024-02-01 08:00:00')")
    execute(f"UPDATE {table} SET email = 'john.smith@example.com', "
            "updated_at = '2024-02-02 12:00:00' WHERE id = 2")
    again = next(open_source(engine, "crm", source, Path("."), since_watermark=raw.watermark))
    rows = _rows(engine, again)
    assert [r["id"] for r in rows] == ["4", "2"]  # in watermark order
    assert rows[1]["email"] == "john.smith@example.com"
    assert again.rows_read == 2
    assert again.watermark == "2024-02-02 12:00:00"
    assert again.sha256 != raw.sha256

    # nothing changed since: an empty extract that keeps the watermark
    empty = next(open_source(engine, "crm", source, Path("."), since_watermark=again.watermark))
    assert empty.rows_read == 0
    assert engine.scalar(empty.table.count()) == 0
    assert empty.watermark == again.watermark
    assert "id" in empty.table.columns


def test_postgresql_table_full_then_incremental(engine, pg_schema):
    source = SourceSettings(entity="customer", url=PG_URL, table=f"{pg_schema}.customers",
                            watermark="updated_at")
    _check_full_then_incremental(engine, source, _pg_exec, f"{pg_schema}.customers")


def test_mariadb_table_full_then_incremental(engine, my_database):
    url = f"mysql://root@127.0.0.1:3306/{my_database}"
    source = SourceSettings(entity="customer", url=url, table="customers",
                            watermark="updated_at")
    _check_full_then_incremental(engine, source, _my_exec, f"{my_database}.customers")


def test_postgresql_query_source(engine, pg_schema):
    source = SourceSettings(
        entity="customer", url=PG_URL,
        query=f"SELECT id, upper(last_name) AS nom, updated_at FROM {pg_schema}.customers "
              "WHERE balance > 50",
        watermark="updated_at",
    )
    raw = next(open_source(engine, "crm", source, Path(".")))
    rows = _rows(engine, raw)
    assert [(r["id"], r["nom"]) for r in rows] == [("3", "DUBOIS-MARTIN"), ("1", "LEFÈVRE")] \
        or [(r["id"], r["nom"]) for r in rows] == [("1", "LEFÈVRE"), ("3", "DUBOIS-MARTIN")]
    assert raw.rows_read == 2
    assert raw.watermark == "2024-01-03 09:15:00"


def test_missing_watermark_column_is_named(engine, pg_schema):
    source = SourceSettings(entity="customer", url=PG_URL, table=f"{pg_schema}.customers",
                            watermark="modified_on")
    with pytest.raises(DatabaseError, match="modified_on"):
        next(open_source(engine, "crm", source, Path(".")))


def test_unreachable_server_says_which():
    source = SourceSettings(entity="customer", url="postgresql://u:secret@127.0.0.1:1/db",
                            table="t")
    from prisme import engine as engine_mod

    with engine_mod.connect() as eng, pytest.raises(DatabaseError) as err:
        next(open_source(eng, "crm", source, Path(".")))
    assert "127.0.0.1:1" in str(err.value) and "secret" not in str(err.value)


def test_identifiers_are_quoted_and_checked():
    assert quote_ident("sales.customers", "postgresql") == '"sales"."customers"'
    assert quote_ident("customers", "mysql") == "`customers`"
    with pytest.raises(DatabaseError):
        quote_ident("customers; DROP TABLE x", "postgresql")
    sql, params = extract_sql(
        SourceSettings(entity="customer", url=PG_URL, table="c", watermark="updated_at"),
        "postgresql", "2024-01-01 00:00:00",
    )
    assert "WHERE \"updated_at\" > %s" in sql and params == ["2024-01-01 00:00:00"]
    assert safe_url("postgresql://bob:pw@db.example:5433/crm") == "postgresql://db.example:5433/crm"
