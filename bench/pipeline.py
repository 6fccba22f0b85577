"""Scaling curve of the whole chain: generate → ingest → identity → quality → marts.

Each (engine, size) runs in its own process (a fresh interpreter, and for Spark a fresh JVM),
on the demo company generated once per size (``bench/.pipeline/<size>/sources``; the project
folder is copied per engine so both start from an empty warehouse). The parent samples the
resident memory of the whole process tree (Python + JVM) every 0.2 s and keeps the peak.

    python bench/pipeline.py                                 # 10k, 100k on both; 1M DuckDB
    python bench/pipeline.py --runs duckdb:10000 spark:10000 # chosen runs
    python bench/pipeline.py --table                         # print the table of saved runs

Results go to ``bench/.pipeline/results.json`` (one entry per run, the latest wins) and the
printed table compares per-step seconds, growth ratios between sizes (per 10x customers) and
Spark / DuckDB ratios at the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("PRISME_BENCH_DIR", HERE / ".pipeline"))
RESULTS = WORK / "results.json"
STEPS = ("ingest", "identity", "quality", "marts")
DEFAULT_RUNS = ["duckdb:10000", "spark:10000", "duckdb:100000", "spark:100000",
                "duckdb:1000000"]
SEED = 7


def demo_dir(size: int) -> Path:
    """The demo company of this size, generated once (its sources and prisme.toml)."""
    from prisme.demo import generate

    d = WORK / str(size) / "company"
    if not (d / "prisme.toml").exists():
        shutil.rmtree(d, ignore_errors=True)
        generate(customers=size, seed=SEED, directory=d)
    return d


def project_for(backend: str, size: int) -> Path:
    """A copy of the company's project folder without any warehouse, set to ``backend``."""
    import tomllib

    import tomli_w

    src = demo_dir(size)
    dst = WORK / str(size) / backend
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
        "warehouse.*", "spark-warehouse*", "*.lock", "access.sqlite3*"))
    conf = tomllib.loads((dst / "prisme.toml").read_text(encoding="utf-8"))
    conf.setdefault("engine", {})["backend"] = backend
    if backend == "spark":
        # the demo's prisme.toml writes every default (driver_memory = "4g"), so set it here:
        # Spark local at 100k ran out of a 4g heap in identity's EM (session 8)
        conf["engine"]["driver_memory"] = os.environ.get("PRISME_BENCH_SPARK_MEMORY", "8g")
        conf["engine"].setdefault("shuffle_partitions", 4)
    (dst / "prisme.toml").write_text(tomli_w.dumps(conf), encoding="utf-8")
    return dst


def run_one(project: Path) -> dict:
    """Inside the child: ingest and build the project, time each step."""
    from prisme import engine as engine_mod
    from prisme.build import build
    from prisme.config import load_settings
    from prisme.ingest import ingest

    settings = load_settings(project)
    out: dict = {}
    t0 = time.perf_counter()
    with engine_mod.connect(settings) as eng:
        t = time.perf_counter()
        out["started_at"] = time.time()  # wall clock: the parent maps its memory samples
        loads = ingest(settings, engine=eng)
        out["ingest"] = time.perf_counter() - t
        out["rows_loaded"] = sum(r.rows_loaded for r in loads)
        out["failed_loads"] = [r.message for r in loads if r.status == "failed"]
        summary = build(settings, engine=eng)
        out.update(summary.seconds)
        out["parties"] = int(eng.scalar(eng.table("customer_360").count()))
    out["total"] = time.perf_counter() - t0
    return out


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(backend: str, size: int, keep: bool = False) -> dict:
    """Run one (engine, size) in a child process; seconds per step and peak memory.

    ``keep`` leaves the built project (``<size>/<backend>``) in place, e.g. for ``bench/serve.py``.
    """
    project = project_for(backend, size)
    cmd = [sys.executable, __file__, "--child", str(project)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    samples: list[tuple[float, int]] = []
    while proc.poll() is None:
        rss = _tree_rss(proc.pid)
        peak = max(peak, rss)
        samples.append((time.time(), rss))
        time.sleep(0.2)
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"{backend} at {size:,} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_gib_by_step"] = _peaks_by_step(result, samples)
    result.update(backend=backend, customers=size, peak_gib=peak / 2**30,
                  date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  load_average=os.getloadavg()[0])
    if not keep:
        shutil.rmtree(project, ignore_errors=True)  # the warehouse copy (sources stay cached)
    return result


def _peaks_by_step(result: dict, samples: list[tuple[float, int]]) -> dict[str, float]:
    """Peak resident memory (GiB) during each step: the steps ran one after the other from
    ``started_at`` for the seconds the child reported (ingest, then the build's steps)."""
    order = [k for k in result if isinstance(result[k], float)
             and k not in ("total", "started_at")]
    peaks, start = {}, result.get("started_at")
    if start is None:
        return peaks
    for step in order:
        end = start + result[step]
        inside = [rss for t, rss in samples if start <= t <= end]
        peaks[step] = round(max(inside, default=0) / 2**30, 2)
        start = end
    return peaks


def saved() -> list[dict]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else []


def save(result: dict) -> None:
    runs = [r for r in saved()
            if (r["backend"], r["customers"]) != (result["backend"], result["customers"])]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([*runs, result], indent=1))


def table(runs: list[dict]) -> str:
    """Markdown table: seconds per step, peak memory, growth per 10x, Spark / DuckDB."""
    runs = sorted(runs, key=lambda r: (r["backend"], r["customers"]))
    by = {(r["backend"], r["customers"]): r for r in runs}
    head = ("| engine | customers | " + " | ".join(f"{s} s" for s in STEPS)
            + " | later build steps s | total s | peak GiB | growth vs 10x fewer | spark / duckdb |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in runs:
        smaller = by.get((r["backend"], r["customers"] // 10))
        growth = f"{r['total'] / smaller['total']:.1f}x" if smaller else "-"
        duck = by.get(("duckdb", r["customers"]))
        ratio = f"{r['total'] / duck['total']:.1f}x" if r["backend"] == "spark" and duck else "-"
        later = r["total"] - sum(r.get(s, 0) for s in STEPS)  # scores, campaigns… (build)
        cells = " | ".join(f"{r.get(s, 0):.1f}" for s in STEPS) + f" | {later:.1f}"
        lines.append(f"| {r['backend']} | {r['customers']:,} | {cells} | {r['total']:.1f} | "
                     f"{r['peak_gib']:.2f} | {growth} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="*", default=DEFAULT_RUNS,
                    help="engine:customers, e.g. duckdb:10000 spark:100000")
    ap.add_argument("--table", action="store_true", help="print the saved runs and stop")
    ap.add_argument("--keep", action="store_true",
                    help="keep each built project (<size>/<engine>) instead of deleting it")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(Path(args.child))))
        return
    if not args.table:
        for spec in args.runs:
            backend, size = spec.split(":")
            result = measure(backend, int(size), keep=args.keep)
            save(result)
            print(f"{backend} {int(size):,}: {result['total']:.1f} s, "
                  f"{result['peak_gib']:.2f} GiB", flush=True)
    print(table(saved()))


if __name__ == "__main__":
    main()
