"""Public entry point for the customer-value models: ``from prisme.models import BetaGeo``.

Needs only numpy, scipy and pandas (no web or Spark extra). See DESIGN §6.
"""

from prisme.analytics.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    ChurnModel,
    ConvergenceError,
    ConvergenceWarning,
    GammaGamma,
    ParetoNBD,
    RepeatRate,
    ShiftedBetaGeo,
    UpliftModel,
    summary_data_from_transactions,
)

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ChurnModel",
    "ConvergenceError",
    "ConvergenceWarning",
    "GammaGamma",
    "ParetoNBD",
    "RepeatRate",
    "ShiftedBetaGeo",
    "UpliftModel",
    "summary_data_from_transactions",
]
