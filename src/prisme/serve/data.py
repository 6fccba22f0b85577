"""How the application reaches the warehouse: published state, engines, and the one reader.

:class:`Warehouse` hands out read-only engines on the last published state of the warehouse
(``prisme.engine.connect(settings, read_only=True)``) and reopens them when a build publishes
a new one (``prisme.engine.published_version``). Every page, API route and cube query reads
through a :class:`Reader`, which applies :func:`prisme.access.rights.restrict` to every table
it gives out — row-level security lives there and nowhere else.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator

import ibis
import pandas as pd

from prisme import engine as engine_mod
from prisme.access.rights import restrict
from prisme.access.users import User


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be opened right now (shown as a 503 with the reason)."""


class NotBuilt(WarehouseUnavailable):
    """A table the request needs is not in the warehouse yet (run ``prisme build``)."""


def _published_version(settings) -> str | None:
    fn = getattr(engine_mod, "published_version", None)
    if fn is None:
        return None
    try:
        return str(fn(settings))
    except Exception:  # noqa: BLE001 - no published state yet
        return None


class Warehouse:
    """Read-only engines over the last published state, pooled per published version.

    When the engine layer publishes versions, up to ``pool_size`` engines are kept open per
    version and closed once a newer version is served. Without it, each request opens the
    warehouse read-only and closes it afterwards (holding it open would block a build).
    """

    def __init__(self, settings, pool_size: int = 4) -> None:
        self.settings = settings
        self.pool_size = pool_size
        self._lock = threading.Lock()
        self._version: str | None = None
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._opened = 0
        self._stale: list = []
        #: small results (cube answers, KPI tiles) by (version, scope, question)
        self._cache: OrderedDict = OrderedDict()
        self.cache_size = 512
        #: the published version whose per-customer marts were read into the engine's cache
        #: (``None``: not yet, or in progress); see :meth:`_prewarm`
        self.warm: str | None = None
        self._warming: str | None = None
        self._prewarm_thread: threading.Thread | None = None
        self._prewarm_engine = None
        _WAREHOUSES.add(self)

    @property
    def publishes(self) -> bool:
        return hasattr(engine_mod, "published_version")

    def version(self) -> str:
        v = _published_version(self.settings)
        if v is not None:
            return v
        path = self.settings.warehouse_path
        parts = []
        for p in (path, str(path) + ".wal"):
            with contextlib.suppress(OSError):
                st = os.stat(p)
                parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        return "file:" + "|".join(parts)

    def _open(self):
        if not os.path.exists(self.settings.warehouse_path):
            raise WarehouseUnavailable(
                f"no warehouse at {self.settings.warehouse_path} yet: run prisme ingest and "
                "prisme build first")
        try:
            eng = engine_mod.connect(self.settings, read_only=True)
        except engine_mod.EngineError as exc:
            raise WarehouseUnavailable(str(exc)) from exc
        except Exception as exc:  # duckdb's IO errors when the file does not exist yet
            if not os.path.exists(self.settings.warehouse_path):
                raise WarehouseUnavailable(
                    f"no warehouse at {self.settings.warehouse_path}; run prisme ingest and "
                    "prisme build first") from exc
            raise WarehouseUnavailable(str(exc)) from exc
        threads = getattr(self.settings.engine, "serve_threads", None)
        if threads:
            eng.limit_threads(threads)
        return eng

    @contextlib.contextmanager
    def engine(self) -> Iterator[tuple[object, str]]:
        """An engine on the published state, and that state's version."""
        version = self.version()
        if not self.publishes or version == "unpublished":
            # nothing published yet: a read-only engine opens the live file, and holding it
            # open would keep a writer out; open it for this request only
            eng = self._open()
            try:
                yield eng, version
            finally:
                eng.close()
            return
        eng = self._checkout(version)
        try:
            yield eng, version
        finally:
            self._checkin(eng, version)

    def _checkout(self, version: str):
        with self._lock:
            if version != self._version:
                while not self._idle.empty():
                    self._idle.get_nowait()[0].close()
                self._version = version
                self._opened = 0
                self._cache.clear()
                self._start_prewarm(version)
            try:
                eng, _ = self._idle.get_nowait()
                return eng
            except queue.Empty:
                pass
            if self._opened < self.pool_size:
                self._opened += 1
                grow = True
            else:
                grow = False
        if grow:
            try:
                return self._open()
            except BaseException:
                with self._lock:
                    self._opened -= 1
                raise
        eng, _ = self._idle.get(timeout=60)
        return eng

    def start(self) -> None:
        """Open the published state now (a server's start), which starts its warm-up; a
        warehouse that cannot be opened yet is left for the first request to report."""
        with contextlib.suppress(Exception):
            with self.engine():
                pass

    def is_warm(self) -> bool:
        """Whether the per-customer marts of the version being served are in the cache."""
        with self._lock:
            return self.warm is not None and self.warm == self._version

    #: the marts a request reads one customer's row of (random rows of large tables)
    PREWARM = ("mart_card", "mart_search")

    def _start_prewarm(self, version: str) -> None:
        """In a background thread, read :data:`PREWARM` of ``version`` into the engine's cache
        (``[engine] serve_prewarm``); requests are served meanwhile, from the file."""
        if not getattr(self.settings.engine, "serve_prewarm", True) or \
                self._warming == version:
            return
        self._warming = version
        self._prewarm_thread = threading.Thread(target=self._prewarm, args=(version,),
                                                daemon=True, name="prisme-prewarm")
        self._prewarm_thread.start()

    def stop_prewarm(self) -> None:
        """Interrupt a warm-up still running and wait for its thread (a server stopping, or
        the interpreter exiting: a native query must not be running then)."""
        thread, eng = self._prewarm_thread, self._prewarm_engine
        if thread is None or not thread.is_alive():
            return
        if eng is not None:
            with contextlib.suppress(Exception):
                eng.interrupt()
        thread.join(timeout=30)

    def _prewarm(self, version: str) -> None:
        try:
            eng = self._checkout(version)
        except Exception:  # noqa: BLE001 - nothing to warm (no warehouse yet): serve cold
            return
        self._prewarm_engine = eng
        try:
            eng.prewarm(self.PREWARM)
            with self._lock:
                if self._version == version:
                    self.warm = version
        except Exception:  # noqa: BLE001 - a cache warm-up never fails a server
            pass
        finally:
            self._prewarm_engine = None
            self._checkin(eng, version)

    def _checkin(self, eng, version: str) -> None:
        with self._lock:
            if version == self._version:
                self._idle.put((eng, version))
                return
        eng.close()

    def cached(self, key, compute):
        if self.cache_size <= 0:
            return compute()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return value

    def close(self) -> None:
        self.stop_prewarm()
        with self._lock:
            while not self._idle.empty():
                self._idle.get_nowait()[0].close()
            self._opened = 0


