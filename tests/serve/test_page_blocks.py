"""Page blocks over a small hand-made warehouse: the later stages' tables are read as they
are declared (churn scores with reasons, lift and calibration, offers), and a missing
analysis is said plainly."""

from __future__ import annotations

import ibis
import pandas as pd

from prisme.access.users import User
from prisme.serve import pages
from prisme.serve.data import Reader
from prisme.serve.i18n import Translator

N = 40


def _c360(churn: bool) -> ibis.Table:
    df = pd.DataFrame({
        "party_id": [f"P{i:03d}" for i in range(N)],
        "first_name": "Ann", "last_name": "Lee",
        "branch": ["Lyon" if i % 2 else "Paris" for i in range(N)],
        "advisor": ["Léa" if i % 4 < 2 else "Tom" for i in range(N)],
        "rfm_segment": ["champions" if i % 3 else "at risk" for i in range(N)],
        "cluster": [i % 2 for i in range(N)], "cluster_label": "x",
        "p_alive": [i / N for i in range(N)], "clv_12m": [float(i) for i in range(N)],
        "revenue": [10.0 * i for i in range(N)], "margin": [4.0 * i for i in range(N)],
    })
    df["churn_probability"] = [1 - i / N for i in range(N)] if churn else None
    df["churn_reasons"] = (["no purchase for 9 months; two complaints"] * N) if churn else None
    df["next_best_offers"] = (["Cuisine (bought with Linge) | Déco"] * N) if churn else None
    df = df.astype({"churn_probability": "float64", "churn_reasons": "object",
                    "next_best_offers": "object"})
    schema = ibis.schema({
        **{c: "string" for c in ("party_id", "first_name", "last_name", "branch", "advisor",
                                 "rfm_segment", "cluster_label", "churn_reasons",
                                 "next_best_offers")},
        "cluster": "int64", "p_alive": "float64", "clv_12m": "float64", "revenue": "float64",
        "margin": "float64", "churn_probability": "float64"})
    return ibis.memtable(df[list(schema.names)], schema=schema)  # columns by position


def _reader(engine, user=User("a", "admin")):
    return Reader(engine, user, "test")


def _texts(blocks) -> str:
    out = []
    for b in blocks:
        out += [b.get("title", ""), b.get("text", ""), b.get("sentence", "")]
        out += b.get("lines", [])
    return " ".join(out)


def test_churn_page_without_the_churn_stage_says_so(engine):
    engine.create_table("customer_360", _c360(False))
    text = _texts(pages.churn(_reader(engine), Translator("en")))
    assert "not in the warehouse yet" in text and "churn_probability" in text
    assert "Customers by churn risk" in text  # the purchase model's risk meanwhile


def test_churn_page_with_scores_and_evaluation(engine):
    engine.create_table("customer_360", _c360(True))
    import numpy as np

    from prisme.analytics.churn import evaluate

    rng = np.random.default_rng(0)
    p = rng.random(500)
    metrics, calib, lift = evaluate((rng.random(500) < p).astype(int), p)
    meta = {"version": "v1", "evaluated_as_of": "2025-12-31", "horizon_days": 180}
    engine.create_table("churn_lift", ibis.memtable(lift.assign(**meta)))
    engine.create_table("churn_calibration", ibis.memtable(calib.assign(**meta)))
    engine.create_table("churn_evaluation", ibis.memtable(pd.DataFrame(
        [{**meta, "metric": m, "value": v} for m, v in metrics.items()])))
    blocks = pages.churn(_reader(engine), Translator("fr"))
    text = _texts(blocks)
    assert "no purchase for 9 months" in text and "ROC-AUC" in text
    assert "Gain par décile" in text and "Calibration" in text and "180 jours" in text
    # an advisor gets their customers' risk, not the company-wide evaluation
    adv = pages.churn(_reader(engine, User("v", "advisor", advisor="Léa")), Translator("en"))
    assert "Lift by decile" not in _texts(adv)


def test_offers_page_counts_offers_by_label(engine):
    engine.create_table("customer_360", _c360(True))
    blocks = pages.offers(_reader(engine), Translator("en"))
    charts_ = [b for b in blocks if b["kind"] == "chart"]
    assert charts_ and "Cuisine" in charts_[0]["figure"] and "bought with" not in \
        charts_[0]["figure"]


def test_segments_for_a_manager_are_their_branch(engine):
    engine.create_table("customer_360", _c360(False))
    blocks = pages.segments(_reader(engine, User("m", "manager", branch="Lyon")),
                            Translator("en"))
    rfm = next(b for b in blocks if b["kind"] == "table")
    total = sum(float(row[1]["key"]) for row in rfm["rows"])
    assert total == N / 2
