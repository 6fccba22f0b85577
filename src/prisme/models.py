"""Public entry point for the customer-value models: ``from prisme.models import BetaGeo``.

Needs only numpy, scipy and pandas (no web or Spark extra). See DESIGN §6. The names are those
of :mod:`prisme.analytics.models` (its ``__all__``), re-exported here so the list lives once.
"""

from prisme.analytics.models import *  # noqa: F403 — the public names, listed once there
from prisme.analytics.models import __all__  # noqa: F401
