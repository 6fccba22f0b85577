"""A load killed with SIGKILL just before it publishes leaves the previous state intact, on
every backend: on DuckDB the open transaction dies with the process; on Spark the parts the
load wrote are never named by a committed manifest (readers do not see them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import tomli_w

from prisme import engine as engine_mod
from prisme.config import load_settings
from prisme.ingest import ingest

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from prisme.config import load_settings
    from prisme.ingest import ingest
    from prisme.warehouse import batches

    project = Path(sys.argv[1])
    real = batches.record

    def record(engine, result, *args, **kwargs):
        real(engine, result, *args, **kwargs)
        if result.status == "loaded" and result.file_name.endswith("second.csv"):
            # everything is written, the load's journal row too: the last moment before
            # the load is published. Say so, then wait for the kill.
            (project / "ready").write_text("ready")
            time.sleep(600)

    batches.record = record
    ingest(load_settings(project))
""")


def _project(settings, tmp_path):
    (tmp_path / "sales").mkdir()
    lines = ["o;d;k;q;r;c"] + [f"A{i};2024-01-{1 + i % 28:02d};x;1;10;{i}" for i in range(50)]
    (tmp_path / "sales" / "first.csv").write_text("\n".join(lines) + "\n")
    conf = {
        "engine": settings.engine.model_dump(exclude_none=True),
        "sources": {"shop": {
            "entity": "transaction", "path": "sales/*.csv", "separator": ";",
            "date_format": "%Y-%m-%d", "constants": {"source": "shop"},
            "columns": {"order_id": "o", "ordered_at": "d", "sku": "k", "quantity": "q",
                        "revenue": "r", "source_customer_id": "c"},
        }},
    }
    (tmp_path / "prisme.toml").write_text(tomli_w.dumps(conf))
    return load_settings(tmp_path)


def _state(settings):
    with engine_mod.connect(settings, read_only=True) as eng:
        sales = eng.to_pandas(eng.table("fact_sales").select("order_id", "load_id"))
        loads = eng.to_pandas(eng.table("load_batches").select("load_id", "status", "file_name"))
    return sales, loads


def test_a_load_killed_before_it_publishes_leaves_nothing(settings, tmp_path):
    project = _project(settings, tmp_path)
    first = ingest(project)
    assert [r.status for r in first] == ["loaded"]
    before_sales, before_loads = _state(project)
    assert len(before_sales) == 50

    lines = ["o;d;k;q;r;c"] + [f"B{i};2024-02-{1 + i % 28:02d};y;2;20;{i}" for i in range(80)]
    (tmp_path / "sales" / "second.csv").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None, "the loading process ended before it was killed"
            assert time.monotonic() < deadline, "the load never reached its last step"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the load and, on Spark, its JVM
        proc.wait()

    after_sales, after_loads = _state(project)
    assert sorted(after_sales.order_id) == sorted(before_sales.order_id)
    loaded = after_loads[after_loads.status == "loaded"]  # ("unchanged" for first.csv, too)
    assert loaded.load_id.tolist() == before_loads.load_id.tolist()
    assert not after_loads.file_name.str.endswith("second.csv").any()
    assert not after_sales.order_id.str.startswith("B").any()

    # the warehouse is usable: the file loads now, once
    again = ingest(project)
    assert [(r.file_name.endswith("second.csv"), r.status) for r in again] == \
        [(False, "unchanged"), (True, "loaded")]
    sales, loads = _state(project)
    assert len(sales) == 130 and (loads.status == "loaded").sum() == 2
    assert sales.order_id.str.startswith("B").sum() == 80
