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
and the demo company's campaigns (the contacts of one channel's campaigns, features as of the
contact day from the warehouse — purchases, surveys, complaints before it — and the truth's
expected effect of each contact from ``truth/uplift.csv`` and ``truth/churners.csv``). The
demo is built with ``prisme demo`` into ``--demo`` unless a warehouse is already there.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from prisme.campaigns import qini, uplift_at_k  # noqa: E402
from prisme.models import UpliftModel  # noqa: E402

HILLSTROM = (ROOT.parent / "shared" / "data" / "hillstrom_email" /
             "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv")
LEARNERS = ("two_model", "x_learner", "class_transformation", "ensemble")


def _split(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < 0.5


def _numeric(X: pd.DataFrame) -> pd.DataFrame:
    return pd.get_dummies(X, dtype=float).fillna(0.0)


def orderings(X: pd.DataFrame, y: np.ndarray, t: np.ndarray, seed: int = 0,
              truth: np.ndarray | None = None) -> tuple[pd.DataFrame, dict]:
    """Fit every ordering on one half, score the other; one row per ordering (one thread
    each, as UpliftModel uses by default)."""
    with threadpool_limits(1):
        return _orderings(X, y, t, seed, truth)


def _orderings(X, y, t, seed, truth):
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


def demo_table(directory: Path, customers: int, seed: int, channel: str):
    """The contacts of one channel's campaigns with features known at the contact day (from
    the warehouse: purchases, surveys, complaints before it), the response, and the truth's
    expected effect of each contact."""
    import ibis

    from prisme import engine as engine_mod
    from prisme.analytics.features import _interactions, party_keys, party_orders
    from prisme.config import load_settings

    root = Path(directory)
    if not (root / "warehouse.duckdb").exists():
        subprocess.run([sys.executable, "-m", "prisme", "demo", "--dir", str(root),
                        "--customers", str(customers), "--seed", str(seed), "--no-serve"],
                       check=True, stdout=subprocess.DEVNULL)
    settings = load_settings(root)
    with engine_mod.connect(settings) as eng:
        c = eng.table("fact_campaign_contacts")
        d = eng.table("dim_campaign")
        d = d.filter(d.is_current).select("campaign_id", camp_channel=d.channel)
        c = c.join(d, "campaign_id").filter(lambda t: t.camp_channel == channel)
        keys = party_keys(eng)
        c = c.join(keys, [c.source == keys.source,
                          c.source_customer_id == keys.source_customer_id]).select(
            c.campaign_id, c.source, c.source_customer_id, c.contacted_at, c["group"],
            c.converted_at, keys.party_id)
        last = eng.scalar(eng.table("fact_sales").ordered_at.max())
        o = party_orders(eng, as_of=last)
        o = o.filter(o.is_purchase)
        j = c.left_join(o, [c.party_id == o.party_id, o.ordered_at < c.contacted_at])
        year_ago = j.contacted_at - ibis.interval(days=365)
        f = j.group_by(["campaign_id", "source", "source_customer_id", "contacted_at", "group",
                        "converted_at", "party_id"]).aggregate(
            orders=j.order_id.count(),
            orders_365=(j.ordered_at >= year_ago).cast("int64").sum(),
            revenue_365=ibis.cases((j.ordered_at >= year_ago, j.net_revenue),
                                   else_=0).cast("float64").sum(),
            last_order=j.ordered_at.max(), first_order=j.ordered_at.min())
        sv = _interactions(eng, "fact_surveys", last)
        sv = sv.select("party_id", "answered_at", "sat_product", "sat_service", "sat_company",
                       "nps")
        k = f.left_join(sv, [f.party_id == sv.party_id, sv.answered_at < f.contacted_at])
        k = k.group_by([*f.columns]).aggregate(
            sat_mean=((k.sat_product + k.sat_company + k.sat_service.fill_null(k.sat_product))
                      / 3).mean(), nps=k.nps.mean(), surveys=k.answered_at.count())
        calls = _interactions(eng, "fact_calls", last)
        calls = calls.filter(calls.reason == "complaint").select("party_id", "at")
        m = k.left_join(calls, [k.party_id == calls.party_id, calls.at < k.contacted_at])
        m = m.group_by([*k.columns]).aggregate(complaints=m.at.count())
        df = eng.to_pandas(m)
    # the engine returns groups in any order: sort, so that a seed gives the same split
    df = df.sort_values(["campaign_id", "source", "source_customer_id"]).reset_index(drop=True)
    days = 86400.0
    X = pd.DataFrame({
        "orders": df.orders, "orders_365": df.orders_365, "revenue_365": df.revenue_365,
        "days_since_last_order": (df.contacted_at - df.last_order).dt.total_seconds() / days,
        "tenure_days": (df.contacted_at - df.first_order).dt.total_seconds() / days,
        "satisfaction": df.sat_mean, "nps": df.nps, "complaints": df.complaints,
        "campaign_id": df.campaign_id, "source_customer_id": df.source_customer_id,
    })
    y = df.converted_at.notna().to_numpy(float)
    t = (df["group"].str.strip().str.lower() != "control").to_numpy(int)
    t_dir = root / "truth"
    persons = pd.read_csv(t_dir / "persons.csv", dtype=str, usecols=["source",
                          "source_customer_id", "person_id"]).drop_duplicates(
        ["source", "source_customer_id"])
    churn = pd.read_csv(t_dir / "churners.csv", dtype=str)
    up = pd.read_csv(t_dir / "uplift.csv", dtype={"person_id": str})
    tr = df[["source", "source_customer_id", "contacted_at"]].merge(
        persons, on=["source", "source_customer_id"], how="left").merge(
        churn[["person_id", "acquired_at", "dropped_out_at"]], on="person_id", how="left").merge(
        up[["person_id", f"effect_if_active_{channel}"]], on="person_id", how="left")
    acquired = pd.to_datetime(tr.acquired_at)
    dropped = pd.to_datetime(tr.dropped_out_at.replace("", None))
    active = (acquired <= tr.contacted_at) & (dropped.isna() | (dropped > tr.contacted_at))
    truth = (tr[f"effect_if_active_{channel}"].fillna(0) * active).to_numpy(float)
    X = X.drop(columns=["source_customer_id"])
    label = (f"channel {channel}, {len(X):,} contacts ({int(t.sum()):,} treated), outcome "
             "conversion within the window; features as of each contact day")
    return X, y, t, truth, label


def demo(directory: Path, customers: int, seed: int, channel: str) -> tuple[pd.DataFrame, str]:
    X, y, t, truth, label = demo_table(directory, customers, seed, channel)
    out = []
    for s in (0, 1, 2):
        r, _ = orderings(X.drop(columns=["campaign_id"]), y, t, s, truth)
        out.append(r.assign(seed=s))
    res = pd.concat(out).groupby("ordering", sort=False)[["qini", "uplift@30%", "fit s"]].mean()
    return res.reset_index(), label


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", type=Path, default=Path("/tmp/prisme-bench-campaigns"))
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--channels", nargs="+", default=["email", "post"])
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
        for channel in a.channels:
            r, label = demo(a.demo, a.customers, a.seed, channel)
            ideal = r.set_index("ordering").loc["ideal (truth)", "qini"]
            r["qini / ideal"] = r["qini"] / ideal
            print(f"\nDemo ({a.customers:,} customers, seed {a.seed}): {label} "
                  "(out of sample, mean of 3 splits)")
            print(r.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
