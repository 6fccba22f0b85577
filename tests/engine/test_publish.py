"""Publishing: readers see the last published state, whole, while another process writes.

The failing case (issue #9 item 11): a build killed part-way left new party tables beside old
marts and ``*__building`` tables visible; ``prisme status`` crashed with EngineBusy while a load
or a build ran; a notebook's read-only connection was refused for the whole build. Here the
writers are real processes (``prisme ingest``, ``prisme build``, or a build paused at a known
point and then SIGKILLed) and the readers run in this process or in another.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import ibis
import pandas as pd
import pytest

from prisme import engine as engine_mod
from prisme.config import SourceSettings, save_settings
from prisme.engine import publish

CLI = [sys.executable, "-c", "from prisme.cli import app; app()"]


def _duckdb_only(settings) -> None:
    if settings.engine.backend != "duckdb":
        pytest.skip("these tests look at DuckDB's published copies")


def _project(settings, customers: int = 60, start: int = 0) -> None:
    """A small project folder: a customer list and their orders, as CSV files, mapped."""
    root = settings.root
    (root / "src").mkdir(exist_ok=True)
    ids = [f"C{i:04d}" for i in range(start, start + customers)]
    pd.DataFrame({
        "id": ids,
        "first": [f"Ann{i}" for i in range(start, start + customers)],
        "last": [f"Smith{i * 7919 % 1000}" for i in range(start, start + customers)],
        "mail": [f"ann{i}@example.org" for i in range(start, start + customers)],
    }).to_csv(root / "src" / f"customers_{start}.csv", index=False)
    rows = []
    for i, cid in enumerate(ids):
        for k in range(1 + i % 3):
            rows.append({"order": f"O{start + i}-{k}", "cust": cid,
                         "date": f"2024-{1 + (i + 4 * k) % 12:02d}-{1 + k * 9:02d}",
                         "sku": f"P{k}", "qty": 1 + k, "price": 10.0 + i % 5})
    pd.DataFrame(rows).to_csv(root / "src" / f"orders_{start}.csv", index=False)
    settings.sources["crm"] = SourceSettings(
        entity="customer", path="src/customers_*.csv", constants={"source": "crm"},
        columns={"source_customer_id": "id", "first_name": "first", "last_name": "last",
                 "email": "mail"})
    settings.sources["shop"] = SourceSettings(
        entity="transaction", path="src/orders_*.csv", date_format="%Y-%m-%d",
        constants={"source": "crm"},
        columns={"order_id": "order", "source_customer_id": "cust", "ordered_at": "date",
                 "sku": "sku", "quantity": "qty", "unit_price": "price"},
        derive={"revenue": "quantity * unit_price"})
    save_settings(settings)


def _cli(*args: str, root: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--project", str(root)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the writer ended early: {proc.stderr.read()}")
        assert time.monotonic() < deadline, "the writer never reached its pause"
        time.sleep(0.1)


#: a build in its own process that stops after identity (new party tables written, marts
#: not yet) and waits there until ``go`` exists: the moment a kill leaves the worst mix
PAUSED_BUILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from prisme.config import load_settings
    import prisme.analytics.marts as marts
    from prisme import build
    root, paused, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    real = marts.build_marts
    def paused_marts(engine, settings, **kw):
        engine.create_table("customer_360__building", engine.table("party_map"),
                            overwrite=True)
        paused.write_text("identity done")
        while not go.exists():
            time.sleep(0.05)
        engine.drop_table("customer_360__building")
        return real(engine, settings, **kw)
    marts.build_marts = paused_marts
    build.build(load_settings(root))
""")


