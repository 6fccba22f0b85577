"""Time the scores step of ``prisme build`` alone, on a project already built.

    python bench/scores_stage.py DIR [--out OUT]   # seconds, peak memory, results to OUT

Runs :func:`prisme.analytics.scores.build_scores` (churn, then next best offers, then their
``customer_360`` columns) in this process on the project's warehouse, as ``prisme build``
does, and prints the seconds of each sub-step (from the stage's progress messages), the total
and the peak resident memory of the process (DuckDB's buffers included). It writes into the
warehouse (the scores' tables): run it on a copy of a project, never on a bench's own.
``--out`` saves the scores and the evaluations as Parquet, to compare two versions' results.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from prisme import engine as engine_mod
    from prisme.analytics.scores import build_scores
    from prisme.config import load_settings

    settings = load_settings(args.project)
    eng = engine_mod.connect(settings)
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()

    def progress(what, done, total):
        marks.append((what, time.perf_counter()))
        print(f"  {time.perf_counter() - started:7.1f} s  {what}", flush=True)

    try:
        with eng.exclusive("bench scores"):
            summary = build_scores(eng, settings, progress=progress)
        total = time.perf_counter() - started
        for line in summary.lines():
            print(line)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"scores step: {total:.1f} s, peak RSS {peak:.2f} GiB")
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            for name in ("churn_scores", "churn_evaluation", "churn_lift", "churn_calibration",
                         "offer_scores", "offer_evaluation"):
                if eng.has_table(name):
                    eng.to_pandas(eng.table(name)).to_parquet(args.out / f"{name}.parquet")
    finally:
        eng.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