#: the open warehouses, whose warm-ups are stopped before the interpreter exits
_WAREHOUSES: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_prewarms() -> None:
    for w in list(_WAREHOUSES):
        w.stop_prewarm()


class Reader:
    """One request's view of the warehouse, as ``user`` may see it.

    :meth:`table` is the only way to a table: it applies the row-level security of
    :func:`prisme.access.rights.restrict`.
    """

    def __init__(self, engine, user: User, version: str, warehouse: Warehouse | None = None):
        self.engine = engine
        self.user = user
        self.version = version
        self.warehouse = warehouse
        # what a pooled engine learnt of its (immutable, published) state stays with it:
        # the table list and the bound tables, so a request does not DESCRIBE them again
        memo = getattr(engine, "_serve_memo", None)
        if memo is None or memo.get("version") != version:
            memo = {"version": version, "tables": None, "raw": {}}
            if warehouse is not None and warehouse.publishes and version != "unpublished":
                engine._serve_memo = memo
        self._memo = memo
        self._raw: dict[str, ibis.Table] = memo["raw"]

    # ------------------------------------------------------------------ tables
    def has(self, name: str) -> bool:
        if self._memo["tables"] is None:
            self._memo["tables"] = frozenset(self.engine.list_tables())
        return name in self._memo["tables"]

    def _raw_table(self, name: str) -> ibis.Table:
        if name not in self._raw:
            self._raw[name] = self.engine.table(name)
        return self._raw[name]

    def table(self, name: str, party=None) -> ibis.Table:
        """The table ``name`` restricted to what the user may read; ``party``: the caller
        keeps that party's rows only (see :func:`prisme.access.rights.restrict`)."""
        if not self.has(name):
            raise NotBuilt(f"{name} is not in the warehouse yet: run prisme build")
        t = self._raw_table(name)
        if name in ("dim_product", "dim_campaign", "dim_party", "dim_customer") and \
                "is_current" in t.columns:
            t = t.filter(t.is_current)
        customers = self._raw_table("customer_360") if self.has("customer_360") else None
        if customers is None and name != "customer_360":
            raise NotBuilt("customer_360 is not in the warehouse yet: run prisme build")
        party_map = self._raw_table("party_map") if self.has("party_map") else None
        return restrict(self.user, name, t,
                        customers=customers if customers is not None else t,
                        party_map=party_map, party=party)

    def derived(self, name: str, live, party=None) -> ibis.Table:
        """The serving mart ``name`` if the build made it, else ``live(engine)`` — the same
        expression computed on the fly — restricted to the user either way."""
        if self.has(name):
            return self.table(name, party)
        customers = self._raw_table("customer_360")
        return restrict(self.user, name, live(self.engine), customers=customers, party=party)

    def picked(self, name: str, pick) -> ibis.Table:
        """The rows of table ``name`` that ``pick(table)`` keeps (a filter on the stored
        table: rows by an indexed key), restricted to what the user may read — the rows of
        :meth:`table` that ``pick`` keeps, with the rights' filter applied to the picked
        rows, after a pick that ends with a ``limit`` (at least as many as it can find), so
        that the engine reads the rows through its index rather than scanning the table
        for the rights' columns (DuckDB does not mix an index lookup with another filter)."""
        if not self.has(name):
            raise NotBuilt(f"{name} is not in the warehouse yet: run prisme build")
        customers = self._raw_table("customer_360") if self.has("customer_360") else None
        if customers is None:
            raise NotBuilt("customer_360 is not in the warehouse yet: run prisme build")
        party_map = self._raw_table("party_map") if self.has("party_map") else None
        return restrict(self.user, name, pick(self._raw_table(name)), customers=customers,
                        party_map=party_map)

    def party_records(self, party_id) -> ibis.Table:
        pm = self.table("party_map", party_id)
        return pm.filter(pm.party_id == party_id).select("source", "source_customer_id")

    def facts_of(self, name: str, party_id: str) -> ibis.Table:
        """The rows of fact table ``name`` belonging to one party (restricted)."""
        t = self.table(name, party_id)
        rec = self.party_records(party_id).view()
        return t.semi_join(rec, [t.source == rec.source,
                                 t.source_customer_id == rec.source_customer_id])

    # ----------------------------------------------------------------- results
    def df(self, expr) -> pd.DataFrame:
        return self.engine.to_pandas(expr)

    def records(self, expr) -> list[dict]:
        """A small result as a list of dicts (through Arrow, without pandas)."""
        return self.engine.to_arrow(expr).to_pylist()

    def prepared(self, name, build):
        """The query ``build()`` (over this reader's restricted tables, with ``ibis.param``
        placeholders) compiled once per engine and user scope, under ``name``: a pooled engine
        keeps it for as long as it serves its published version, so a point lookup pays no
        expression building nor compilation per request (see ``Engine.prepare``)."""
        cache = self._memo.setdefault("prepared", {})
        key = (name, self.scope_key())
        p = cache.get(key)
        if p is None:
            expr, params = build()
            p = cache[key] = self.engine.prepare(expr, params)
        return p

    def fetch(self, name, build, *values) -> list[dict]:
        """Run the prepared query ``name`` (see :meth:`prepared`) with ``values``."""
        return self.engine.fetch(self.prepared(name, build), values)

    def scalar(self, expr):
        v = self.engine.scalar(expr)
        return None if v is None or (isinstance(v, float) and v != v) else v

    def scope_key(self) -> tuple:
        u = self.user
        return (u.role, u.branch, u.advisor, u.sees_personal_data, u.disabled)

    def cached(self, what, compute):
        if self.warehouse is None:
            return compute()
        return self.warehouse.cached((self.version, self.scope_key(), what), compute)
