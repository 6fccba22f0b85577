"""How the application reaches the warehouse: published state, engines, and the one reader.

:class:`Warehouse` hands out read-only engines on the last published state of the warehouse
(``prisme.engine.connect(settings, read_only=True)``) and reopens them when a build publishes
a new one (``prisme.engine.published_version``). Every page, API route and cube query reads
through a :class:`Reader`, which applies :func:`prisme.access.rights.restrict` to every table
it gives out — row-level security lives there and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator

import ibis
import pandas as pd

from prisme import engine as engine_mod
from prisme.access.rights import Forbidden, restrict
from prisme.access.users import User


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be opened right now (shown as a 503 with the reason)."""


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
        try:
            return engine_mod.connect(self.settings, read_only=True)
        except engine_mod.EngineError as exc:
            raise WarehouseUnavailable(str(exc)) from exc
        except Exception as exc:  # duckdb's IO errors when the file does not exist yet
            if not os.path.exists(self.settings.warehouse_path):
                raise WarehouseUnavailable(
                    f"no warehouse at {self.settings.warehouse_path}; run prisme ingest and "
                    "prisme build first") from exc
            raise WarehouseUnavailable(str(exc)) from exc

    @contextlib.contextmanager
    def engine(self) -> Iterator[tuple[object, str]]:
        """An engine on the published state, and that state's version."""
        version = self.version()
        if not self.publishes:
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

    def _checkin(self, eng, version: str) -> None:
        with self._lock:
            if version == self._version:
                self._idle.put((eng, version))
                return
        eng.close()

    def cached(self, key, compute):
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
        with self._lock:
            while not self._idle.empty():
                self._idle.get_nowait()[0].close()
            self._opened = 0


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
        self._tables: set[str] | None = None
        self._raw: dict[str, ibis.Table] = {}

    # ------------------------------------------------------------------ tables
    def has(self, name: str) -> bool:
        if self._tables is None:
            self._tables = set(self.engine.list_tables())
        return name in self._tables

    def _raw_table(self, name: str) -> ibis.Table:
        if name not in self._raw:
            self._raw[name] = self.engine.table(name)
        return self._raw[name]

    def table(self, name: str) -> ibis.Table:
        """The table ``name`` restricted to what the user may read."""
        if not self.has(name):
            raise KeyError(name)
        t = self._raw_table(name)
        if name in ("dim_product", "dim_campaign", "dim_party", "dim_customer") and \
                "is_current" in t.columns:
            t = t.filter(t.is_current)
        customers = self._raw_table("customer_360") if self.has("customer_360") else None
        if customers is None and name != "customer_360":
            raise Forbidden("customer_360 is not built yet; run prisme build")
        party_map = self._raw_table("party_map") if self.has("party_map") else None
        return restrict(self.user, name, t,
                        customers=customers if customers is not None else t,
                        party_map=party_map)

    def sales(self) -> ibis.Table:
        """Active sale lines (cancelled ones left out when the warehouse knows them), with the
        ``party_id`` of the buyer (NULL for anonymous sales), restricted to the user."""
        s = self._raw_table("fact_sales")
        if "is_cancelled" in s.columns:
            s = s.filter(~s.is_cancelled.fill_null(False))
        pm = self._raw_table("party_map")
        s = s.left_join(pm, [s.source == pm.source,
                             s.source_customer_id == pm.source_customer_id]).select(
            s, party_id=pm.party_id)
        customers = self._raw_table("customer_360")
        return restrict(self.user, "sales", s, customers=customers)

    def party_records(self, party_id: str) -> ibis.Table:
        pm = self.table("party_map")
        return pm.filter(pm.party_id == party_id).select("source", "source_customer_id")

    def facts_of(self, name: str, party_id: str) -> ibis.Table:
        """The rows of fact table ``name`` belonging to one party (restricted)."""
        t = self.table(name)
        rec = self.party_records(party_id).view()
        return t.semi_join(rec, [t.source == rec.source,
                                 t.source_customer_id == rec.source_customer_id])

    # ----------------------------------------------------------------- results
    def df(self, expr) -> pd.DataFrame:
        return self.engine.to_pandas(expr)

    def scalar(self, expr):
        v = self.engine.scalar(expr)
        return None if v is None or (isinstance(v, float) and v != v) else v

    def scope_key(self) -> tuple:
        u = self.user
        return (u.role, u.branch, u.advisor, u.sees_personal_data)

    def cached(self, what, compute):
        if self.warehouse is None:
            return compute()
        return self.warehouse.cached((self.version, self.scope_key(), what), compute)
