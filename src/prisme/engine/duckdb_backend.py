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

from prisme.engine.base import Engine, EngineBusy, EngineError


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

    def read_csv(self, paths: Sequence[str], **options: Any) -> ibis.Table:
        """DuckDB's own CSV reader (the fastest path); options are read_csv's."""
        try:
            return self.con.read_csv(list(paths), **options)
        except duckdb.Error as exc:
            raise EngineError(f"cannot read {', '.join(map(str, paths))}: {exc}") from exc
