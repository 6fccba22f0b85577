"""From a small transaction table to the per-customer summary the models fit on (pandas).

For the warehouse, per-party RFM is computed in the engine (``prisme.analytics.rfm``); this
helper is for notebooks, tests and published data sets. Purchases on the same day count as one
transaction, as in Fader, Hardie & Lee (2005) on CDNOW.
"""

from __future__ import annotations

import pandas as pd

_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def summary_data_from_transactions(
    df: pd.DataFrame,
    customer_id: str,
    datetime_col: str,
    monetary_col: str | None = None,
    observation_end=None,
    freq: str = "W",
) -> pd.DataFrame:
    """One row per customer: ``frequency`` (repeat purchase days), ``recency`` (first to last
    purchase), ``T`` (first purchase to ``observation_end``) in units of ``freq`` ("D" or "W"),
    and ``monetary_value`` (mean value of the repeat purchases, 0 without any) when
    ``monetary_col`` is given. Transactions after ``observation_end`` are ignored."""
    if freq not in _UNIT_DAYS:
        raise ValueError(f"freq must be one of {sorted(_UNIT_DAYS)}, got {freq!r}")
    for col in (customer_id, datetime_col, monetary_col):
        if col is not None and col not in df.columns:
            raise ValueError(f"column {col!r} is missing (columns: {list(df.columns)})")
    days = pd.to_datetime(df[datetime_col], errors="coerce").dt.normalize()
    if days.isna().any():
        raise ValueError(f"column {datetime_col!r}: {int(days.isna().sum())} unparseable date(s)")
    end = days.max() if observation_end is None else pd.Timestamp(observation_end).normalize()
    tx = pd.DataFrame({"id": df[customer_id].to_numpy(), "day": days.to_numpy()})
    tx["value"] = 0.0 if monetary_col is None else pd.to_numeric(df[monetary_col]).to_numpy()
    tx = tx[tx["day"] <= end].groupby(["id", "day"], as_index=False)["value"].sum()
    tx = tx.sort_values(["id", "day"])
    first = tx.groupby("id")["day"].transform("min")
    tx["repeat"] = tx["day"] > first
    g = tx.groupby("id")
    unit = _UNIT_DAYS[freq]
    out = pd.DataFrame({
        "frequency": g["repeat"].sum().astype("int64"),
        "recency": (g["day"].max() - g["day"].min()).dt.days / unit,
        "T": (end - g["day"].min()).dt.days / unit,
    })
    if monetary_col is not None:
        repeat = tx[tx["repeat"]].groupby("id")["value"].mean()
        out["monetary_value"] = repeat.reindex(out.index).fillna(0.0)
    out.index.name = customer_id
    return out
