"""Public entry point for campaign measurement: ``from prisme.campaigns import lift, qini``.

See :mod:`prisme.analytics.campaigns` (DESIGN §6)."""

from prisme.analytics.campaigns import (
    CORRECTIONS,
    QiniResult,
    adjust_p,
    compare_means,
    compare_rates,
    effect_sentence,
    lift,
    pooled_difference,
    qini,
    uplift_at_k,
)

__all__ = [
    "CORRECTIONS",
    "QiniResult",
    "adjust_p",
    "compare_means",
    "compare_rates",
    "effect_sentence",
    "lift",
    "pooled_difference",
    "qini",
    "uplift_at_k",
]
