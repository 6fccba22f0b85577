"""A small demo company, loaded and built once for the act tests that need the whole chain
(``prisme demo --customers 2000 --no-serve``); tests copy it before changing it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from prisme.demo.run import run_demo

CUSTOMERS = 2_000
SEED = 42


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("act-demo") / "demo"
    run_demo(root, CUSTOMERS, SEED)
    return root


@pytest.fixture
def demo_copy(built_demo, tmp_path) -> Path:
    """A private copy of the demo project (warehouse, sources, prisme.toml)."""
    dest = tmp_path / "demo"
    shutil.copytree(built_demo, dest)
    return dest
