"""Public entry point for forecasts: ``from prisme.forecast import SeasonalARIMA``.

See :mod:`prisme.analytics.forecast` (DESIGN §6)."""

from prisme.analytics.forecast import (
    Backtest,
    Choice,
    ExponentialSmoothing,
    SeasonalARIMA,
    SeasonalNaive,
    SeriesTooShort,
    backtest,
    choose,
)

__all__ = [
    "Backtest",
    "Choice",
    "ExponentialSmoothing",
    "SeasonalARIMA",
    "SeasonalNaive",
    "SeriesTooShort",
    "backtest",
    "choose",
]
