"""Shared fixtures: one suite, parametrised over every engine backend Prisme ships.

A test that touches a warehouse takes the ``engine`` (or ``settings``, or ``make_engine``)
fixture and runs once per backend: DuckDB, and Spark (marked ``spark``: ``-m "not spark"``
runs DuckDB only). Spark runs in one session for the whole test run (the JVM starts once;
each engine gets its own session-scoped views and its own warehouse directory under the
test's ``tmp_path``), with few shuffle partitions for small data.

Where a backend truly lacks something, the test says so with
``@pytest.mark.cannot_on("spark", reason="…")``: it is skipped there with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prisme import engine as engine_mod
from prisme.config import Settings

REPO = Path(__file__).resolve().parents[1]
#: the public datasets with published figures, read in place (never copied into the project)
SHARED_DATA = Path(os.environ.get("PRISME_SHARED_DATA", REPO.parent / "shared" / "data"))

#: backends the suite runs on (Spark marked `spark`)
BACKENDS = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.exists(), f"the shared datasets are expected at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def spark_session():
    """The one Spark session of the test run (started on first use, stopped at the end)."""
    from prisme.config import EngineSettings
    from prisme.engine.spark_backend import spark_session as start

    session = start(test_engine_settings(EngineSettings(backend="spark")))
    yield session
    session.stop()


def test_engine_settings(s):
    """Engine settings for small test data (one place, both backends)."""
    s.memory_limit = "2GB"
    s.shuffle_partitions = 2
    s.driver_memory = "2g"
    # tiny data in many small Spark jobs: compiling each stage costs more than it saves
    s.spark_codegen = False
    return s


test_engine_settings.__test__ = False  # a helper, not a test


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    name = request.param
    for mark in request.node.iter_markers("cannot_on"):
        if name in (mark.args[0] if isinstance(mark.args[0], (list, tuple))
                    else [mark.args[0]]):
            pytest.skip(f"cannot on {name}: {mark.kwargs.get('reason') or mark.args[1]}")
    if name == "spark":
        request.getfixturevalue("spark_session")
    return name


@pytest.fixture
def settings(tmp_path, backend) -> Settings:
    s = Settings()
    s.engine.backend = backend
    test_engine_settings(s.engine)
    s.root = tmp_path
    return s


@pytest.fixture
def make_engine(settings):
    """Open more warehouses of this test's backend: ``make_engine()`` (the project's),
    ``make_engine(path=":memory:")``, ``make_engine(read_only=True)``; closed at the end."""
    opened = []

    def make(**kwargs):
        eng = engine_mod.connect(settings, **kwargs)
        opened.append(eng)
        return eng

    yield make
    for eng in reversed(opened):
        eng.close()


@pytest.fixture
def engine(settings):
    """A fresh warehouse in a temporary project folder, on each backend."""
    eng = engine_mod.connect(settings)
    yield eng
    eng.close()
