"""The core layer: subject tables with the canonical columns, appended to, never updated.

* Facts (``fact_sales``, ``fact_calls``…) are appended: every accepted row of every load, with
  its lineage (``load_id``, ``loaded_at``, ``source_line``).
* Versioned entities (customer, product, campaign) keep an append-only table of versions
  (``core_customer_versions``): a load adds a version of a key only when one of its attributes
  differs from the key's current version. The public ``dim_customer`` is a *view* over it whose
  ``valid_from`` / ``valid_to`` / ``is_current`` come from a window over the versions, so no row is
  ever rewritten (Inmon's non-volatility) and validity intervals cannot overlap by construction.
"""

from __future__ import annotations

import functools

import ibis
import ibis.expr.types as ir

from prisme.warehouse.schema import (
    ATTRIBUTES,
    ENTITIES,
    LINEAGE,
    LOAD_BATCHES,
    LOAD_ISSUES,
    LOAD_MAPPINGS,
    LOAD_SUPERSESSIONS,
    QUARANTINE,
    Entity,
)

VALIDITY = ("valid_from", "valid_to", "is_current")


def versions_table(entity: Entity) -> str:
    """``core_customer_versions`` for the customer entity."""
    return f"core_{entity.name}_versions"


def storage_table(entity: Entity) -> str:
    """The table a load appends to: the rows of the facts (``core_transaction_facts``; the
    public ``fact_sales`` is a view of it without superseded loads), or the versions of a
    dimension."""
    return versions_table(entity) if entity.versioned else f"core_{entity.name}_facts"


def core_schema(entity: Entity) -> ibis.Schema:
    """Canonical columns, the extra attributes (JSON text) and lineage, in a fixed order."""
    return ibis.schema({**dict(entity.ibis_schema().items()), ATTRIBUTES: "string",
                        **dict(LINEAGE.items())})


def live(stored: ir.Table, supersessions: ir.Table, stamp=None) -> ir.Table:
    """Rows of loads that no ``--reload`` superseded (by ``stamp``, when given)."""
    s = supersessions if stamp is None else supersessions.filter(
        supersessions.superseded_at <= stamp)
    return stored.anti_join(s, stored.load_id == s.load_id)


def supersessions(engine) -> ir.Table:
    return engine.bound_table("load_supersessions", LOAD_SUPERSESSIONS)


def active_sales(engine) -> ir.Table:
    """``fact_sales`` without cancelled lines: what revenue, order counts, RFM, value and
    baskets are computed from. Cancelled lines stay in ``fact_sales`` (non-volatile)."""
    t = engine.table("fact_sales")
    if "is_cancelled" not in t.columns:
        return t
    return t.filter(~t.is_cancelled.fill_null(False))


def ensure_tables(engine) -> None:
    """Create ``load_batches``, ``quarantine``, ``load_issues`` and every core table and
    dimension view that does not exist yet (idempotent; existing data is never touched).
    The engine checks its catalog once and creates what is missing in one batch."""
    engine.ensure_relations(*_relations())


@functools.cache
def _relations() -> tuple[dict[str, ibis.Schema], dict[str, ir.Table]]:
    """Every table (name → schema) and dimension view (name → expression over the unbound
    versions table) of the warehouse: fixed by the code, built once per process."""
    tables: dict[str, ibis.Schema] = {"load_batches": LOAD_BATCHES, "quarantine": QUARANTINE,
                                      "load_issues": LOAD_ISSUES,
                                      "load_supersessions": LOAD_SUPERSESSIONS,
                                      "load_mappings": LOAD_MAPPINGS}
    superseded = ibis.table(LOAD_SUPERSESSIONS, name="load_supersessions")
    views: dict[str, ir.Table] = {}
    for entity in ENTITIES.values():
        table = storage_table(entity)
        tables[table] = core_schema(entity)
        rows = live(ibis.table(tables[table], name=table), superseded)
        views[entity.table] = with_validity(rows, entity) if entity.versioned else rows
    return tables, views


def core_table(engine, entity: Entity) -> ir.Table:
    """The entity's core table (facts, or versions), bound without asking the engine for the
    schema ``ensure_tables`` created it with."""
    return engine.bound_table(storage_table(entity), core_schema(entity))


def with_validity(versions: ir.Table, entity: Entity) -> ir.Table:
    """Versions → dimension rows with ``valid_from`` (the load that brought the version),
    ``valid_to`` (the load of the next version of the same key, NULL while current) and
    ``is_current``."""
    w = ibis.window(group_by=list(entity.key), order_by=[versions.loaded_at, versions.load_id])
    out = versions.mutate(
        valid_from=versions.loaded_at,
        valid_to=versions.loaded_at.lead().over(w),
    )
    return out.mutate(is_current=out.valid_to.isnull())


def current_versions(versions: ir.Table, entity: Entity) -> ir.Table:
    """The latest version of every key."""
    w = ibis.window(
        group_by=list(entity.key),
        order_by=[ibis.desc(versions.loaded_at), ibis.desc(versions.load_id)],
    )
    ranked = versions.mutate(_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._rank == 0).drop("_rank")


def append_facts(engine, entity: Entity, rows: ir.Table) -> None:
    """Append accepted rows (canonical columns + lineage) to the fact table."""
    engine.insert(storage_table(entity), rows.select(*core_schema(entity).names))


def append_versions(engine, entity: Entity, rows: ir.Table) -> None:
    """Add a version for every key whose attributes changed (or that is new).

    Within one load the last line of a key is what the source says now; earlier lines of the
    same key in that file are accepted (counted as loaded) but make no version of their own.
    """
    names = [*entity.names, ATTRIBUTES]
    key = list(entity.key)
    last_w = ibis.window(group_by=key, order_by=[ibis.desc(rows.source_line)])
    ranked = rows.mutate(_rank=ibis.row_number().over(last_w))
    latest = ranked.filter(ranked._rank == 0).drop("_rank")
    stored = live(engine.table(storage_table(entity)), supersessions(engine))
    current = current_versions(stored, entity).select(*names)
    same = [latest[n].identical_to(current[n]) for n in names]
    changed = latest.anti_join(current, same)
    engine.insert(storage_table(entity), changed.select(*core_schema(entity).names))


def rows_of_load(engine, entity: Entity, load_id: str) -> int:
    """How many rows (facts, or new versions) a load wrote to the entity's core table."""
    t = core_table(engine, entity)
    return int(engine.scalar(t.filter(t.load_id == load_id).count()))
