"""CLV models: prisme vs lifetimes, side by side on the same data in one run.

    python bench/clv.py [--quick] [--limit SECONDS]

Data: CDNOW (2,357 customers, the published 39-week calibration), then 100k and 1M customers
simulated by BG/NBD with CDNOW-like parameters (T spread over 39-78 weeks, times on whole days as
in CDNOW; spends from Gamma-Gamma). Each fit runs in its own subprocess (fit time, peak RSS
growth during the fit); lifetimes runs under a time limit and is reported as "> limit" when it
does not finish. Also times prisme scoring (P(alive), E[Y(52)], expected spend) on 1M customers.
``--quick`` skips the 1M size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cdnow"
BGNBD = {"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262}
GG = {"p": 6.25, "q": 3.74, "v": 15.44}
MODELS = ("BetaGeo", "ParetoNBD", "GammaGamma")
PARAMS = {"BetaGeo": ["r", "alpha", "a", "b"], "ParetoNBD": ["r", "alpha", "s", "beta"],
          "GammaGamma": ["p", "q", "v"]}


# ----------------------------------------------------------------------------- data
def cdnow() -> pd.DataFrame:
    df = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    return pd.DataFrame({"frequency": df["x"], "recency": df["t_x"], "T": df["T"],
                         "monetary_value": df["zbar"]})


def simulated(n: int, seed: int) -> pd.DataFrame:
    from prisme.analytics.models import bgnbd, gammagamma

    rng = np.random.default_rng(seed)
    T = np.round(rng.uniform(39, 78, n) * 7) / 7
    df = bgnbd.simulate(BGNBD, n, T, seed=seed + 1).drop(columns="alive")
    df["recency"] = np.where(df["frequency"] > 0,
                             np.minimum(np.round(df["recency"] * 7) / 7, df["T"]), 0.0)
    spend = gammagamma.simulate(GG, np.maximum(df["frequency"], 1), seed=seed + 2)
    df["monetary_value"] = np.where(df["frequency"] > 0, spend["monetary_value"].round(2), 0.0)
    df.loc[(df["frequency"] > 0) & (df["monetary_value"] <= 0), "monetary_value"] = 0.01
    return df


# ----------------------------------------------------------------------------- workers
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def worker(tool: str, model: str, path: str) -> None:
    """Fit one model with one tool in this (fresh) process; print a JSON line."""
    import warnings

    warnings.filterwarnings("ignore")
    df = pd.read_parquet(path)
    rep = df[df["frequency"] > 0]
    if tool == "prisme":
        from prisme import models as pm

        fitter = getattr(pm, model)()
    else:
        import lifetimes

        fitter = {"BetaGeo": lifetimes.BetaGeoFitter, "ParetoNBD": lifetimes.ParetoNBDFitter,
                  "GammaGamma": lifetimes.GammaGammaFitter}[model]()
    base = _rss_mb()
    start = time.perf_counter()
    if tool == "prisme":
        fitter.fit(rep if model == "GammaGamma" else df)
        params = fitter.params_
    elif model == "GammaGamma":
        fitter.fit(rep["frequency"], rep["monetary_value"])
        params = dict(fitter.params_)
    else:
        fitter.fit(df["frequency"], df["recency"], df["T"])
        params = dict(fitter.params_)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": max(peak - base, 0.0),
                      "params": {k: float(v) for k, v in params.items()}}))


def score_worker(path: str) -> None:
    """Time prisme scoring of every customer: P(alive), E[Y(52)], expected spend."""
    from prisme.models import BetaGeo, GammaGamma

    df = pd.read_parquet(path)
    bg = BetaGeo().with_params(**BGNBD)
    gg = GammaGamma().with_params(**GG)
    start = time.perf_counter()
    bg.probability_alive(df)
    bg.expected_purchases(df, 52.0)
    gg.expected_spend(df)
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": len(df)}))


def run(args: list[str], limit: float) -> dict | None:
    cmd = [sys.executable, __file__, *args]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        return {"error": exc.stderr.strip().splitlines()[-1] if exc.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 1M-customer size")
    ap.add_argument("--limit", type=float, default=600.0, help="seconds allowed per lifetimes fit")
    ap.add_argument("--worker", nargs=3, metavar=("TOOL", "MODEL", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--score", metavar="PATH", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(*a.worker)
    if a.score:
        return score_worker(a.score)

    sizes = [("CDNOW 2,357", cdnow), ("sim 100k", lambda: simulated(100_000, 7))]
    if not a.quick:
        sizes.append(("sim 1M", lambda: simulated(1_000_000, 11)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in sizes:
            path = str(Path(tmp) / "data.parquet")
            make().to_parquet(path)
            for model in MODELS:
                ours = run(["--worker", "prisme", model, path], 3600)
                theirs = run(["--worker", "lifetimes", model, path], a.limit)
                rows.append(_row(label, model, ours, theirs, a.limit))
                print(_fmt(rows[-1]), flush=True)
            if label == "sim 1M" or (a.quick and label == "sim 100k"):
                score = run(["--score", path], 600)
                print(f"\nprisme scoring {score['rows']:,} customers (P(alive), E[Y(52)], "
                      f"expected spend): {score['seconds']:.2f} s")
    print("\n" + _markdown(rows))


def _row(label, model, ours, theirs, limit) -> dict:
    row = {"data": label, "model": model, "prisme_s": ours["seconds"],
           "prisme_mb": ours["peak_mb"], "lifetimes_s": None, "lifetimes_mb": None,
           "ratio": None, "rel_diff": None, "note": ""}
    if theirs is None:
        row["note"] = f"lifetimes > {limit:.0f} s"
    elif "error" in theirs:
        row["note"] = f"lifetimes failed: {theirs['error'][:60]}"
    else:
        row.update(lifetimes_s=theirs["seconds"], lifetimes_mb=theirs["peak_mb"],
                   ratio=theirs["seconds"] / ours["seconds"])
        row["rel_diff"] = max(abs(ours["params"][k] - theirs["params"][k]) / abs(theirs["params"][k])
                              for k in PARAMS[model])
    row["params"] = ", ".join(f"{k}={ours['params'][k]:.4f}" for k in PARAMS[model])
    if theirs is None:
        row["ratio_text"] = f"> {limit / ours['seconds']:.0f}x"
    else:
        row["ratio_text"] = "" if row["ratio"] is None else f"{row['ratio']:.1f}x"
    return row


def _fmt(r: dict) -> str:
    lt = "-" if r["lifetimes_s"] is None else f"{r['lifetimes_s']:.2f}s"
    diff = "-" if r["rel_diff"] is None else f"{r['rel_diff']:.1e}"
    return (f"{r['data']:<12} {r['model']:<10} prisme {r['prisme_s']:.2f}s "
            f"({r['prisme_mb']:.0f} MB) | lifetimes {lt} | {r['ratio_text']} | rel diff {diff} "
            f"{r['note']}")


def _markdown(rows) -> str:
    head = ("| data | model | prisme fit (s) | lifetimes fit (s) | speed-up | prisme peak MB | "
            "lifetimes peak MB | max rel. param diff | prisme params |\n"
            "|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lt = r["note"] or ("-" if r["lifetimes_s"] is None else f"{r['lifetimes_s']:.2f}")
        lmb = "-" if r["lifetimes_mb"] is None else f"{r['lifetimes_mb']:.0f}"
        diff = "-" if r["rel_diff"] is None else f"{r['rel_diff']:.1e}"
        lines.append(f"| {r['data']} | {r['model']} | {r['prisme_s']:.2f} | {lt} | "
                     f"{r['ratio_text']} | {r['prisme_mb']:.0f} | {lmb} | {diff} | {r['params']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
