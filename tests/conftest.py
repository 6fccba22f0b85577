"""Shared fixtures: one suite, parametrised over every engine backend Prisme ships."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prisme import engine as engine_mod
from prisme.config import Settings

REPO = Path(__file__).resolve().parents[1]
#: the public datasets with published figures, read in place (never copied into the project)
SHARED_DATA = Path(os.environ.get("PRISME_SHARED_DATA", REPO.parent / "shared" / "data"))

#: backends the suite runs on; Spark joins this list with its issue (marked `spark`)
BACKENDS = ["duckdb"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.exists(), f"the shared datasets are expected at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(tmp_path, backend) -> Settings:
    s = Settings()
    s.engine.backend = backend
    s.engine.memory_limit = "2GB"
    s.root = tmp_path
    return s


@pytest.fixture
def engine(settings):
    """A fresh warehouse file in a temporary project folder, on each backend."""
    eng = engine_mod.connect(settings)
    yield eng
    eng.close()
