"""The embedded DuckDB backend (the default): one file, ``warehouse.duckdb``, in the project."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import ibis

from prisme.engine.base import Engine, EngineBusy, EngineError, register


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, path: str, settings, *, read_only: bool = False) -> None:
        self.path = path
        self.settings = settings
        self._lock_file = None
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = ibis.duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:  # another process holds the file
            raise EngineBusy(
                f"the warehouse {path} is in use by another Prisme process (a load or a build); "
                "wait for it to finish and try again"
            ) from exc
        self.raw = self.con.con  # the duckdb connection, for this module only
        register(self)
        self._configure()

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

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Run a statement and fetch everything (a half-read cursor breaks the next call)."""
        cur = self.raw.execute(sql, params) if params is not None else self.raw.execute(sql)
        try:
            return cur.fetchall()
        except duckdb.Error:
            return []

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
        """Inter-process lock beside the warehouse file: a second load waits, then is refused."""
        if self.path == ":memory:":
            yield
            return
        lock_path = Path(self.path).with_suffix(".lock")
        fh = open(lock_path, "a+")
        deadline = time.monotonic() + float(self.settings.lock_timeout_s)
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.close()
                    raise EngineBusy(
                        f"{what} is refused: another load holds {lock_path} "
                        f"(waited {self.settings.lock_timeout_s:.0f}s)"
                    ) from None
                time.sleep(0.2)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()

    def rename_table(self, old: str, new: str) -> None:
        """``ALTER TABLE … RENAME`` (Ibis 12 has no rename for DuckDB); transactional."""
        q = '"' + old.replace('"', '""') + '"'
        self.execute_sql(f'ALTER TABLE {q} RENAME TO "{new.replace(chr(34), chr(34) * 2)}"')

    def list_tables(self) -> list[str]:
        """Tables and views of the warehouse (and temporary ones), by plain SQL.

        Ibis 12's ``list_tables`` calls ``fetch_arrow_table``, which DuckDB 2.0 no longer has.
        """
        rows = self.execute_sql(
            "SELECT DISTINCT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() OR table_catalog = 'temp' ORDER BY 1"
        )
        return [r[0] for r in rows]

    def read_csv(self, paths: Sequence[str], **options: Any) -> ibis.Table:
        """DuckDB's own CSV reader (the fastest path); options are read_csv's."""
        try:
            return self.con.read_csv(list(paths), **options)
        except duckdb.Error as exc:
            raise EngineError(f"cannot read {', '.join(map(str, paths))}: {exc}") from exc

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
        blank_lines: Sequence[int] = (),
        columns: Sequence[str] | None = None,
    ) -> tuple[int, list[dict]]:
        """Read a CSV file, every column as text, into the temp view ``table`` with ``__line``.

        DuckDB's reader does the work (parallel, streaming). Lines it cannot split (too few or
        too many fields, bytes invalid in UTF-8, a stray quote) do not stop the read: they come
        back as rejects ``{line, column, error_type, csv_line, message}`` and the rest loads.
        ``__line`` is the line number in the file (header = ``skip + 1``), counted as DuckDB
        counts lines: a quoted value spanning lines counts as one line. The data sit in
        ``{table}__data``; the view adds ``__line`` from the row order (insertion order is
        preserved), the reject positions and ``blank_lines`` (line numbers of empty lines,
        which DuckDB skips but counts). With ``columns`` (the header as the caller read it)
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
            "max_line_size": "16777216",
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
        rejects = [
            {"line": int(line), "column": column, "error_type": kind,
             "csv_line": (raw or "").strip("\r\n"), "message": message}
            for line, column, kind, raw, message in found
        ]
        # every line that is not a row shifts the rows after it
        lines = sorted({r["line"] for r in rejects} | {b for b in blank_lines if b >= first_line})
        if not lines:
            self.execute_sql(
                f'CREATE TEMP VIEW "{table}" AS SELECT *, rowid + {first_line} AS "__line" '
                f'FROM "{data}"'
            )
            return int(rows), rejects
        # accepted row i sits after every rejected line j whose accepted-rows-before
        # (line_j - first_line - j) is <= i: shift it by that many lines
        thresholds = [(ln - first_line - j, j + 1) for j, ln in enumerate(lines)]
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


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
