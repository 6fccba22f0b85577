"""The engine interface every backend implements.

Callers hold an :class:`Engine` and use ``engine.con`` (an Ibis backend) for expressions; the
methods here are the parts that are not portable through Ibis alone.
"""

from __future__ import annotations

import abc
import contextlib
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa

from prisme.engine import publish as _pub

#: every open engine by the id of its Ibis backend, so that a helper holding only an
#: expression can find the engine it runs on (see :func:`engine_of`)
_OPEN: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def register(engine: Engine) -> None:
    _OPEN[id(engine.con)] = engine


def engine_of(backend) -> Engine | None:
    """The open :class:`Engine` whose Ibis backend is ``backend``, or None."""
    found = _OPEN.get(id(backend))
    return found if found is not None and found.con is backend else None


@dataclass
class LineLayout:
    """What a pass over a text file's bytes found about its lines, for a CSV reader that
    counts records rather than physical lines (see ``Engine.read_csv_text``). Line numbers
    are physical: 1 + the number of line breaks before the line."""

    #: empty lines (the reader skips them; they are not rows but they are lines)
    blank: Sequence[int] = ()
    #: lines whose line break lies inside a quoted value (the record goes on below)
    breaks: Sequence[int] = ()
    #: records in the file (header and skipped lines included) if every quote is closed;
    #: None when unknown. A reader checks it against what it read before using ``breaks``.
    records: int | None = None
    #: carriage returns not followed by a line feed (old Mac line ends, or a CR mixed into a
    #: CRLF file): a reader that splits lines on LF alone would merge or lose rows
    lone_cr: int = 0
    #: NUL bytes in the text (a damaged file): identifiers are checked for them only then
    nul: int = 0


@dataclass
class PublishUnit:
    """A unit of writing (see ``Engine.publishing``)."""

    changed: bool = True
    version: str | None = None
    note: str | None = None


#: what a reader found wrong with a line it could not turn into a row
REJECT_KINDS = {
    "missing_fields": "fewer fields than the header (expected, found: field counts)",
    "extra_fields": "more fields than the header (expected, found: field counts)",
    "invalid_encoding": "bytes that are not valid in the encoding (expected: the encoding)",
    "unquoted_value": "a quote inside a value that is not quoted, or text after a closing quote",
    "line_too_long": "a line longer than the reader accepts (expected: the limit in bytes)",
    "unreadable": "the reader could not split the line (found: its own words)",
}


@dataclass(frozen=True)
class RejectedLine:
    """A line a reader could not turn into a row, typed: the caller words it for a person
    without parsing any engine's message text."""

    #: the physical line of the file where the record starts
    line: int
    #: one of :data:`REJECT_KINDS`
    kind: str
    #: what the reader expected there (a field count, an encoding, a size)
    expected: int | str | None = None
    #: what it found (a field count, the reader's own words for an unknown problem)
    found: int | str | None = None
    #: the column where the problem is, when the reader knows it
    column: str | None = None
    #: the record's text as read (for the quarantine)
    raw: str = ""

    def __post_init__(self) -> None:
        if self.kind not in REJECT_KINDS:
            raise ValueError(f"unknown reject kind {self.kind!r} ({', '.join(REJECT_KINDS)})")


@dataclass(frozen=True)
class Prepared:
    """A query compiled once and run many times with different values (see
    :meth:`Engine.prepare`): ``expr`` with its ``params`` (``ibis.param`` scalars, in the order
    :meth:`Engine.fetch` takes their values) and, when the backend binds values itself,
    ``sql``, its text with placeholders (None: the expression is compiled at each run)."""

    expr: Any
    params: tuple
    sql: str | None = None


#: the suffixes of a writer's staging tables: built under ``NAME__building`` (or
#: ``NAME__refresh``), then renamed to ``NAME`` in one transaction. They are never part of the
#: warehouse anyone reads: :meth:`Engine.list_tables` and :meth:`Engine.list_views` leave them
#: out (``staging=True`` lists them, for the writer that cleans what a killed one left).
STAGING_SUFFIXES = ("__building", "__refresh")


def is_staging(name: str) -> bool:
    """Whether ``name`` is a writer's staging table (see :data:`STAGING_SUFFIXES`)."""
    return str(name).endswith(STAGING_SUFFIXES)


def visible(names, staging: bool = False) -> list[str]:
    """``names`` less the staging tables (all of them with ``staging``)."""
    return list(names) if staging else [n for n in names if not is_staging(n)]


