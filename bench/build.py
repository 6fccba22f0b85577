"""``prisme build`` outside the Splink resolve: where the time and the memory go, step by step.

    python bench/build.py                        # 250k demo customers, truth resolver
    python bench/build.py --customers 20000      # quick
    python bench/build.py --resolver splink      # the real resolve (slow; its time is shown)

A demo company of N customers is generated and ingested once (cached in
``$TMPDIR/prisme-bench-build/demo-N-SEED``, the warehouse kept pristine as ``ingested.duckdb``);
each measurement copies that warehouse and runs ``prisme.build.build`` on it **twice**: the
first build (no previous party map: every party is new) and a re-run on the same data (every
party id must come back; the usual nightly case). The identity step gets a resolver given by
``--resolver``: ``truth`` (default) clusters the records by the demo's ``truth/persons.csv``
(a realistic partition at no cost, so that the rest of the build is what is measured);
``splink`` is :func:`prisme.identity.resolve`.

Steps are timed from the progress ticks of the build (identity sub-steps, quality, marts
sub-steps). Peak memory per step is the process's resident high-water mark, reset before each
step through ``/proc/self/clear_refs`` (Linux); DuckDB's memory is in the same process.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from prisme import engine as engine_mod  # noqa: E402
from prisme.build import build  # noqa: E402
from prisme.config import load_settings  # noqa: E402
from prisme.identity import build as identity_build  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "prisme-bench-build"


# ----------------------------------------------------------------------------- memory
def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- the data
def prepare(customers: int, seed: int) -> Path:
    """The demo company of ``customers`` persons, generated and ingested once."""
    from prisme.demo import generate
    from prisme.ingest import ingest

    folder = CACHE / f"demo-{customers}-{seed}"
    pristine = folder / "ingested.duckdb"
    if pristine.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    generate(customers=customers, seed=seed, directory=folder)
    print(f"generated {customers:,} customers in {time.perf_counter() - t0:.0f} s", flush=True)
    settings = load_settings(folder)
    t0 = time.perf_counter()
    with engine_mod.connect(settings) as eng:
        ingest(settings, engine=eng)
    print(f"ingested in {time.perf_counter() - t0:.0f} s", flush=True)
    shutil.move(folder / "warehouse.duckdb", pristine)
    return folder


def truth_resolver(folder: Path):
    """A resolver returning the demo's true persons (records not in the truth: alone)."""
    truth = pd.read_csv(folder / "truth" / "persons.csv", dtype=str,
                        usecols=["source", "source_customer_id", "person_id"])

    def resolve(records: pd.DataFrame, **_) -> pd.DataFrame:
        j = records[["source", "source_customer_id", "record_id"]].merge(
            truth, on=["source", "source_customer_id"], how="left")
        alone = "r" + j.record_id.astype(str)
        return pd.DataFrame({"record_id": j.record_id,
                             "party_id": j.person_id.fillna(alone).astype(str),
                             "match_probability": 1.0})

    return resolve


# ----------------------------------------------------------------------------- the run
class Clock:
    """Turns progress ticks into (step, wall s, CPU s, peak MiB) rows: a step ends at the
    next tick with another name. CPU is the process's (every DuckDB thread included): on a
    shared machine it moves less than the wall time."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float]] = []
        self.name: str | None = None
        self.start = self.cpu = 0.0

    def tick(self, name: str, *_args) -> None:
        name = _step_name(name)
        if name == self.name:
            return
        self.close()
        self.name, self.start, self.cpu = name, time.perf_counter(), time.process_time()
        _reset_peak()

    def close(self) -> None:
        if self.name is not None:
            self.rows.append((self.name, time.perf_counter() - self.start,
                              time.process_time() - self.cpu, _peak_mib()))
        self.name = None


def _step_name(message: str) -> str:
    if message.startswith(("resolv", "identity: resolv", "identity resolution")):
        return "identity: resolve"
    return message.split(" (")[0]


def run_once(settings, resolver, label: str) -> list[tuple[str, float, float, float]]:
    """One ``prisme build``: (step, wall s, CPU s, peak MiB) rows, then the total."""
    clock = Clock()
    with engine_mod.connect(settings) as eng:
        def resolve_timed(records, **kw):
            clock.tick("identity: resolve")
            out = resolver(records, **kw)
            clock.tick("identity: overrides")
            return out

        original = identity_build._default_resolver
        identity_build._default_resolver = lambda: resolve_timed
        try:
            _reset_peak()
            t0, c0 = time.perf_counter(), time.process_time()
            summary = build(settings, engine=eng, progress=_forward(clock))
            total, cpu = time.perf_counter() - t0, time.process_time() - c0
            clock.close()
        finally:
            identity_build._default_resolver = original
    rows = list(clock.rows)
    rows.append(("TOTAL", total, cpu, max(r[3] for r in rows)))
    print(f"{label}: {summary.steps['identity']}", flush=True)
    return rows


def _forward(clock: Clock):
    def progress(message, *args):
        if not message.startswith("marts: done"):
            clock.tick(message, *args)
    return progress


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=250_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resolver", choices=["truth", "splink"], default="truth")
    p.add_argument("--runs", type=int, default=2, help="builds in a row (2: first + re-run)")
    args = p.parse_args(argv)

    folder = prepare(args.customers, args.seed)
    work = folder / "warehouse.duckdb"
    shutil.copyfile(folder / "ingested.duckdb", work)
    wal = folder / "warehouse.duckdb.wal"
    wal.unlink(missing_ok=True)
    settings = load_settings(folder)
    resolver = truth_resolver(folder) if args.resolver == "truth" else \
        identity_build._default_resolver()
    print(f"\n{args.customers:,} demo customers, resolver {args.resolver}, "
          f"DuckDB memory_limit {settings.engine.memory_limit}, threads {settings.engine.threads}")
    results = []
    for k in range(args.runs):
        label = "first build" if k == 0 else "re-run"
        results.append((label, run_once(settings, resolver, label)))
    print()
    print("| step | " + " | ".join(f"{lab}: s | CPU s | peak MiB" for lab, _ in results) + " |")
    print("|---|" + "---:|---:|---:|" * len(results))
    names = list(dict.fromkeys(n for _, rows in results for n, *_ in rows))
    for name in names:
        cells = []
        for _, rows in results:
            r = next((x for x in rows if x[0] == name), None)
            cells.append("– | – | –" if r is None else f"{r[1]:.1f} | {r[2]:.1f} | {r[3]:,.0f}")
        label = "**total**" if name == "TOTAL" else name
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
