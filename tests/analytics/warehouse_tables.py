"""Build small core tables straight from the canonical schema, for analytics tests.

The analytics tests do not depend on the loaders: they write the core tables themselves with
the columns of ``prisme.warehouse.schema`` (lineage columns included) and known content.
"""

from __future__ import annotations

import ibis
import pandas as pd

from prisme.warehouse.schema import ENTITIES, LINEAGE, PARTY_MAP


def core_schema(entity: str) -> ibis.Schema:
    e = ENTITIES[entity]
    fields = dict(e.ibis_schema().items())
    fields.update(dict(LINEAGE.items()))
    if e.versioned:
        fields.update({"valid_from": "timestamp", "valid_to": "timestamp", "is_current": "boolean"})
    return ibis.schema(fields)


def write_core(engine, entity: str, rows: pd.DataFrame | list[dict]) -> None:
    """Create the core table of an entity (if needed) and append rows; missing columns NULL."""
    df = pd.DataFrame(rows)
    schema = core_schema(entity)
    table = ENTITIES[entity].table
    for name in schema.names:
        if name not in df.columns:
            df[name] = None
    if "is_current" in schema.names:
        df["is_current"] = df["is_current"].fillna(True).astype(bool)
    expr = ibis.memtable(df[list(schema.names)]).cast(schema)
    if not engine.has_table(table):
        engine.create_table(table, schema=schema)
    engine.insert(table, expr)


def write_party_map(engine, rows: pd.DataFrame | list[dict]) -> None:
    df = pd.DataFrame(rows)
    if "match_probability" not in df.columns:
        df["match_probability"] = 1.0
    expr = ibis.memtable(df[list(PARTY_MAP.names)]).cast(PARTY_MAP)
    engine.create_table("party_map", expr, overwrite=True)


def write_dim_party(engine, rows: pd.DataFrame | list[dict]) -> None:
    engine.create_table("dim_party", ibis.memtable(pd.DataFrame(rows)), overwrite=True)


def write_core_expr(engine, entity: str, expr: ibis.Table) -> None:
    """Create the core table of an entity from an engine expression; other columns NULL."""
    schema = core_schema(entity)
    cols = {
        name: (expr[name] if name in expr.columns else ibis.null()).cast(dtype)
        for name, dtype in schema.items()
    }
    engine.create_table(ENTITIES[entity].table, expr.select(**cols), overwrite=True)