class EngineError(RuntimeError):
    """The engine could not do what was asked; the message says why."""


class EngineBusy(EngineError):
    """Another process holds the warehouse (a load in progress)."""


class Engine(abc.ABC):
    """An open warehouse. Subclasses implement the abstract parts for one backend."""

    name: str = "abstract"
    con: ibis.BaseBackend

    @property
    def dialect(self):
        """This backend's :class:`~prisme.engine.dialect.Dialect`: its names for the functions
        Ibis does not carry portably, and what it cannot do."""
        from prisme.engine.dialect import dialect_for

        return dialect_for(self.name)

    # ----------------------------------------------------------------- tables
    def table(self, name: str) -> ibis.Table:
        return self.con.table(name)

    def list_views(self, *, staging: bool = False) -> list[str]:
        """The views among :meth:`list_tables` (a backend that cannot tell says none)."""
        return []

    def has_table(self, name: str) -> bool:
        return name in self.list_tables(staging=is_staging(name))

    def list_tables(self, *, staging: bool = False) -> list[str]:
        """The tables and views of the warehouse; a writer's staging tables
        (:data:`STAGING_SUFFIXES`) only with ``staging``."""
        return visible(self.con.list_tables(), staging)

    def create_table(
        self,
        name: str,
        obj: ibis.Table | pd.DataFrame | pa.Table | None = None,
        *,
        schema: ibis.Schema | None = None,
        overwrite: bool = False,
        temp: bool = False,
    ) -> ibis.Table:
        return self.con.create_table(name, obj, schema=schema, overwrite=overwrite, temp=temp)

    def create_lookup_table(self, name: str, expr: ibis.Table, *,
                            text: Sequence[str] = ()) -> ibis.Table:
        """(Re)create ``name`` from ``expr`` for a server that reads it one row at a time (by
        an indexed key): the long ``text`` columns are stored so that one row is read without
        decoding its neighbours (see DuckDB's). The default: :meth:`create_table`."""
        return self.create_table(name, expr, overwrite=True)

    def create_view(self, name: str, expr: ibis.Table, *, overwrite: bool = True) -> ibis.Table:
        return self.con.create_view(name, expr, overwrite=overwrite)

    def insert(self, name: str, obj: ibis.Table | pd.DataFrame | pa.Table) -> None:
        self.con.insert(name, obj)

    def ensure_relations(self, tables: dict[str, ibis.Schema],
                         views: dict[str, ibis.Table]) -> None:
        """Create the tables (empty, with these schemas) and the views (expressions over
        unbound tables named like real ones) that do not exist yet; existing ones are left
        as they are. A backend may batch this (see DuckDB)."""
        existing = set(self.list_tables())
        for name, schema in tables.items():
            if name not in existing:
                self.create_table(name, schema=schema)
        for name, expr in views.items():
            if name not in existing:
                self.con.raw_sql(f'CREATE VIEW "{name}" AS {self.con.compile(expr)}')

    def bound_table(self, name: str, schema: ibis.Schema) -> ibis.Table:
        """A table of this engine whose schema the caller knows (one it created with it):
        no round trip to describe it. The default asks the backend anyway."""
        return self.table(name)

    def drop_table(self, name: str, *, force: bool = True) -> None:
        self.con.drop_table(name, force=force)

    def rename_table(self, old: str, new: str) -> None:
        """Rename a table (swapping a rebuilt mart in, inside a transaction)."""
        self.con.rename_table(old, new)

    def drop_view(self, name: str, *, force: bool = True) -> None:
        self.con.drop_view(name, force=force)

    def create_index(self, table: str, column: str) -> bool:
        """An index on ``table.column`` for point lookups (the 360° card reads one row of a
        million by ``party_id``), where the backend has indexes; returns whether one was
        made. The default makes none: the table is read sorted on the column instead."""
        return False

    def limit_threads(self, threads: int) -> None:
        """Run each query on at most ``threads`` threads (a server's small queries, side by
        side); the default does nothing (an engine that schedules its own work)."""
        return None

    def interrupt(self) -> None:
        """Stop the statement running on this engine from another thread (it raises there);
        the default does nothing."""
        return None

    def prewarm(self, tables: Sequence[str]) -> int:
        """Read every column of ``tables`` once so that the engine's own cache holds them
        (a server's point lookups then find their blocks in memory instead of reading and
        checking them from the file at each new customer); returns how many tables were
        read. The default does nothing (an engine that keeps no such cache)."""
        return 0

    # ---------------------------------------------------------------- results
    def to_pandas(self, expr: ibis.Expr) -> pd.DataFrame:
        """Run an expression and fetch the whole result (never a partial cursor)."""
        return self.con.to_pyarrow(expr).to_pandas()

    def to_arrow(self, expr: ibis.Expr) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def scalar(self, expr: ibis.Expr) -> Any:
        return self.con.execute(expr)

    def memtable(self, data: pd.DataFrame | pa.Table, name: str | None = None) -> ibis.Table:
        return ibis.memtable(data, name=name)

    def prepare(self, expr: ibis.Expr, params: Sequence[Any]) -> Prepared:
        """``expr``, whose ``params`` (``ibis.param`` scalars) get their values at each
        :meth:`fetch`, compiled once where the backend can bind values to a compiled query
        (a point lookup served many times a second: a card, a search). The default compiles
        at each run. The result depends on the tables' schemas only: it serves any engine
        open on the same published state."""
        return Prepared(expr, tuple(params))

    def fetch(self, prepared: Prepared, values: Sequence[Any]) -> list[dict]:
        """Run a :class:`Prepared` query with ``values`` for its params: a small result, as
        one dict a row."""
        bound = dict(zip(prepared.params, values, strict=True))
        return self.con.to_pyarrow(prepared.expr, params=bound).to_pylist()

    # --------------------------------------------------------- non-portable
    # Each backend supplies these (an Engine subclass that lacks one cannot be instantiated).
    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """All or nothing: a failure or a killed process leaves the warehouse as it was."""

    @abc.abstractmethod
    def exclusive(self, what: str = "a load") -> contextlib.AbstractContextManager[None]:
        """An inter-process lock: a second writer waits, then is refused with a message."""

    @abc.abstractmethod
    def read_csv(self, paths: Sequence[str], **options: Any) -> ibis.Table:
        """The backend's own bulk CSV reader."""

    @abc.abstractmethod
    def read_csv_text(self, path: str, table: str, *,
                      layout: LineLayout | Callable[[], LineLayout] | None = None,
                      **options: Any) -> tuple[int, list[RejectedLine]]:
        """Read a CSV file as text into ``table`` with ``__line`` (the physical line where the
        row starts, given the file's ``layout``, or a callable giving it once the read is
        done: it may be computed meanwhile); see the DuckDB backend. Returns the rows read
        and the lines rejected, as :class:`RejectedLine` records."""

    @abc.abstractmethod
    def define_lookup(self, name: str, mapping: dict[str, str]) -> None:
        """Make ``name(key)`` a SQL function returning ``mapping[key]`` (see DuckDB)."""

    @abc.abstractmethod
    def drop_raw(self, table: str) -> None:
        """Drop a reader's temporary text table."""

    @contextlib.contextmanager
    def unordered_writes(self):
        """Inside, an INSERT … SELECT may store its rows in any order (a backend that keeps
        the order of a parallel scan pays for it). For tables whose rows carry their own order
        (``source_line``). The default does nothing."""
        yield

    @contextlib.contextmanager
    def small_group_keys(self, bits: int):
        """Inside, a GROUP BY on integer keys whose ranges together span at most ``bits`` bits
        (item codes of a basket count) may use a direct-address table instead of a hash table.
        The default does nothing."""
        yield

    def register_functions(self, expr: ibis.Expr) -> None:
        """Create in the backend the Python functions (UDFs) ``expr`` calls, so that a view can
        name them before the expression is run. The default does nothing (a backend that
        registers them when a view is created)."""
        return None

    def read_parquet(self, paths: Sequence[str]) -> ibis.Table:
        return self.con.read_parquet(list(paths))

    def read_json(self, paths: Sequence[str]) -> ibis.Table:
        return self.con.read_json(list(paths))

    @abc.abstractmethod
    def splink_api(self) -> Any:
        """A Splink database API on this engine's connection (used by ``prisme.identity``)."""

    # ------------------------------------------------------------ publishing
    #: the pointer of the published state a read-only engine opened (None: the live warehouse)
    published: dict | None = None
    #: why the last :meth:`publish` published nothing (None when it did)
    publish_note: str | None = None

    def warehouse_file(self) -> Path | None:
        """The warehouse's path, the anchor of its published states (``.published/`` beside
        it) and of the writers' lock; None for a throw-away (in-memory) warehouse."""
        path = getattr(self, "path", None)
        return None if path in (None, "", ":memory:") else Path(path)

    def publish(self, what: str = "a load") -> str | None:
        """Make the warehouse's current state the one readers see, at once; returns the new
        version (the token of :func:`prisme.engine.published_version`), or None, with the
        reason in ``publish_note``, when nothing was published: an in-memory warehouse, or a
        build that started and did not finish (its half-built tables must not be seen; the
        next finished build publishes). Call it holding :meth:`exclusive`, outside any
        transaction. The backend decides what a published state is (:meth:`_publish_state`).
        """
        warehouse = self.warehouse_file()
        self.publish_note = None
        if warehouse is None:
            self.publish_note = "an in-memory warehouse is not published"
            return None
        left = _pub.unfinished(warehouse)
        if left is not None:
            self.publish_note = (
                f"not published: {left.get('what', 'a build')} started at {left.get('since')} "
                "did not finish; readers keep the last finished state until a build finishes"
            )
            return None
        return self._publish(warehouse, what)

    def _publish(self, warehouse: Path, what: str) -> str:
        started = time.perf_counter()
        version = _pub.new_version()
        record = {"version": version, "what": what, "published_at": _pub.now_iso(),
                  "file": None, "bytes": None}
        record.update(self._publish_state(warehouse, version))
        record["seconds"] = round(time.perf_counter() - started, 3)
        _pub.write_json_atomic(_pub.pointer_path(warehouse), record)
        _pub.remove_stale(warehouse, keep=record.get("file"))
        return version

    def _publish_state(self, warehouse: Path, version: str) -> dict:
        """Freeze the current state for readers; returns what the pointer records of it
        (``file``: a copy readers open, relative to ``.published/``; ``bytes``).

        The default makes no copy (``file`` None): it suits a backend whose readers can open
        the live warehouse while a writer works and see only committed, whole tables (a
        Spark metastore over Delta or Iceberg tables, whose readers see the last commit of
        each table). Such a backend must still keep a build's tables from being seen one by
        one (write them under versioned names and move one pointer, or one commit); the
        version token moves either way, so a server knows to reopen."""
        return {}

    @contextlib.contextmanager
    def publishing(self, what: str, *, whole: bool = True) -> Iterator[PublishUnit]:
        """A unit of writing whose result readers see at once, when it ends well.

        Before it: if nothing was ever published, the state as it is now is published (so
        readers have the previous state to read while it runs). ``whole`` (a build): while
        it runs the warehouse is marked unfinished; a failure or a kill leaves the mark, and
        nothing is published until a build finishes. Not ``whole`` (loads: each batch is
        atomic on its own, any prefix of them is a consistent state): published at the end
        unless a build was left unfinished. Call it inside :meth:`exclusive`. The unit it
        yields: set ``changed = False`` when nothing was written (no new copy); after it,
        ``version`` and ``note`` say what was published."""
        unit = PublishUnit()
        warehouse = self.warehouse_file()
        if warehouse is None:
            yield unit
            return
        if _pub.current(warehouse) is None and _pub.unfinished(warehouse) is None:
            self._publish(warehouse, f"the state before {what}")
        if whole:
            _pub.mark_unfinished(warehouse, what)
        yield unit
        if whole:
            _pub.clear_unfinished(warehouse)
        if unit.changed:
            unit.version = self.publish(what)
            unit.note = self.publish_note

    def compact(self) -> None:
        """Rewrite the warehouse so that deleted rows leave no bytes behind (GDPR erasure).

        A storage engine keeps deleted data in free blocks and logs until they are reused;
        a backend that can rewrite its storage does so here. The default refuses."""
        raise EngineError(
            f"compacting the warehouse is not available on the {self.name} engine: the erased "
            "rows are deleted from its tables, but its storage must be rewritten by its own "
            "tools (e.g. a table rewrite and a vacuum of old file versions)"
        )

    def purge_published(self) -> list[Path]:
        """Delete the published states other than the current one, even those a reader
        holds (after an erasure); returns what was deleted. A backend that makes no copies
        has nothing to delete."""
        return []

    def sql(self, query: str) -> ibis.Table:
        """A SELECT in the backend's dialect, as an Ibis table (for engine-specific modules)."""
        return self.con.sql(query)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.disconnect()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
