"""Small customer and fact tables written straight from the canonical schema (identity tests).

The identity tests do not depend on the loaders: they create ``dim_customer`` (canonical
columns, lineage and validity columns) and the facts themselves, with known content.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd

from prisme.warehouse.schema import ENTITIES, LINEAGE

T0 = datetime(2026, 1, 5, 9, 0)


def core_schema(entity: str) -> ibis.Schema:
    e = ENTITIES[entity]
    fields = dict(e.ibis_schema().items())
    fields.update(dict(LINEAGE.items()))
    if e.versioned:
        fields.update({"valid_from": "timestamp", "valid_to": "timestamp",
                       "is_current": "boolean"})
    return ibis.schema(fields)


def write(engine, entity: str, rows: list[dict], *, load_id: str = "L1",
          loaded_at: datetime = T0, replace: bool = False) -> None:
    """Append rows (missing columns NULL) to the core table of ``entity``."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    schema = core_schema(entity)
    df["load_id"] = df.get("load_id", load_id)
    df["loaded_at"] = df.get("loaded_at", loaded_at)
    df["source_line"] = range(2, len(df) + 2)
    if "is_current" in schema.names:
        df["valid_from"] = df["loaded_at"]
        if "is_current" not in df.columns:
            df["is_current"] = True
    for name in schema.names:
        if name not in df.columns:
            df[name] = None
    expr = ibis.memtable(df[list(schema.names)]).cast(schema)
    table = ENTITIES[entity].table
    if replace or not engine.has_table(table):
        engine.create_table(table, expr, overwrite=True)
    else:
        engine.insert(table, expr)


def customers(engine, rows: list[dict], **kw) -> None:
    write(engine, "customer", rows, **kw)
