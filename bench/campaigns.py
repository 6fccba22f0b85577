"""Uplift targeting: prisme's UpliftModel against what a user would otherwise do.

    python bench/campaigns.py [--demo DIR] [--customers N] [--seed S] [--skip-demo]

Out of sample (half the customers to fit, half to score), the Qini coefficient and uplift@30%
of each ordering:

* **random** targeting (the expected Qini is 0);
* **response model** — the usual practice: target those most likely to respond when treated
  (a gradient-boosting classifier on the treated only), which favours the sure things;
* **logistic two-model** — what a user writes by hand with scikit-learn (two logistic
  regressions, difference of probabilities);
* prisme's **UpliftModel** with each learner (two_model, x_learner, class_transformation);
* on the demo only, the **ideal ordering** by the truth's individual effect (``truth/``).

Data: Hillstrom's e-mail challenge (men's e-mail vs no e-mail, outcome visit and conversion)
and the demo company's campaigns (contacts of each channel, features as of the contact day
from the sales history, truth from ``truth/uplift.csv``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from prisme.campaigns import qini, uplift_at_k  # noqa: E402
from prisme.models import UpliftModel  # noqa: E402

HILLSTROM = (ROOT.parent / "shared" / "data" / "hillstrom_email" /
             "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv")
LEARNERS = ("two_model", "x_learner", "class_transformation")


def _split(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < 0.5


def _numeric(X: pd.DataFrame) -> pd.DataFrame:
    return pd.get_dummies(X, dtype=float).fillna(0.0)


def orderings(X: pd.DataFrame, y: np.ndarray, t: np.ndarray, seed: int = 0,
              truth: np.ndarray | None = None) -> tuple[pd.DataFrame, dict]:
    """Fit every ordering on one half, score the other; one row per ordering."""
    fit = _split(len(X), seed)
    te = ~fit
    Xf, Xt = X[fit].reset_index(drop=True), X[te].reset_index(drop=True)
    scores, seconds = {}, {}
    rng = np.random.default_rng(seed + 1)
    scores["random"] = rng.random(te.sum())
    started = time.perf_counter()
    resp = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=8,
                                          min_samples_leaf=100, random_state=0)
    Nf, Nt = _numeric(Xf), _numeric(Xt).reindex(columns=_numeric(Xf).columns, fill_value=0.0)
    resp.fit(Nf[t[fit] == 1], y[fit][t[fit] == 1])
    scores["response model"] = resp.predict_proba(Nt)[:, 1]
    seconds["response model"] = time.perf_counter() - started
    started = time.perf_counter()
    probs = []
    for g in (1, 0):
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        lr.fit(Nf[t[fit] == g], y[fit][t[fit] == g])
        probs.append(lr.predict_proba(Nt)[:, 1])
    scores["logistic two-model"] = probs[0] - probs[1]
    seconds["logistic two-model"] = time.perf_counter() - started
    for learner in LEARNERS:
        started = time.perf_counter()
        m = UpliftModel(learner).fit(Xf, y[fit], t[fit])
        scores[f"UpliftModel({learner})"] = m.predict(Xt)
        seconds[f"UpliftModel({learner})"] = time.perf_counter() - started
    if truth is not None:
        scores["ideal (truth)"] = truth[te] + rng.random(te.sum()) * 1e-9
    rows = []
    for name, s in scores.items():
        q = qini(y[te], t[te], s)
        rows.append({"ordering": name, "qini": q.coefficient,
                     "uplift@30%": uplift_at_k(y[te], t[te], s, 0.3),
                     "fit s": seconds.get(name, np.nan)})
    return pd.DataFrame(rows), scores


def hillstrom(outcome: str) -> pd.DataFrame:
    df = pd.read_csv(HILLSTROM)
    df = df[df.segment.isin(["Mens E-Mail", "No E-Mail"])].reset_index(drop=True)
    X = df[["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
            "channel"]]
    t = (df.segment == "Mens E-Mail").to_numpy(int)
    out = []
    for seed in (0, 1, 2):
        r, _ = orderings(X, df[outcome].to_numpy(float), t, seed)
        out.append(r.assign(seed=seed))
    res = pd.concat(out).groupby("ordering", sort=False)[["qini", "uplift@30%", "fit s"]].mean()
    return res.reset_index()


def demo(directory: Path, customers: int, seed: int) -> tuple[pd.DataFrame, str]:
    from bench_demo_uplift import demo_table  # noqa: PLC0415  (bench/ helper)

    X, y, t, truth, label = demo_table(directory, customers, seed)
    r, _ = orderings(X, y, t, 0, truth)
    return r, label


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", type=Path, default=Path("/tmp/prisme-bench-campaigns"))
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-demo", action="store_true")
    a = ap.parse_args()
    print(f"# bench/campaigns.py — {platform.node()}, {platform.processor() or platform.machine()}"
          f", {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    pd.set_option("display.width", 160)
    for outcome in ("visit", "conversion"):
        r = hillstrom(outcome)
        base = r.set_index("ordering").loc["logistic two-model", "qini"]
        r["qini / logistic"] = r["qini"] / base
        print(f"\nHillstrom, men's e-mail vs no e-mail, outcome {outcome} "
              "(out of sample, mean of 3 splits)")
        print(r.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if not a.skip_demo:
        sys.path.insert(0, str(ROOT / "bench"))
        r, label = demo(a.demo, a.customers, a.seed)
        ideal = r.set_index("ordering").loc["ideal (truth)", "qini"]
        r["qini / ideal"] = r["qini"] / ideal
        print(f"\nDemo ({a.customers:,} customers, seed {a.seed}): {label}")
        print(r.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
