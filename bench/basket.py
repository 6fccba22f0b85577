"""Association rules on Online Retail: ``prisme.basket.rules`` against mlxtend, side by side.

    python bench/basket.py                 # min_support 0.01 and 0.005, 3 runs each
    python bench/basket.py --runs 1
    python bench/basket.py --steps         # also the time of each step of prisme's count

Baskets are the invoices without cancellations (InvoiceNo C…) and without returned lines
(Quantity ≤ 0); items are StockCodes; rules of up to three items, every confidence. Both sides
start from the same line table in memory (pandas for mlxtend, the same table in the engine for
Prisme) and end with the rule table:

* **mlxtend** — what a user would otherwise run: baskets → ``TransactionEncoder`` one-hot →
  ``fpgrowth(max_len=3)`` → ``association_rules(metric="confidence", min_threshold=0)``;
* **prisme** — ``prisme.basket.rules(lines, basket="InvoiceNo", item="StockCode")``, counted in
  DuckDB (frequent items; the biggest baskets as per-item bitmaps, the pairs of the others
  enumerated on integer codes and grouped by direct address, only the candidates that can reach
  the threshold completed by ``bit_count``; triples only from frequent pairs, likewise);
* **SQL self-join** — the plain three-way self-join of the lines a SQL user would write (no
  pruning, text items), for reference.

The rule sets are compared (same rules, same support/confidence/lift) before any time is shown.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import prisme.basket  # noqa: E402
from prisme import engine as engine_mod  # noqa: E402
from prisme.analytics import basket as basket_mod  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "online_retail" / "Online_Retail.csv.gz"


def load_lines() -> pd.DataFrame:
    df = pd.read_csv(DATA, dtype={"InvoiceNo": str, "StockCode": str},
                     usecols=["InvoiceNo", "StockCode", "Quantity"])
    return df[~df.InvoiceNo.str.startswith("C") & (df.Quantity > 0)][["InvoiceNo", "StockCode"]]


def run_mlxtend(lines: pd.DataFrame, min_support: float) -> pd.DataFrame:
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    baskets = lines.groupby("InvoiceNo").StockCode.apply(set).tolist()
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    itemsets = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=3)
    return association_rules(itemsets, num_itemsets=len(onehot), metric="confidence",
                             min_threshold=0.0)


def run_self_join(eng, min_support: float) -> int:
    """Frequent pairs and triples by a plain self-join of the lines (text items, no
    pruning but the final HAVING); returns the number of frequent itemsets."""
    t = eng.table("bench_lines")
    lines = t.select(bk=t.InvoiceNo, it=t.StockCode).distinct()
    n = int(eng.scalar(lines.bk.nunique()))
    need = math.ceil(min_support * n)
    a, b, c = lines.view(), lines.view(), lines.view()
    pairs = a.join(b, (a.bk == b.bk) & (a.it < b.it)).select(x=a.it, y=b.it)
    pairs = pairs.group_by(["x", "y"]).aggregate(n=pairs.count())
    triples = a.join(b, (a.bk == b.bk) & (a.it < b.it)).join(
        c, (c.bk == a.bk) & (b.it < c.it)).select(x=a.it, y=b.it, z=c.it)
    triples = triples.group_by(["x", "y", "z"]).aggregate(n=triples.count())
    np_ = eng.scalar(pairs.filter(pairs.n >= need).count())
    nt = eng.scalar(triples.filter(triples.n >= need).count())
    return int(np_) + int(nt)


def check_same(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    mine = {(tuple(a), tuple(c)): (s, cf, li) for a, c, s, cf, li in zip(
        ours.antecedent, ours.consequent, ours.support, ours.confidence, ours.lift, strict=True)}
    theirs = {(tuple(sorted(a)), tuple(sorted(c))): (s, cf, li) for a, c, s, cf, li in zip(
        ref.antecedents, ref.consequents, ref.support, ref.confidence, ref.lift, strict=True)}
    assert set(mine) == set(theirs), "rule sets differ"
    worst = max(max(abs(x - y) / max(abs(y), 1e-300) for x, y in zip(mine[k], v, strict=True))
                for k, v in theirs.items())
    assert worst < 1e-9, f"measures differ (relative {worst:.2g})"


class StepTimes:
    """The time to each intermediate table of prisme's count (``_Scratch.keep``), in order."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []
        self._keep = basket_mod._Scratch.keep
        self._last = 0.0

    def __enter__(self):
        outer = self

        def keep(scratch, name, expr):
            out = outer._keep(scratch, name, expr)
            now = time.perf_counter()
            outer.steps.append((name, now - outer._last))
            outer._last = now
            return out

        basket_mod._Scratch.keep = keep
        self._last = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        basket_mod._Scratch.keep = self._keep
        self.steps.append(("rule table and decoding", time.perf_counter() - self._last))


def timed(fn, runs: int):
    best, out = math.inf, None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per variant (best is shown)")
    ap.add_argument("--supports", default="0.01,0.005")
    ap.add_argument("--self-join", action="store_true", help="also time the plain self-join")
    ap.add_argument("--steps", action="store_true",
                    help="also time each step of one more prisme run")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    lines = load_lines()
    print(f"Online Retail: {len(lines):,} lines, {lines.InvoiceNo.nunique():,} baskets, "
          f"{lines.StockCode.nunique():,} items")
    rows = []
    with engine_mod.connect(path=":memory:") as eng:
        table = eng.create_table("bench_lines", lines, overwrite=True)
        for ms in (float(s) for s in args.supports.split(",")):
            t_ml, ref = timed(lambda ms=ms: run_mlxtend(lines, ms), args.runs)
            t_pr, ours = timed(lambda ms=ms: prisme.basket.rules(
                table, basket="InvoiceNo", item="StockCode", min_support=ms), args.runs)
            check_same(ours, ref)
            row = {"min_support": ms, "rules": len(ours), "mlxtend s": round(t_ml, 3),
                   "prisme s": round(t_pr, 3), "× faster": round(t_ml / t_pr, 1)}
            if args.self_join:
                t_sj, _ = timed(lambda ms=ms: run_self_join(eng, ms), 1)
                row["SQL self-join s"] = round(t_sj, 3)
                row["self-join × faster than mlxtend"] = round(t_ml / t_sj, 1)
            rows.append(row)
            print(row, flush=True)
            if args.steps:
                with StepTimes() as st:
                    prisme.basket.rules(table, basket="InvoiceNo", item="StockCode",
                                        min_support=ms)
                print("  steps: " + ", ".join(f"{n} {t:.2f} s" for n, t in st.steps),
                      flush=True)
    print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print()
    print(markdown(rows))


def markdown(rows: list[dict]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    lines += ["| " + " | ".join(str(r[h]) for h in head) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
