"""Identity resolution: one party per real customer, whatever the number of source records.

``resolve(df)`` → ``record_id, party_id, match_probability``; ``pairwise_scores(df)`` for the
scored pairs a steward reviews; ``evaluate(pred, truth)`` for pairwise precision / recall / F1.
"""

from prisme.identity.evaluate import evaluate
from prisme.identity.resolve import pairwise_scores, resolve

__all__ = ["evaluate", "pairwise_scores", "resolve"]
