"""Customer-base probability models (numpy/scipy maximum likelihood, each citing its paper).

- :class:`BetaGeo` (BG/NBD), :class:`ParetoNBD`: repeat purchasing and dropout, continuous time.
- :class:`RepeatRate`: one purchase rate and one dropout rate (the fallback when the above
  are not identified).
- :class:`GammaGamma`: average spend per transaction.
- :class:`BetaGeoBetaBinom` (BG/BB): discrete transaction opportunities.
- :class:`ShiftedBetaGeo` (sBG): contractual retention from survivors per period.
- :class:`ChurnModel`: calibrated gradient-boosting churn score with reasons (LightGBM).

Each module also has ``simulate(...)`` drawing customers from the model itself.
"""

from prisme.analytics.models.base import ConvergenceError, ConvergenceWarning, ProbabilityModel
from prisme.analytics.models.bgbb import BetaGeoBetaBinom
from prisme.analytics.models.bgnbd import BetaGeo
from prisme.analytics.models.churn import ChurnModel
from prisme.analytics.models.data import summary_data_from_transactions
from prisme.analytics.models.gammagamma import GammaGamma
from prisme.analytics.models.paretonbd import ParetoNBD
from prisme.analytics.models.repeat_rate import RepeatRate
from prisme.analytics.models.sbg import ShiftedBetaGeo
from prisme.analytics.models.uplift import UpliftModel

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ChurnModel",
    "ConvergenceError",
    "ConvergenceWarning",
    "GammaGamma",
    "ParetoNBD",
    "ProbabilityModel",
    "RepeatRate",
    "ShiftedBetaGeo",
    "UpliftModel",
    "summary_data_from_transactions",
]
