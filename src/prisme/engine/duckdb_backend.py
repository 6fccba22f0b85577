"""The embedded DuckDB backend (the default): one file, ``warehouse.duckdb``, in the project."""

from __future__ import annotations

import bisect
import contextlib
import functools
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.backends.duckdb  # noqa: F401 - loaded with this module, not at the first connect

from prisme.engine import publish as _pub
from prisme.engine.base import (
    Engine,
    EngineBusy,
    EngineError,
    LineLayout,
    Prepared,
    RejectedLine,
    register,
    visible,
)

#: up to this many line shifts (rejected or empty lines) ``__line`` is a CASE on rowid; above,
#: an ASOF join on a table of thresholds (slower: it sorts the rows)
MAX_SHIFT_CASE = 1024
#: the longest line the CSV reader accepts, in bytes
MAX_LINE_SIZE = 16_777_216


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, path: str, settings, *, read_only: bool = False) -> None:
        self.path = path
        self.settings = settings
        self._lock_file = None
        self._held: str | None = None
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if read_only and path != ":memory:":
            self.con = self._open_published(path)
        else:
            self.con = self._open(path, read_only=read_only)
        self.raw = self.con.con  # the duckdb connection, for this module only
        register(self)
        self._configure()

    @staticmethod
    def _open(path: str, *, read_only: bool):
        try:
            return ibis.duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:  # another process holds the file
            raise EngineBusy(
                f"the warehouse {path} is in use by another Prisme process (a load or a build); "
                "wait for it to finish and try again"
            ) from exc

    def _open_published(self, path: str, attempts: int = 100):
        """Open the last published copy of the warehouse read-only (see
        :mod:`prisme.engine.publish`), or the warehouse itself when nothing was published.
        A writer may publish a new copy and delete the old one between our reading the
        pointer and opening the file, or probe the file's lock at that instant: read the
        pointer again and retry."""
        last: Exception | None = None
        for _ in range(attempts):
            pointer = _pub.current(path)
            if pointer is None or not pointer.get("file"):
                return self._open(path, read_only=True)
            target = _pub.directory(path) / pointer["file"]
            try:
                con = ibis.duckdb.connect(str(target), read_only=True)
            except duckdb.Error as exc:
                last = exc
                time.sleep(0.02)
                continue
            self.published = pointer
            self._held = str(target)
            _pub.hold(self._held)
            return con
        raise EngineBusy(f"cannot open the published state of {path}: {last}")

    def close(self) -> None:
        super().close()
        if self._held is not None:
            _pub.release(self._held)
            self._held = None

    def _publish_state(self, warehouse: Path, version: str) -> dict:
        """CHECKPOINT (the file then holds every committed change, the WAL is empty) and
        copy the whole file to ``.published/<stem>-<version>.duckdb``: a temporary name,
        then a rename. The copy is byte for byte (no re-encoding: the fastest way to a
        consistent read-only database; the cost is the file's size at disk speed, see
        bench/RESULTS.md). Readers open it read-only; the writer keeps the lock throughout,
        so nothing changes the file while it is copied."""
        self.execute_sql("CHECKPOINT")
        wal = Path(f"{warehouse}.wal")
        if wal.exists() and wal.stat().st_size:
            raise EngineError(f"cannot publish {warehouse}: its WAL is not empty after CHECKPOINT")
        folder = _pub.directory(warehouse)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{warehouse.stem}-{version}{warehouse.suffix or '.duckdb'}"
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        try:
            shutil.copyfile(warehouse, tmp)
            os.replace(tmp, folder / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return {"file": name, "bytes": (folder / name).stat().st_size}

    def _configure(self) -> None:
        s = self.settings
        self.execute_sql(f"SET memory_limit = '{s.memory_limit}'")
        self.execute_sql(f"SET threads = {int(s.threads)}")
        if s.temp_directory:
            self.execute_sql(f"SET temp_directory = '{s.temp_directory}'")
        # never try to download an extension at run time: the machine may be offline
        with contextlib.suppress(duckdb.Error):
            self.execute_sql("SET autoinstall_known_extensions = false")
            self.execute_sql("SET autoload_known_extensions = true")

    def limit_threads(self, threads: int) -> None:
        self.execute_sql(f"SET threads = {max(1, int(threads))}")

    def interrupt(self) -> None:
        self.raw.interrupt()

    def prewarm(self, tables: Sequence[str]) -> int:
        """DuckDB keeps the blocks a query read in its buffer pool (up to ``memory_limit``)
        while the database is open; a point lookup of a block not yet there reads 256 kB per
        column from the file and verifies its checksum. Hashing each column of each table
        reads every block once (a table the database does not hold is skipped)."""
        have = set(self.list_tables())
        done = 0
        for name in tables:
            if name not in have:
                continue
            cols = [r[0] for r in self.execute_sql(f'DESCRIBE "{name}"')]
            if not cols:
                continue
            sums = ", ".join(f'sum(hash("{c}"))' for c in cols)
            self.execute_sql(f'SELECT {sums} FROM "{name}"')
            done += 1
        return done

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Run a statement and fetch everything (a half-read cursor breaks the next call)."""
        cur = self.raw.execute(sql, params) if params is not None else self.raw.execute(sql)
        try:
            return cur.fetchall()
        except duckdb.Error:
            return []

    def prepare(self, expr: ibis.Expr, params: Sequence[Any]) -> Prepared:
        """Compile ``expr`` once, each param a positional placeholder (``$1``, ``$2``…) that
        DuckDB binds at each :meth:`fetch`: no Ibis compilation per run. Params are strings
        (each is compiled as a unique marker literal, which is then replaced)."""
        import secrets

        params = tuple(params)
        marks = {p: f"prisme_param_{i}_{secrets.token_hex(8)}" for i, p in enumerate(params)}
        for p in params:
            if not p.type().is_string():
                return super().prepare(expr, params)
        sql = str(self.con.compile(expr, params=marks))
        for i, p in enumerate(params):
            quoted = f"'{marks[p]}'"
            if quoted not in sql:  # not referenced as a plain literal: compile at each run
                return super().prepare(expr, params)
            sql = sql.replace(quoted, f"${i + 1}")
        return Prepared(expr, params, sql)

    def fetch(self, prepared: Prepared, values: Sequence[Any]) -> list[dict]:
        if prepared.sql is None:
            return super().fetch(prepared, values)
        cur = self.raw.execute(prepared.sql, list(values))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: a failure or a killed process leaves the warehouse as it was."""
        self.execute_sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.execute_sql("ROLLBACK")
            raise
        else:
            self.execute_sql("COMMIT")

    @contextlib.contextmanager
    def exclusive(self, what: str = "a load") -> Iterator[None]:
        """Inter-process lock beside the warehouse file: a second load waits, then is refused
        (the lock file says who holds it since when: ``prisme status`` reads it)."""
        if self.path == ":memory:":
            yield
            return
        with _pub.file_lock(_pub.lock_path(self.path), what,
                            float(self.settings.lock_timeout_s), busy=EngineBusy):
            yield

    @contextlib.contextmanager
    def unordered_writes(self) -> Iterator[None]:
        """``preserve_insertion_order = false`` for the block: a parallel INSERT need not
        reassemble the scan order (a quarter less time writing 1M validated rows)."""
        before = self.execute_sql("SELECT current_setting('preserve_insertion_order')")[0][0]
        self.execute_sql("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            self.execute_sql(f"SET preserve_insertion_order = {'true' if before else 'false'}")

    @contextlib.contextmanager
    def small_group_keys(self, bits: int) -> Iterator[None]:
        """``perfect_ht_threshold`` raised to ``bits`` (at most 24: a 16M-entry table) for the
        block: DuckDB then aggregates integer keys of known small range by direct address
        (its default stops at 12 bits; 2× on the pair counts of prisme.basket)."""
        before = self.execute_sql("SELECT current_setting('perfect_ht_threshold')")[0][0]
        bits = min(max(int(bits), int(before)), 24)
        self.execute_sql(f"SET perfect_ht_threshold = {bits}")
        try:
            yield
        finally:
            self.execute_sql(f"SET perfect_ht_threshold = {int(before)}")

    def compact(self) -> None:
        """Copy the whole database (tables, views, macros) into a fresh file and swap it in:
        DuckDB keeps deleted rows in free blocks of the file and in its WAL until they are
        overwritten, and a fresh copy holds only the live rows. The caller holds
        :meth:`exclusive`; temporary objects of this connection do not survive."""
        if self.path == ":memory:":
            return
        path = Path(self.path)
        fresh = path.with_name(path.name + ".compact")
        for leftover in (fresh, Path(f"{fresh}.wal")):
            leftover.unlink(missing_ok=True)
        self.execute_sql("CHECKPOINT")
        current = self.execute_sql("SELECT current_database()")[0][0]
        self.execute_sql(f"ATTACH {_lit(str(fresh))} AS prisme_compact")
        try:
            self.execute_sql(f"COPY FROM DATABASE {_ident(current)} TO prisme_compact")
        finally:
            self.execute_sql("DETACH prisme_compact")
        self.close()
        os.replace(fresh, path)
        Path(f"{path}.wal").unlink(missing_ok=True)
        self.con = self._open(str(path), read_only=False)
        self.raw = self.con.con
        register(self)
        self._configure()

    def purge_published(self) -> list[Path]:
        """Delete every published copy but the current one — also those a reader still has
        open (it keeps reading its open file until it reconnects; the bytes leave the file
        system): after an erasure, no copy may keep the erased rows."""
        warehouse = self.warehouse_file()
        if warehouse is None or not _pub.directory(warehouse).exists():
            return []
        keep = (_pub.current(warehouse) or {}).get("file")
        removed = []
        for file in sorted(_pub.directory(warehouse).glob(f"{warehouse.stem}-*")):
            if keep and file.name in (keep, f"{keep}.wal"):
                continue
            file.unlink(missing_ok=True)
            removed.append(file)
        return removed

    def rename_table(self, old: str, new: str) -> None:
        """``ALTER TABLE … RENAME`` (Ibis 12 has no rename for DuckDB); transactional."""
        q = '"' + old.replace('"', '""') + '"'
        self.execute_sql(f'ALTER TABLE {q} RENAME TO "{new.replace(chr(34), chr(34) * 2)}"')

    def create_lookup_table(self, name: str, expr: ibis.Table, *,
                            text: Sequence[str] = ()) -> ibis.Table:
        """DuckDB chooses each segment's compression; for long texts (a customer's card as
        JSON, ~4 kB) it picks ZSTD for some segments, whose rows can only be read by
        decompressing a large block: a point lookup there cost 3.8 ms of CPU on average and
        up to 17 ms, against 1.0 ms uncompressed (400,000 cards of the 1M demo,
        bench/RESULTS.md). The ``text`` columns are declared ``USING COMPRESSION
        uncompressed``; the others keep DuckDB's choice. Rows keep ``expr``'s order."""
        def q(n: str) -> str:
            return '"' + n.replace('"', '""') + '"'

        sql = str(self.con.compile(expr))
        staging = f"{name}__shape"
        self.execute_sql(f"CREATE OR REPLACE TEMP TABLE {q(staging)} AS "
                         f"SELECT * FROM ({sql}) LIMIT 0")
        cols = self.execute_sql(f"DESCRIBE {q(staging)}")
        self.execute_sql(f"DROP TABLE {q(staging)}")
        keep = set(text)
        defs = ", ".join(
            f"{q(c)} {typ}" + (" USING COMPRESSION uncompressed" if c in keep else "")
            for c, typ, *_ in cols)
        # (a build writes it under a staging name and swaps it in: no transaction here)
        self.execute_sql(f"CREATE OR REPLACE TABLE {q(name)} ({defs})")
        self.execute_sql(f"INSERT INTO {q(name)} {sql}")  # the query as is: its ORDER BY
        return self.table(name)

    def create_index(self, table: str, column: str) -> bool:
        """An ART index: a point lookup on the column reads the matching row only, rather
        than the column segments of a whole row group (at 1,000,000 rows, ~2 ms instead of
        ~8 ms for a 60-column row; bench/RESULTS.md). DuckDB cannot rename an indexed
        table: index a table under its final name."""
        def q(name: str) -> str:
            return '"' + name.replace('"', '""') + '"'

        self.execute_sql(f"CREATE INDEX IF NOT EXISTS {q(f'{table}__{column}')} "
                         f"ON {q(table)} ({q(column)})")
        return True

    def list_tables(self, *, staging: bool = False) -> list[str]:
        """Tables and views of the warehouse (and temporary ones), by plain SQL; a writer's
        staging tables only with ``staging`` (see ``base.STAGING_SUFFIXES``).

        Ibis 12's ``list_tables`` calls ``fetch_arrow_table``, which DuckDB 2.0 no longer has.
        """
        rows = self.execute_sql(
            "SELECT DISTINCT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() OR table_catalog = 'temp' ORDER BY 1"
        )
        return visible((r[0] for r in rows), staging)

    def list_views(self, *, staging: bool = False) -> list[str]:
        """Views of the warehouse (and temporary ones)."""
        return visible((r[0] for r in self.execute_sql(
            "SELECT DISTINCT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")),
            staging)

    def ensure_relations(self, tables: dict[str, ibis.Schema],
                         views: dict[str, ibis.Table]) -> None:
        """One catalog query; then, if anything is missing, one batch of ``CREATE`` statements
        (a fresh warehouse: a dozen tables and views in a few milliseconds, where creating
        them one by one through Ibis costs a tenth of a second)."""
        existing = {r[0] for r in self.execute_sql(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema() UNION ALL SELECT view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND schema_name = current_schema()"
        )}
        statements = [_create_table_sql(name, schema) for name, schema in tables.items()
                      if name not in existing]
        statements += [f"CREATE VIEW IF NOT EXISTS {_ident(name)} AS "
                       f"{ibis.to_sql(expr, dialect='duckdb')}"
                       for name, expr in views.items() if name not in existing]
        if statements:
            self.execute_sql(";\n".join(statements))

    def bound_table(self, name: str, schema: ibis.Schema) -> ibis.Table:
        """The table ``name`` with the schema the caller gives (it created the table with it),
        without ``DESCRIBE`` and the parsing of every column type that follows (a few
        milliseconds a table: they add up over the small queries of a load)."""
        import ibis.expr.operations as ops

        return ops.DatabaseTable(name, schema=_as_described(schema), source=self.con,
                                 namespace=ops.Namespace(catalog=None, database=None)).to_expr()

    def read_csv(self, paths: Sequence[str], **options: Any) -> ibis.Table:
        """DuckDB's own CSV reader (the fastest path); options are read_csv's."""
        try:
            return self.con.read_csv(list(paths), **options)
        except duckdb.Error as exc:
            raise EngineError(f"cannot read {', '.join(map(str, paths))}: {exc}") from exc

    def register_functions(self, expr: ibis.Expr) -> None:
        """Python UDFs (phone numbers) must exist before a view can name them; Ibis registers
        them on execution only, so do it here — unless they are already in the catalog: DuckDB
        forgets a function created inside a transaction that rolls back while its Python side
        keeps the name (it then refuses both to create and to remove it), so a caller creates
        them before a load's transaction (see ``prisme.ingest.validate.prepare``) and they are
        never re-created inside it."""
        import ibis.expr.operations as ops
        from ibis.expr.operations.udf import InputType

        names = {type(node).__name__ for node in expr.op().find(ops.ScalarUDF)
                 if node.__input_type__ is not InputType.BUILTIN}
        if not names:
            return
        known = {r[0] for r in self.execute_sql(
            "select distinct function_name from duckdb_functions() where function_name in "
            f"({', '.join('?' for _ in names)})", sorted(names))}
        if names <= known:
            return
        self.con._register_udfs(expr)

    def splink_api(self):
        """A Splink ``DuckDBAPI`` on this warehouse's connection (identity resolution).

        Splink runs its SQL on the same DuckDB connection, so its memory limit and thread count
        are the engine's. Results must be fetched fully before the next statement.
        """
        from splink import DuckDBAPI

        return DuckDBAPI(connection=self.raw)

    # ------------------------------------------------------------ raw readers
    def read_csv_text(
        self,
        path: str,
        table: str,
        *,
        delim: str,
        quote: str = '"',
        escape: str = '"',
        header: bool = True,
        skip: int = 0,
        compression: str = "auto",
        layout: LineLayout | Callable[[], LineLayout] | None = None,
        columns: Sequence[str] | None = None,
    ) -> tuple[int, list[RejectedLine]]:
        """Read a CSV file, every column as text, into the temp view ``table`` with ``__line``.

        DuckDB's reader does the work (parallel, streaming). Lines it cannot split (too few or
        too many fields, bytes invalid in UTF-8, a stray quote) do not stop the read: they come
        back as :class:`~prisme.engine.base.RejectedLine` records and the rest loads.
        ``__line`` (and a reject's ``line``) is the physical line in the file where the row
        starts (header = ``skip + 1``). DuckDB numbers records, plus the empty lines it skips;
        ``layout`` (see :class:`~prisme.engine.base.LineLayout`; a callable is called after
        the read, so that the caller can scan the file meanwhile) gives the empty lines and
        the line breaks inside quoted values, which turn record numbers into physical lines.
        When the layout's record count disagrees with what DuckDB read (a stray quote the
        byte scan took for an opening one), its breaks are ignored and a quoted value
        spanning lines counts as one line, as DuckDB counts. The data sit in
        ``{table}__data``; the view adds ``__line`` from the row order (insertion order is
        preserved) and those shifts. With ``columns`` (the header as the caller read it)
        DuckDB's dialect sniffer is off: it can give up on a small, ragged file. Returns
        (rows accepted, rejects).
        """
        data, rej, scan, thr = (f"{table}__data", f"{table}__rej", f"{table}__scan",
                                f"{table}__thr")
        first_line = skip + (2 if header else 1)
        opts = {
            "all_varchar": "true",
            "header": "true" if header else "false",
            "delim": _lit(delim),
            "quote": _lit(quote),
            "escape": _lit(escape),
            "skip": str(int(skip)),
            "compression": _lit(compression),
            "strict_mode": "true",
            "null_padding": "false",
            "store_rejects": "true",
            "rejects_table": _lit(rej),
            "rejects_scan": _lit(scan),
            "max_line_size": str(MAX_LINE_SIZE),
        }
        if columns is not None:
            struct = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in columns)
            opts.update({"auto_detect": "false", "columns": "{" + struct + "}"})
            del opts["all_varchar"]
        args = ", ".join(f"{k}={v}" for k, v in opts.items())
        try:
            self.drop_raw(table)
            for name in (rej, scan):
                self.execute_sql(f'DROP TABLE IF EXISTS "{name}"')
            self.execute_sql(
                f'CREATE TEMP TABLE "{data}" AS SELECT * FROM read_csv({_lit(path)}, {args})'
            )
            rows = self.execute_sql(f'SELECT count(*) FROM "{data}"')[0][0]
            found = self.execute_sql(
                f'SELECT line, column_name, error_type, csv_line, error_message FROM "{rej}" '
                "ORDER BY line"
            )
        except duckdb.Error as exc:
            raise EngineError(f"cannot read {path}: {exc}") from exc
        finally:
            self.execute_sql(f'DROP TABLE IF EXISTS "{scan}"')
        self.execute_sql(f'DROP TABLE IF EXISTS "{rej}"')
        rejected = sorted({int(r[0]) for r in found})
        given = layout() if callable(layout) else (layout or LineLayout())
        # records DuckDB saw: rows, rejected records, header and skipped lines (less the
        # empty ones among those, which the layout does not count as records either)
        records = int(rows) + len(rejected) + first_line - 1 - len(
            [b for b in given.blank if b < first_line])
        numbering = _Numbering(given, first_line, trust_breaks=given.records == records)
        thresholds = numbering.thresholds(rejected)
        rejects = [_rejected(numbering.physical(int(line)), column, kind, raw, message)
                   for line, column, kind, raw, message in found]
        if not thresholds:
            self.execute_sql(
                f'CREATE TEMP VIEW "{table}" AS SELECT *, rowid + {first_line} AS "__line" '
                f'FROM "{data}"'
            )
            return int(rows), rejects
        if len(thresholds) <= MAX_SHIFT_CASE:
            # a balanced CASE on rowid: the scan stays a streaming scan (an ASOF join sorts
            # every column of the table, every time the view is read)
            shift = _shift_case(thresholds)
            self.execute_sql(
                f'CREATE TEMP VIEW "{table}" AS SELECT *, rowid + {first_line} + {shift} '
                f'AS "__line" FROM "{data}"'
            )
            return int(rows), rejects
        self.execute_sql(f'CREATE TEMP TABLE "{thr}" (t BIGINT, n BIGINT)')
        self.raw.executemany(f'INSERT INTO "{thr}" VALUES (?, ?)', thresholds)
        self.execute_sql(
            f'CREATE TEMP VIEW "{table}" AS SELECT d.*, '
            f'd.rowid + {first_line} + coalesce(k.n, 0) AS "__line" '
            f'FROM "{data}" d ASOF LEFT JOIN '
            f'(SELECT t, max(n) AS n FROM "{thr}" GROUP BY t) k ON d.rowid >= k.t'
        )
        return int(rows), rejects

    def define_lookup(self, name: str, mapping: dict[str, str]) -> None:
        """Make ``name(key)`` a function of this connection returning ``mapping[key]`` (NULL
        when absent): a temp table and a macro, so that a query using it stays small and the
        lookup runs as a hash join (1M rows in a fraction of a second)."""
        # asked of the catalog each time: a rolled-back transaction may have undone it
        present = self.execute_sql(
            "SELECT (SELECT count(*) FROM duckdb_functions() WHERE function_name = ?) + "
            "(SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?)",
            [name, f"{name}__map"],
        )[0][0]
        if present >= 2:
            return
        import pyarrow as pa

        table = f"{name}__map"
        pairs = pa.table({"k": list(mapping), "v": list(mapping.values())})
        self.raw.register(f"{table}__in", pairs)
        try:
            self.execute_sql(f'CREATE OR REPLACE TEMP TABLE "{table}" AS '
                             f'SELECT k::VARCHAR AS k, v::VARCHAR AS v FROM "{table}__in"')
        finally:
            self.raw.unregister(f"{table}__in")
        self.execute_sql(f'CREATE OR REPLACE TEMP MACRO "{name}"(x) AS '
                         f'(SELECT v FROM "{table}" WHERE k = x)')

    def drop_raw(self, table: str) -> None:
        """Drop a raw input (view or temp table) and what :meth:`read_csv_text` made for it."""
        kinds = dict(self.execute_sql(
            "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary "
            "UNION ALL SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary"
        ))
        for name in (table, f"{table}__data", f"{table}__thr"):
            if name in kinds:
                self.execute_sql(f'DROP {kinds[name]} "{name}"')


#: DuckDB's ``error_type`` of a rejected line → the kind of :class:`RejectedLine`
_REJECT_KINDS = {
    "MISSING COLUMNS": "missing_fields",
    "TOO MANY COLUMNS": "extra_fields",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
    "UNQUOTED VALUE": "unquoted_value",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}
_COLUMN_COUNTS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _rejected(line: int, column, kind: str, raw, message) -> RejectedLine:
    """One row of DuckDB's rejects table as a typed record (DuckDB's message text is read
    here, and only here)."""
    typed = _REJECT_KINDS.get(kind, "unreadable")
    expected = found = None
    if typed in ("missing_fields", "extra_fields"):
        m = _COLUMN_COUNTS.search(message or "")
        if m:
            expected, found = int(m.group(1)), int(m.group(2))
        else:
            typed, found = "unreadable", message
    elif typed == "invalid_encoding":
        expected = "utf-8"
    elif typed == "line_too_long":
        expected = MAX_LINE_SIZE
    elif typed == "unreadable":
        found = f"{kind.lower() if kind else 'unreadable line'}: {message or ''}".strip(": ")
    return RejectedLine(line=line, kind=typed, expected=expected, found=found,
                        column=column, raw=(raw or "").strip("\r\n"))


class _Numbering:
    """From DuckDB's line numbers (records, plus the empty lines it skipped) to physical
    lines, and the shifts that turn a row's position (rowid) into its physical line."""

    def __init__(self, layout: LineLayout, first_line: int, *, trust_breaks: bool) -> None:
        self.first_line = first_line
        breaks = sorted(layout.breaks) if trust_breaks else []
        inside = set(breaks)
        # an empty line inside a quoted value is part of that value, not a skipped line
        blank = [b for b in layout.blank if b - 1 not in inside] if breaks else \
            list(layout.blank)
        # DuckDB's number of an empty line: its physical line less the breaks above it
        self.blank = sorted({b - bisect.bisect_left(breaks, b) for b in blank})
        # the DuckDB line number of the record holding each break (one entry per break)
        self.break_records = [k - j for j, k in enumerate(breaks)]

    def physical(self, line: int) -> int:
        """DuckDB's number of a record → the physical line where it starts."""
        return line + bisect.bisect_left(self.break_records, line)

    def thresholds(self, rejected: Sequence[int]) -> list[tuple[int, int]]:
        """(first rowid shifted, total shift from there), sorted, merged: every line that is
        not a row (a rejected record, in DuckDB's numbers; an empty line) and every line
        break inside a quoted value shifts the rows after it by one."""
        first = self.first_line
        gaps = sorted(set(rejected) | {b for b in self.blank if b >= first})
        steps = [ln - first - j for j, ln in enumerate(gaps)]
        for rec in self.break_records:
            if rec + 1 >= first:  # rows whose DuckDB number is above rec
                steps.append(rec + 1 - first - bisect.bisect_left(gaps, rec + 1))
        steps.sort()
        out: dict[int, int] = {}
        for n, t in enumerate(steps, start=1):
            out[max(t, 0)] = n
        return sorted(out.items())


def _shift_case(thresholds: Sequence[tuple[int, int]]) -> str:
    """SQL for "how many lines to add to row ``rowid``": ``thresholds`` are (first rowid
    shifted, total shift from there), sorted; a balanced tree of CASEs, so a row walks
    log2(len) comparisons."""
    # several thresholds may share a rowid (consecutive rejected lines): keep the largest shift
    merged: dict[int, int] = {}
    for t, n in thresholds:
        merged[t] = max(n, merged.get(t, 0))
    points = sorted(merged.items())

    def tree(lo: int, hi: int) -> str:  # shift for rowids in segment lo..hi (0 = before all)
        if lo == hi:
            return str(points[lo - 1][1]) if lo else "0"
        mid = (lo + hi + 1) // 2
        return (f"CASE WHEN rowid >= {int(points[mid - 1][0])} THEN {tree(mid, hi)} "
                f"ELSE {tree(lo, mid - 1)} END")

    return tree(0, len(points))


@functools.lru_cache(maxsize=64)
def _as_described(schema: ibis.Schema) -> ibis.Schema:
    """The schema as ``DESCRIBE`` would give it back for a table created with it (DuckDB's
    ``TIMESTAMP`` reads back as a timestamp of scale 6, for instance): the round trip through
    DuckDB's type names, once per schema."""
    mapper = ibis.backends.duckdb.Backend.compiler.type_mapper
    return ibis.schema({
        col: mapper.from_string(mapper.from_ibis(dtype).sql("duckdb"), nullable=dtype.nullable)
        for col, dtype in schema.items()
    })


def _create_table_sql(name: str, schema: ibis.Schema) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with the DuckDB types Ibis would give the schema."""
    mapper = ibis.backends.duckdb.Backend.compiler.type_mapper
    cols = ", ".join(
        f"{_ident(col)} {mapper.from_ibis(dtype).sql('duckdb')}"
        + ("" if dtype.nullable else " NOT NULL")
        for col, dtype in schema.items()
    )
    return f"CREATE TABLE IF NOT EXISTS {_ident(name)} ({cols})"


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
