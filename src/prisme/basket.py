"""Public entry point for market basket analysis: ``prisme.basket.rules`` (DESIGN §6)."""

from __future__ import annotations

import ibis
import pandas as pd

from prisme.analytics.basket import RULE_COLUMNS, association_rules

__all__ = ["RULE_COLUMNS", "rules"]


def rules(df, basket: str = "order_id", item: str = "sku", min_support: float = 0.01,
          max_len: int = 3, *, min_confidence: float = 0.0, min_lift: float = 0.0,
          engine=None) -> pd.DataFrame:
    """Association rules of the baskets in ``df`` (one row per basket line; a pandas or Arrow
    table, or an Ibis table of an open Prisme engine), counted in the engine.

    Returns antecedent, consequent (sorted lists of items), antecedent_support,
    consequent_support, support, confidence, lift, leverage, conviction and baskets, one row per
    rule of up to ``max_len`` items. Leave returns and cancelled lines out of ``df`` first (in
    the warehouse, :func:`prisme.analytics.offers.warehouse_rules` does it, by product or by
    category).
    """
    from prisme import engine as engine_mod
    from prisme.engine.base import engine_of

    for name in (basket, item):
        if name not in df.columns:
            raise KeyError(f"basket.rules: no column {name!r}; the table has {list(df.columns)}")
    if isinstance(df, ibis.Table):
        eng = engine or engine_of(ibis.get_backend(df))
        if eng is None:
            raise ValueError("basket.rules: this Ibis table is not on an open Prisme engine; "
                             "pass engine=")
        return association_rules(eng, df, basket=basket, item=item, min_support=min_support,
                                 max_len=max_len, min_confidence=min_confidence,
                                 min_lift=min_lift)
    own = engine is None
    eng = engine or engine_mod.connect(path=":memory:")
    try:
        lines = ibis.memtable(df[[basket, item]] if isinstance(df, pd.DataFrame)
                             else df.select([basket, item]))
        return association_rules(eng, lines, basket=basket, item=item, min_support=min_support,
                                 max_len=max_len, min_confidence=min_confidence,
                                 min_lift=min_lift)
    finally:
        if own:
            eng.close()
