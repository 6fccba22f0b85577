"""Next best offer per party.

Contributes ``next_best_offers`` to ``customer_360`` (see the contribution notes of
:mod:`prisme.analytics.marts`) from the stored table ``offer_scores``
(party_id, as_of, next_best_offers).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

#: the customer_360 columns this module contributes
CUSTOMER_360_COLUMNS = {"next_best_offers": dt.string}
#: the stored offers of the latest run, one row per party
SCORES_TABLE = "offer_scores"


def customer_360_part(engine, settings, as_of) -> ibis.Table | None:
    """next_best_offers per party as of ``as_of`` (None when the offers stage has not run)."""
    if not engine.has_table(SCORES_TABLE):
        return None
    t = engine.table(SCORES_TABLE)
    t = t.filter(t.as_of == ibis.literal(as_of))
    return t.select("party_id", *CUSTOMER_360_COLUMNS)
