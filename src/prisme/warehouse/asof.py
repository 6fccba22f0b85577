"""``as_of``: any table as the warehouse knew it at a past moment (Inmon's time variance).

Two clocks exist and both matter:

* ``by="load"`` — what the warehouse *knew* at ``ts``: rows whose load committed its stamp
  (``loaded_at``) at or before ``ts``; for a versioned dimension, the version current at ``ts``
  (validity recomputed from the versions known then, so a later version does not close it).
  Reports reproduced "as they were on the 1st of March" use this.
* ``by="event"`` — facts whose *event* happened at or before ``ts`` (``ordered_at`` for sales…),
  whenever they were loaded. Backtests of models trained on data loaded later use this.
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir
import pandas as pd

from prisme.warehouse.core import live, storage_table, supersessions, with_validity
from prisme.warehouse.schema import ENTITIES, Entity

#: the journal tables and the stamp that dates their rows
_JOURNALS = {"load_batches": "started_at", "quarantine": "quarantined_at",
             "load_issues": "noted_at"}


def _entity_of(table: str) -> Entity | None:
    for e in ENTITIES.values():
        if table in (e.table, e.name, storage_table(e)):
            return e
    return None


def _stamp(ts: datetime | date | str | pd.Timestamp) -> ir.TimestampScalar:
    if isinstance(ts, str):
        ts = pd.Timestamp(ts)
    if isinstance(ts, pd.Timestamp):
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        ts = ts.to_pydatetime()
    elif isinstance(ts, datetime) and ts.tzinfo is not None:
        ts = pd.Timestamp(ts).tz_convert("UTC").tz_localize(None).to_pydatetime()
    elif isinstance(ts, date) and not isinstance(ts, datetime):
        # a day means "by the end of that day"
        ts = datetime(ts.year, ts.month, ts.day, 23, 59, 59, 999999)
    return ibis.timestamp(ts)


def as_of(engine, table: str, ts, *, by: str = "load") -> ir.Table:
    """``table`` (a public name: ``dim_customer``, ``fact_sales``, ``load_batches``…) as of ``ts``.

    ``ts`` is a datetime, a date (the end of that day) or an ISO string; times are UTC.
    """
    if by not in ("load", "event"):
        raise ValueError(f"as_of(by={by!r}): use by='load' (what was known) or by='event'")
    stamp = _stamp(ts)
    if table in _JOURNALS:
        if by == "event":
            raise ValueError(f"{table} has no event time; use by='load'")
        t = engine.table(table)
        return t.filter(t[_JOURNALS[table]] <= stamp)
    entity = _entity_of(table)
    if entity is None:
        raise ValueError(
            f"as_of: {table!r} is not a warehouse table; use one of load_batches, quarantine, "
            "load_issues, "
            + ", ".join(e.table for e in ENTITIES.values())
        )
    if by == "event":
        if entity.event_time is None:
            raise ValueError(
                f"{entity.table} has no event time (it describes {entity.name}s, not events); "
                "use by='load' for what was known at that moment"
            )
        t = _public(engine, entity)
        return t.filter(t[entity.event_time] <= stamp)
    stored = engine.table(storage_table(entity))
    known = live(stored.filter(stored.loaded_at <= stamp), supersessions(engine), stamp)
    return with_validity(known, entity) if entity.versioned else known


def _public(engine, entity: Entity) -> ir.Table:
    return engine.table(entity.table)
