"""``prisme demo``: generate a synthetic company, then run the whole chain on it.

generate the sources (with their ``prisme.toml`` and ``truth/``) → ingest every source →
build (identity, quality, marts). The caller prints the summary and, once the dashboard
exists, serves it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prisme import engine as engine_mod
from prisme.config import load_settings


@dataclass
class DemoRun:
    directory: Path
    manifest: Any
    loads: list = field(default_factory=list)
    build: Any = None
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(directory: Path, customers: int, seed: int, *, progress=None) -> DemoRun:
    """Generate the company into ``directory`` and load and build its warehouse."""
    from prisme.build import build
    from prisme.demo import generate
    from prisme.ingest import ingest

    directory = Path(directory)
    run = DemoRun(directory=directory, manifest=None)

    t0 = time.perf_counter()
    run.manifest = generate(customers=customers, seed=seed, directory=directory, progress=progress)
    run.seconds["generate"] = time.perf_counter() - t0

    settings = load_settings(directory)
    with engine_mod.connect(settings) as eng:
        t0 = time.perf_counter()
        file_progress = None
        if progress is not None:
            def file_progress(source, file_name, done, total):
                progress(f"ingest {source}: {Path(str(file_name)).name}", done, total)

        run.loads = ingest(settings, engine=eng, progress=file_progress)
        run.seconds["ingest"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        run.build = build(settings, engine=eng, progress=progress)
        run.seconds["build"] = time.perf_counter() - t0
    return run
