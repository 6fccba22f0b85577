"""Pairwise precision, recall and F1 of a clustering against the truth.

A clustering is judged on pairs of records (Christen 2012, §7): a pair put in one party is a
true positive when the truth also has both records as one person. Counts come from the
contingency table of (party, person): TP = Σ C(n_ij, 2), predicted pairs = Σ_i C(a_i, 2),
true pairs = Σ_j C(b_j, 2) — no pair is enumerated, so a million records take a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def _pairs(counts: pd.Series) -> int:
    n = counts.to_numpy().astype("int64")
    return int((n * (n - 1) // 2).sum())


def evaluate(pred: Sequence, truth: Sequence, *, within: Sequence | None = None) -> dict:
    """``precision, recall, f1, tp, predicted_pairs, true_pairs`` of ``pred`` (party per record)
    against ``truth`` (person per record).

    ``within`` (e.g. the household of each record) restricts the pairs counted to those whose
    two records share that group: ``evaluate(party, person, within=household)`` is the
    precision and recall on household members.
    """
    frame = pd.DataFrame({"pred": list(pred), "truth": list(truth)})
    frame["g"] = 0 if within is None else list(within)
    frame = frame.dropna(subset=["g"])
    tp = _pairs(frame.groupby(["g", "pred", "truth"]).size())
    predicted = _pairs(frame.groupby(["g", "pred"]).size())
    true = _pairs(frame.groupby(["g", "truth"]).size())
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp,
            "predicted_pairs": predicted, "true_pairs": true}
