"""A build SIGKILLed part-way leaves nothing half-made visible (issue #9 item 11).

The failing case: a build killed while it built the marts left ``customer_summary__building``
and ``customer_360__building`` in the warehouse, visible to anyone listing its tables until the
next build. Here a real build runs in another process, is paused just after it wrote
``customer_360__building`` and SIGKILLed there; then the warehouse is looked at as a reader
(the published state), as a writer (the live warehouse: ``list_tables`` / ``list_views``),
through ``prisme status``, and after the next build — on every engine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.test_publish import _project  # the small mapped project of the publish tests
from prisme import engine as engine_mod
from prisme.build import WORK_PREFIXES, build
from prisme.cli import app
from prisme.config import load_settings
from prisme.engine.base import is_staging
from prisme.ingest.load import ingest

#: a real build in its own process, paused right after customer_360__building is written
#: (customer_summary__building and the other staging tables of the marts exist then)
PAUSED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from prisme.config import load_settings
    import prisme.analytics.marts as marts
    from prisme.build import build
    root, ready = Path(sys.argv[1]), Path(sys.argv[2])
    def paused(c360):
        ready.write_text("customer_360__building written")
        time.sleep(900)
    marts.rfm_segments_mart = paused
    build(load_settings(root))
""")


def _reader_state(settings):
    with engine_mod.connect(settings, read_only=True) as eng:
        tables = eng.list_tables()
        c360 = eng.to_pandas(eng.table("customer_360"))
    return tables, c360.sort_values("party_id", ignore_index=True)


def _half_made(names) -> list[str]:
    return sorted(n for n in names if is_staging(n) or n.startswith(WORK_PREFIXES))


@pytest.mark.slow
def test_a_build_killed_part_way_leaves_nothing_half_made_visible(settings):
    root = settings.root
    _project(settings, customers=40)
    st = load_settings(root)
    st.engine = settings.engine
    ingest(st)
    build(st)
    tables_before, c360_before = _reader_state(st)
    assert not _half_made(tables_before)

    ready = root / "ready.flag"
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, str(root), str(ready)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 400
        while not ready.exists():
            assert proc.poll() is None, f"the build ended early: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "the build never reached its pause"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # readers: the last finished build, whole
    tables, c360 = _reader_state(st)
    assert not _half_made(tables)
    pd.testing.assert_frame_equal(c360, c360_before)
    # the live warehouse holds the killed build's staging tables, and lists none of them
    with engine_mod.connect(st) as eng:
        left = _half_made(eng.list_tables(staging=True))
        assert {"customer_summary__building", "customer_360__building"} <= set(left)
        assert not _half_made(eng.list_tables()) and not _half_made(eng.list_views())
    # prisme status says the build did not finish, and shows no staging table
    out = CliRunner().invoke(app, ["status", "--project", str(root)], terminal_width=300)
    assert out.exit_code == 0, out.output
    assert "did not finish" in out.output and "__building" not in out.output

    # the next build drops what the killed one left before it starts, and publishes a whole
    # state with none of it: the same customer_360 as before the kill (same data)
    summary = build(st)
    assert set(left) <= set(summary.leftovers)
    with engine_mod.connect(st) as eng:
        assert not _half_made(eng.list_tables(staging=True))
    tables, c360 = _reader_state(st)
    assert not _half_made(tables)
    pd.testing.assert_frame_equal(c360, c360_before)
    assert engine_mod.publication(st)["unfinished"] is None
