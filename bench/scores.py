"""Churn scores and next best offers on the demo company, checked against its truth.

    python bench/scores.py                    # 20,000 customers, seed 1
    python bench/scores.py --customers 5000

The demo company is generated and run through the whole chain once (``prisme demo`` without
serving; cached in ``$TMPDIR/prisme-bench-scores/demo-N-SEED``). Printed:

* the churn model on a **later, unseen period** (the ``churn_evaluation`` table written by the
  build: trained on cut-offs whose horizon ends before the evaluation day, scored as of that
  day, compared with who then bought nothing for a horizon): ROC-AUC, PR-AUC, top-decile lift,
  calibration error — side by side with what a user would otherwise rank by on the same
  customers: 1 − P(alive) of a BG/NBD model and the days since the last purchase;
* the reasons: among today's top-decile customers whose truth says they left unhappy
  (``truth/churners.csv``, ``churn_driver = low_satisfaction``), the share whose reasons name
  their satisfaction (a survey rating or a complaint) — of all of them, and of those the
  warehouse knew something about on the scoring day (a survey answer or a complaint call);
  same for late payers (``late_payment``) and their payments (an invoice paid late or overdue);
* next best offers checked as of a past cut-off: hit rate of the top 3 on what customers
  bought next, against the 3 most popular categories they did not own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from prisme import engine as engine_mod  # noqa: E402
from prisme.analytics import churn  # noqa: E402
from prisme.config import load_settings  # noqa: E402
from prisme.i18n import reasons as churn_reasons  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "prisme-bench-scores"
SATISFACTION = re.compile(r"rated|complaint")
PAYMENT = re.compile(r"late|overdue|invoice")


def demo(customers: int, seed: int) -> tuple[Path, float]:
    from prisme.demo.run import run_demo

    folder = CACHE / f"demo-{customers}-{seed}"
    if (folder / "warehouse.duckdb").exists() and (folder / ".done").exists():
        return folder, float((folder / ".done").read_text())
    started = time.perf_counter()
    run = run_demo(folder, customers, seed)
    seconds = run.seconds.get("build", time.perf_counter() - started)
    (folder / ".done").write_text(f"{seconds:.1f}")
    return folder, seconds


def _auc(y, score) -> float:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return roc_auc_score(y, score), average_precision_score(y, score)


def _top_lift(y, score) -> float:
    order = np.argsort(-np.asarray(score), kind="stable")[: max(len(y) // 10, 1)]
    return float(np.asarray(y)[order].mean() / np.mean(y))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rescore", action="store_true",
                    help="re-run the scores stage (churn, offers) on the cached demo first")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    folder, build_s = demo(args.customers, args.seed)
    settings = load_settings(folder)
    stage_s = None
    if args.rescore:
        from prisme.analytics.scores import build_scores

        with engine_mod.connect(settings) as eng:
            started = time.perf_counter()
            build_scores(eng, settings)
            stage_s = time.perf_counter() - started
    # the working state (a scores stage re-run here is not a published build)
    with engine_mod.connect(settings) as eng:
        ev = eng.to_pandas(eng.table("churn_evaluation"))
        version = ev.version.iloc[-1]
        ev = ev[ev.version == version]
        m = ev.set_index("metric").value
        day = pd.Timestamp(ev.evaluated_as_of.iloc[0]).date()
        a = settings.analytics
        test = churn.training_frame(eng, [day], horizon_days=a.churn_horizon_days,
                                    active_days=a.churn_active_days, notes=[])
        scores = eng.to_pandas(eng.table("churn_scores"))
        # what the warehouse knew of each scored customer on the scoring day (does the data
        # carry the driver at all?)
        known = churn.feature_frame(eng, pd.Timestamp(scores.as_of.iloc[0]).date(),
                                    active_days=a.churn_active_days, notes=[])
        pmap = eng.to_pandas(eng.table("party_map"))
        offers = eng.to_pandas(eng.table("offer_evaluation")).set_index("metric").value
    y = test.churned.astype(int).to_numpy()
    rows = [{"score (unseen period after " + str(day) + ")": "prisme churn model",
             "ROC-AUC": m["roc_auc"], "PR-AUC": m["pr_auc"],
             "top-decile lift": m["top_decile_lift"], "calibration error": m["calibration_error"]}]
    for name, score in [("1 − P(alive) (BG/NBD)", 1 - test.p_alive.to_numpy()),
                        ("days since last purchase", test.days_since_last_purchase.to_numpy())]:
        auc, ap_ = _auc(y, score)
        rows.append({"score (unseen period after " + str(day) + ")": name, "ROC-AUC": auc,
                     "PR-AUC": ap_, "top-decile lift": _top_lift(y, score),
                     "calibration error": float("nan")})
    stage = f", scores stage {stage_s:.0f} s" if stage_s is not None else ""
    print(f"demo {args.customers:,} customers (seed {args.seed}), build {build_s:.0f} s{stage}; "
          f"{int(m['customers']):,} active customers at {day}, base churn rate "
          f"{m['base_rate']:.1%}, horizon {a.churn_horizon_days} days")
    print(markdown(rows))

    truth = pd.read_csv(folder / "truth" / "churners.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(folder / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    link = pmap.merge(persons[["source", "source_customer_id", "person_id"]],
                      on=["source", "source_customer_id"])
    # a party's person: the most frequent person among its records
    person = link.groupby("party_id").person_id.agg(lambda s: s.value_counts().index[0])
    top = scores.sort_values("churn_probability", ascending=False).head(len(scores) // 10)
    top = top.assign(person_id=top.party_id.map(person)).merge(truth, on="person_id",
                                                               how="left")
    # the reasons in words (stored as codes and figures)
    reasons = pd.Series([churn_reasons.text(v) or "" for v in top.churn_reasons])
    known = known.set_index("party_id").reindex(top.party_id)
    rated = known.reindex(columns=["last_sat_service", "last_sat_product", "last_nps"])
    evidence = {
        # a survey answer or a complaint call before the scoring day
        "low_satisfaction": (rated.notna().any(axis=1)
                             | (known.get("complaints_365d", 0) > 0)).to_numpy(),
        # an invoice paid late, or overdue and not paid, by the scoring day
        "late_payment": ((known.get("late_invoice_share", 0) > 0)
                         | (known.get("unpaid_overdue", 0) > 0)).to_numpy(),
    }
    out = []
    for driver, pattern, what in [("low_satisfaction", SATISFACTION, "satisfaction"),
                                  ("late_payment", PAYMENT, "payments")]:
        sel = (top.churn_driver == driver).to_numpy()
        named = reasons.str.contains(pattern).to_numpy()
        has = sel & evidence[driver]
        share = named[sel].mean() if sel.any() else float("nan")
        among = named[has].mean() if has.any() else float("nan")
        out.append({"top decile today, truth says": f"left, {driver}", "customers":
                    int(sel.sum()), "reasons name the driver": f"{share:.0%} ({what})",
                    "the data shows it": f"{int(has.sum())} ({has.sum() / max(sel.sum(), 1):.0%})",
                    "reasons name it, among those": f"{among:.0%}"})
    print()
    print(markdown(out))
    print()
    print(markdown([{"next best offers (top 3, categories)": "prisme (next-order rules, ownership rules, segment propensity)",
                     "hit rate": f"{offers['hit_rate']:.1%}",
                     "customers who bought something new": int(offers["customers"])},
                    {"next best offers (top 3, categories)": "3 most popular not owned",
                     "hit rate": f"{offers['popular_hit_rate']:.1%}",
                     "customers who bought something new": int(offers["customers"])}]))
    print(f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")


def markdown(rows: list[dict]) -> str:
    head = list(rows[0])

    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(r[h]) for h in head) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
