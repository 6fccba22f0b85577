"""One demo company shared by the tests of this folder (generated once, ~3,000 persons)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from prisme.demo import generate

CUSTOMERS = 3_000
SEED = 11


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    manifest = generate(customers=CUSTOMERS, seed=SEED, directory=root)
    return manifest


@pytest.fixture(scope="session")
def truth(demo) -> dict[str, pd.DataFrame]:
    t = Path(demo.directory) / "truth"
    out = {name: pd.read_csv(t / f"{name}.csv", dtype=str, keep_default_na=False)
           for name in ("persons", "households", "churners", "campaign_effects",
                        "quality_defects")}
    out["process"] = json.loads((t / "purchase_process.json").read_text())
    return out


def read_crm_customers(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "sources/crm/clients.csv", sep=";", encoding="cp1252", dtype=str,
                       keep_default_na=False)


def read_shop_customers(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "sources/shop/customers.csv", encoding="utf-8-sig", dtype=str,
                       keep_default_na=False)


def read_callcentre_contacts(root: Path) -> pd.DataFrame:
    rows = [json.loads(line) for line in
            (root / "sources/callcentre/contacts.jsonl").read_text("utf-8").splitlines()]
    return pd.DataFrame(rows).astype(object).where(lambda d: d.notna(), "")


CUSTOMER_FILES = {"crm": read_crm_customers, "shop": read_shop_customers,
                  "callcentre": read_callcentre_contacts}
ID_COLUMN = {"crm": "N° client", "shop": "customer_id", "callcentre": "contactId"}


@pytest.fixture(scope="session")
def customer_files(demo) -> dict[str, pd.DataFrame]:
    """The three customer exports as written (text), by system."""
    root = Path(demo.directory)
    return {s: read(root) for s, read in CUSTOMER_FILES.items()}
