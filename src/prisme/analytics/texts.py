"""Texts written per customer from several rows (their offers, their churn reasons)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def join_runs(keys: Sequence, texts: Sequence[str], sep: str, *, prefix: str = "",
              suffix: str = "") -> tuple[list, list[str]]:
    """(key of each run, its texts joined) for rows already ordered by key, each run of equal
    keys joined in its order: ``prefix + sep.join(run) + suffix``.

    Same result as ``texts.groupby(keys, sort=False).agg(sep.join)`` when equal keys are
    adjacent, without pandas' per-group Python call (a million customers: 13 s → under 1 s).
    """
    k = np.asarray(keys, dtype=object)
    if len(k) != len(texts):
        raise ValueError(f"join_runs: {len(k)} keys for {len(texts)} texts")
    if len(k) == 0:
        return [], []
    cuts = (np.flatnonzero(k[1:] != k[:-1]) + 1).tolist()
    starts, ends = [0, *cuts], [*cuts, len(k)]
    first = k[starts].tolist()
    if len(set(first)) != len(first):
        raise ValueError("join_runs: the rows of a key are not adjacent (order them by key)")
    t = list(texts)
    return first, [prefix + sep.join(t[s:e]) + suffix for s, e in zip(starts, ends, strict=True)]
