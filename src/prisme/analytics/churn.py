"""Churn in the warehouse: who is leaving, as of a day, and why.

Contributes ``churn_probability`` and ``churn_reasons`` to ``customer_360`` (see the
contribution notes of :mod:`prisme.analytics.marts`) from the stored table ``churn_scores``
(party_id, as_of, churn_probability, churn_reasons, version).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

#: the customer_360 columns this module contributes
CUSTOMER_360_COLUMNS = {"churn_probability": dt.float64, "churn_reasons": dt.string}
#: the stored scores of the latest churn run
SCORES_TABLE = "churn_scores"


def customer_360_part(engine, settings, as_of) -> ibis.Table | None:
    """churn_probability and churn_reasons per party scored as of ``as_of`` (None if none)."""
    if not engine.has_table(SCORES_TABLE):
        return None
    t = engine.table(SCORES_TABLE)
    t = t.filter(t.as_of == ibis.literal(as_of))
    return t.select("party_id", *CUSTOMER_360_COLUMNS)
