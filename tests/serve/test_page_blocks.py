"""Page blocks over a small hand-made warehouse: the later stages' tables are read as they
are declared (churn scores with reasons, lift and calibration, offers), and a missing
analysis is said plainly."""

from __future__ import annotations

import pandas as pd

from prisme.access.users import User
from prisme.serve import pages
from prisme.serve.data import Reader
from prisme.serve.i18n import Translator

N = 40


def _c360(churn: bool) -> pd.DataFrame:
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
    return df.astype({"churn_probability": "float64", "churn_reasons": "string",
                      "next_best_offers": "string"})


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
    engine.create_table("churn_lift", pd.DataFrame({
        "decile": range(1, 11), "lift": [3.0, 2, 1.5, 1, 1, .8, .6, .5, .3, .3],
        "cumulative_gain": [.3, .5, .6, .7, .8, .85, .9, .95, .98, 1.0], "version": "v1"}))
    engine.create_table("churn_calibration", pd.DataFrame({
        "bin": [1, 2], "predicted": [.1, .6], "observed": [.12, .55], "customers": [30, 10],
        "version": "v1"}))
    blocks = pages.churn(_reader(engine), Translator("fr"))
    text = _texts(blocks)
    assert "no purchase for 9 months" in text and "3,0×" in text
    assert "Gain par décile" in text and "Calibration" in text
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
