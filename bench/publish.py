"""What publishing a build costs, beside the other ways to hand readers a whole state.

    python bench/publish.py --customers 100000
    python bench/publish.py --project DIR          # an existing project (its warehouse)

A demo company of N customers is generated, ingested and built once (cached in
``$TMPDIR/prisme-bench-publish/demo-N``). Then, on that warehouse, side by side:

* **prisme publish** — ``Engine.publish``: CHECKPOINT, byte copy of the whole file into
  ``.published/``, pointer swap, stale copies removed (what ``prisme build`` / ``prisme ingest``
  do at their end);
* **cp** — the shell's ``cp`` of the file (what a user would otherwise do: stop, copy, restart);
* **COPY FROM DATABASE** — DuckDB rewrites every table into a new file (re-encoded);
* **reader tables only** — DuckDB copies only ``customer_360`` and the ``mart_*`` tables (the
  marts the dashboard reads; a notebook would not find the facts there);
* **open published** — a reader's ``connect(read_only=True)`` on the published copy, and a
  ``count(*)`` of ``customer_360``.

Times are the median of ``--repeat`` runs; the ratio is each way's time over prisme's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from prisme import engine as engine_mod  # noqa: E402
from prisme.config import load_settings  # noqa: E402
from prisme.engine import publish  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "prisme-bench-publish"


def _project(customers: int, seed: int) -> Path:
    directory = CACHE / f"demo-{customers}-{seed}"
    if not (directory / ".published").exists():
        from prisme.demo.run import run_demo

        started = time.perf_counter()
        run_demo(directory, customers, seed)
        print(f"demo of {customers:,} customers built in {time.perf_counter() - started:.0f}s")
    return directory


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--project", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = args.project or _project(args.customers, args.seed)
    settings = load_settings(root)
    warehouse = settings.warehouse_path
    scratch = CACHE / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    size = warehouse.stat().st_size
    rows = {}
    with engine_mod.connect(settings) as eng, eng.exclusive("bench/publish.py"):
        rows["prisme publish"] = _median(lambda: eng.publish("bench"), args.repeat)
        pointer = publish.current(warehouse)

        def cp():
            subprocess.run(["cp", str(warehouse), str(scratch / "cp.duckdb")], check=True)

        rows["cp of the file"] = _median(cp, args.repeat)
        tables = [t for t in eng.list_tables()
                  if t == "customer_360" or t.startswith("mart_")]

        def copy_db(only: list[str] | None):
            target = scratch / "copy.duckdb"
            target.unlink(missing_ok=True)
            eng.execute_sql(f"ATTACH '{target}' AS pub")
            try:
                if only is None:
                    eng.execute_sql("COPY FROM DATABASE \"" + warehouse.stem + "\" TO pub")
                else:
                    for t in only:
                        eng.execute_sql(f'CREATE TABLE pub."{t}" AS SELECT * FROM "{t}"')
            finally:
                eng.execute_sql("DETACH pub")

        rows["DuckDB COPY FROM DATABASE"] = _median(lambda: copy_db(None), args.repeat)
        rows["reader tables only (marts)"] = _median(lambda: copy_db(tables), args.repeat)

    def open_read():
        with engine_mod.connect(settings, read_only=True) as r:
            r.scalar(r.table("customer_360").count())

    opened = _median(open_read, args.repeat)
    for f in scratch.glob("*.duckdb"):
        f.unlink()
    base = rows["prisme publish"]
    print(f"\nwarehouse {warehouse} — {size / 2**20:,.0f} MiB; published copy "
          f"{pointer['bytes'] / 2**20:,.0f} MiB; median of {args.repeat}")
    print(f"{'way':<32}{'seconds':>10}{'ratio to prisme':>18}")
    for name, secs in rows.items():
        print(f"{name:<32}{secs:>10.2f}{secs / base:>17.2f}x")
    print(f"{'reader: open published + count':<32}{opened:>10.2f}")


if __name__ == "__main__":
    main()