def _paused_build(root: Path) -> tuple[subprocess.Popen, Path, Path]:
    paused, go = root / "paused.flag", root / "go.flag"
    proc = subprocess.Popen([sys.executable, "-c", PAUSED_BUILD, str(root), str(paused), str(go)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, paused, go


def _state(settings) -> dict:
    with engine_mod.connect(settings, read_only=True) as eng:
        tables = set(eng.list_tables())
        return {
            "version": (eng.published or {}).get("version"),
            "tables": tables,
            "parties": (eng.scalar(eng.table("party_map").party_id.nunique())
                        if "party_map" in tables else 0),
            "c360": (eng.scalar(eng.table("customer_360").count())
                     if "customer_360" in tables else 0),
        }


# ------------------------------------------------------------------------------ in process
def test_a_reader_sees_the_published_state_until_it_reconnects(settings):
    _duckdb_only(settings)
    with engine_mod.connect(settings) as w, w.exclusive("a test"), w.publishing("load 1",
                                                                                 whole=False):
        w.create_table("t", ibis.memtable({"a": [1, 2]}))
    v1 = engine_mod.published_version(settings)
    assert v1 != "unpublished"
    reader = engine_mod.connect(settings, read_only=True)
    assert reader.published["version"] == v1
    assert reader.scalar(reader.table("t").count()) == 2
    with engine_mod.connect(settings) as w, w.exclusive("a test"), w.publishing("load 2",
                                                                                 whole=False):
        w.insert("t", ibis.memtable({"a": [3]}))
    v2 = engine_mod.published_version(settings)
    assert v2 != v1
    # the open reader keeps its state; its file is kept while it holds it
    assert reader.scalar(reader.table("t").count()) == 2
    files = sorted(p.name for p in publish.directory(settings.warehouse_path).glob("*.duckdb"))
    assert len(files) == 2
    reader.close()
    with engine_mod.connect(settings, read_only=True) as again:
        assert again.published["version"] == v2
        assert again.scalar(again.table("t").count()) == 3
    # the next publish removes the copy nobody holds any more
    with engine_mod.connect(settings) as w, w.exclusive("a test"):
        assert w.publish("load 3") is not None
    left = sorted(p.name for p in publish.directory(settings.warehouse_path).glob("*.duckdb"))
    assert left == [publish.current(settings.warehouse_path)["file"]]


def test_nothing_changed_nothing_copied_and_in_memory_is_not_published(settings):
    _duckdb_only(settings)
    with engine_mod.connect(settings) as w, w.exclusive("a test"):
        with w.publishing("first", whole=False):
            w.create_table("t", ibis.memtable({"a": [1]}))
        v1 = engine_mod.published_version(settings)
        with w.publishing("unchanged", whole=False) as unit:
            unit.changed = False
        assert unit.version is None
        assert engine_mod.published_version(settings) == v1
    with engine_mod.connect(settings, path=":memory:") as mem:
        assert mem.publish("x") is None
        assert "in-memory" in mem.publish_note


def test_a_failed_build_is_not_published_and_blocks_loads_publishing_until_a_build(settings):
    _duckdb_only(settings)
    with engine_mod.connect(settings) as w, w.exclusive("a test"):
        with w.publishing("load", whole=False):
            w.create_table("party_map", ibis.memtable({"party_id": ["P1"]}))
        before = engine_mod.published_version(settings)
        with pytest.raises(RuntimeError), w.publishing("prisme build"):
            w.create_table("party_map", ibis.memtable({"party_id": ["P1", "P2"]}),
                           overwrite=True)
            raise RuntimeError("the marts failed")
        assert engine_mod.published_version(settings) == before
        assert engine_mod.publication(settings)["unfinished"]["what"] == "prisme build"
        # a load after it does not publish the half-built mix
        with w.publishing("prisme ingest", whole=False) as unit:
            w.create_table("fact_x", ibis.memtable({"a": [1]}))
        assert unit.version is None and "did not finish" in unit.note
        assert engine_mod.published_version(settings) == before
        with w.publishing("prisme build") as unit:
            pass
        assert unit.version == engine_mod.published_version(settings) != before
        assert engine_mod.publication(settings)["unfinished"] is None


def test_published_version_before_anything_is_published(settings):
    assert engine_mod.published_version(settings) == "unpublished"
    info = engine_mod.publication(settings)
    assert info == {"published": None, "writer": None, "unfinished": None}


# ------------------------------------------------------------------------- other processes
@pytest.mark.slow
def test_reads_and_status_answer_while_a_build_runs_and_a_kill_leaves_the_last_build(settings):
    """A first build publishes; new customers are loaded; a second build, in another process,
    is paused after identity (new party tables, old marts, a ``__building`` table) and then
    SIGKILLed. Throughout, a read-only connection and ``prisme status`` (another process)
    answer with the last published state; after the kill readers still see it, a load does
    not publish the mix, and the next build publishes everything."""
    _duckdb_only(settings)
    root = settings.root
    _project(settings, customers=40)
    assert _cli("ingest", root=root).returncode == 0
    built = _cli("build", root=root)
    assert built.returncode == 0, built.stdout + built.stderr
    first = _state(settings)
    assert first["parties"] == 40 and first["c360"] == 40
    _project(settings, customers=25, start=40)
    assert _cli("ingest", root=root).returncode == 0
    loaded = _state(settings)
    assert loaded["version"] != first["version"]  # the load published its batches
    assert loaded["parties"] == 40 and loaded["c360"] == 40  # … not a build

    proc, paused, go = _paused_build(root)
    try:
        _wait_for(paused, proc)
        during = _state(settings)  # a notebook's read-only connection, during the build
        assert during == loaded
        assert not any(t.endswith("__building") for t in during["tables"])
        status = _cli("status", root=root, timeout=120)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "prisme build runs since" in status.stdout
        assert f"pid {proc.pid}" in status.stdout
        assert "Loads (load_batches)" in status.stdout
        info = engine_mod.publication(settings)
        assert info["writer"]["pid"] == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    after_kill = _state(settings)
    assert after_kill == loaded
    status = _cli("status", root=root, timeout=120)
    assert "did not finish" in status.stdout
    # a load after the killed build: loaded, not published (readers keep the last state)
    _project(settings, customers=5, start=65)
    assert _cli("ingest", root=root).returncode == 0
    assert _state(settings) == loaded
    rebuilt = _cli("build", root=root)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    final = _state(settings)
    assert final["parties"] == 70 and final["c360"] == 70
    assert not any(t.endswith("__building") for t in final["tables"])
    assert engine_mod.publication(settings)["unfinished"] is None


@pytest.mark.slow
def test_a_real_build_in_another_process_never_stops_the_readers(settings):
    """``prisme build`` runs in another process while this one reconnects and reads in a
    loop, as a server would on each version change: every read is answered, each one sees a
    whole published state, and the new one appears when the build ends."""
    _duckdb_only(settings)
    root = settings.root
    _project(settings, customers=50)
    assert _cli("ingest", root=root).returncode == 0
    before = engine_mod.published_version(settings)
    proc = subprocess.Popen([*CLI, "build", "--project", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, reads = [], 0
    try:
        while proc.poll() is None:
            state = _state(settings)
            reads += 1
            assert not any(t.endswith("__building") for t in state["tables"])
            # a state either before the build (no marts yet) or after it (all of them)
            assert state["c360"] in (0, 50)
            assert (state["c360"] == 0) == (state["version"] == before)
            seen.append(state["version"])
    finally:
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert reads >= 3 and before in seen
    after = _state(settings)
    assert after["version"] != before and after["c360"] == 50


def test_a_reader_process_holds_its_copy_through_later_publishes(settings):
    """A reader in another process keeps its published copy open; the writer's publishes do
    not delete it under the reader; once the reader has gone, the next publish does."""
    _duckdb_only(settings)
    with engine_mod.connect(settings) as w, w.exclusive("a test"), w.publishing("v1",
                                                                                 whole=False):
        w.create_table("t", ibis.memtable({"a": [1]}))
    held = publish.directory(settings.warehouse_path) / publish.current(
        settings.warehouse_path)["file"]
    script = textwrap.dedent(f"""
        import sys, time
        from prisme.config import Settings
        from prisme import engine
        s = Settings(); s.root = {str(settings.root)!r}
        from pathlib import Path; s.root = Path(s.root)
        eng = engine.connect(s, read_only=True)
        print(eng.scalar(eng.table("t").count()), flush=True)
        sys.stdin.readline()
        print(eng.scalar(eng.table("t").count()), flush=True)
    """)
    reader = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"
        for n in (2, 3):
            with engine_mod.connect(settings) as w, w.exclusive("a test"), \
                    w.publishing(f"v{n}", whole=False):
                w.insert("t", ibis.memtable({"a": [n]}))
        assert held.exists()  # held by the reader
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"
    finally:
        reader.communicate(timeout=60)
    with engine_mod.connect(settings) as w, w.exclusive("a test"):
        w.publish("v4")
    assert not held.exists()
    assert len(list(publish.directory(settings.warehouse_path).glob("*.duckdb"))) == 1
