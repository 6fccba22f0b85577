"""The demo's files: reproducible, mapped by a prisme.toml that loads, and as messy as real
exports (decimal commas, BOM, cp1252 accents, several phone notations, returns, anonymous
sales)."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from prisme.config import load_settings
from prisme.demo import generate


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    a = generate(customers=1_500, seed=5, directory=tmp_path / "a")
    b = generate(customers=1_500, seed=5, directory=tmp_path / "b")
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert fa.keys() == fb.keys()
    for name in fa:
        assert fa[name] == fb[name], name
    assert a.records == b.records and a.transaction_lines == b.transaction_lines
    c = generate(customers=1_500, seed=6, directory=tmp_path / "c")
    assert _files(tmp_path / "c")["truth/persons.csv"] != fa["truth/persons.csv"]
    assert c.customers == 1_500


def test_regenerating_into_a_folder_replaces_the_old_sources(tmp_path):
    generate(customers=300, seed=1, directory=tmp_path, today=dt.date(2025, 3, 31))
    generate(customers=300, seed=1, directory=tmp_path)
    months = sorted(p.name for p in (tmp_path / "sources/crm/ventes").glob("*.csv"))
    assert months[-1] == "ventes_2026-06.csv"
    assert "ventes_2022-04.csv" not in months


def _header(path: Path, settings) -> list[str]:
    if path.suffix == ".csv":
        with path.open(encoding=codecs.lookup(settings.encoding or "utf-8").name) as f:
            line = f.readline().lstrip("\ufeff").rstrip("\n")
        return [c.strip('"') for c in line.split(settings.separator)]
    if path.suffix == ".jsonl":
        keys: set[str] = set()
        for line in path.read_text("utf-8").splitlines()[:2000]:
            keys |= set(json.loads(line))
        return sorted(keys)
    if path.suffix == ".parquet":
        return pq.read_schema(path).names
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb[settings.sheet]
    return [c.value for c in next(ws.iter_rows(max_row=1))]


def test_every_source_of_the_written_prisme_toml_loads_and_fits_its_files(demo):
    settings = load_settings(demo.directory)
    assert set(settings.sources) == {
        "crm_customers", "shop_customers", "callcentre_contacts", "products", "crm_sales",
        "shop_orders", "web_sessions", "callcentre_calls", "campaigns", "crm_campaign_contacts",
        "shop_campaign_contacts", "callcentre_campaign_contacts", "surveys", "shop_surveys",
        "ad_spend"}
    for name, s in settings.sources.items():
        files = sorted(settings.root.glob(s.path))
        assert files, f"{name}: no file matches {s.path}"
        assert s.format is not None and s.encoding or s.format in ("xlsx", "parquet"), name
        for f in files:
            header = _header(f, s)
            missing = [c for c in s.columns.values() if c not in header]
            assert not missing, f"{name} {f.name}: {missing} not in {header}"
    trust = {n: s.trust for n, s in settings.sources.items() if s.entity == "customer"}
    assert sorted(trust.values()) == [1, 2, 3]
    assert settings.project.exchange_rates["GBP"] > 1


def test_the_exports_are_as_messy_as_real_ones(demo):
    root = Path(demo.directory)
    crm = (root / "sources/crm/clients.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        crm.decode("utf-8")
    text = crm.decode("cp1252")
    assert "Prénom" in text and re.search(r"\d{2}/\d{2}/\d{4}", text)
    assert re.search(r'"0[67] \d\d \d\d \d\d \d\d"', text)  # 06 12 34 56 78
    assert re.search(r'"\+44 7\d{3} \d{6}"', text)  # a UK mobile
    shop = (root / "sources/shop/customers.csv").read_bytes()
    assert shop.startswith(b"\xef\xbb\xbf")
    assert re.search(rb'"\+33[67]\d{8}"', shop) and re.search(rb"\d{4}-\d{2}-\d{2}", shop)
    calls = (root / "sources/callcentre/contacts.jsonl").read_text("utf-8")
    assert '"0033' in calls and re.search(r'"emailAddress": " [^"]+ "', calls)

    sales = b"".join(p.read_bytes() for p in (root / "sources/crm/ventes").glob("*.csv"))
    sales_text = sales.decode("cp1252")
    assert re.search(r'"\d+,\d{2}"', sales_text)  # decimal comma
    assert re.search(r'"AV\d+";"[^"]+";"C\d+";"[^"]+";"[^"]+";"-\d"', sales_text)  # a return
    assert ';;"' in sales_text  # anonymous tickets: no customer number
    assert "Chèque" in sales_text
    orders = pd.concat(pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False)
                       for p in sorted((root / "sources/shop/orders").glob("*.csv")))
    assert {"EUR", "GBP"} <= set(orders["currency"])
    assert (orders["customer_id"] == "").mean() > 0.01
    ret = orders[orders["order_type"] == "RETURN"]
    assert len(ret) > 0 and (ret["quantity"].astype(int) < 0).all()


def test_transactions_count_and_volume(demo):
    root = Path(demo.directory)
    n = sum(sum(1 for _ in p.open("rb")) - 1
            for p in list((root / "sources/crm/ventes").glob("*.csv"))
            + list((root / "sources/shop/orders").glob("*.csv")))
    assert n == demo.transaction_lines
    assert 7 < demo.transaction_lines / demo.customers < 16  # ~10 lines a person
    months = sorted(p.stem for p in (root / "sources/crm/ventes").glob("*.csv"))
    assert months[0] == "ventes_2023-07" and months[-1] == "ventes_2026-06"


def test_interaction_sources_reference_known_customers(demo, truth):
    root = Path(demo.directory)
    persons = truth["persons"]
    ids = {s: set(persons.loc[persons["source"] == s, "source_customer_id"])
           for s in ("crm", "shop", "callcentre")}
    sessions = pq.read_table(root / "sources/web/sessions.parquet").to_pandas()
    logged = sessions["customer_id"].dropna()
    assert 0.2 < len(logged) / len(sessions) < 0.95
    assert set(logged) <= ids["shop"]
    calls = [json.loads(x) for p in (root / "sources/callcentre").glob("calls_*.jsonl")
             for x in p.read_text("utf-8").splitlines()]
    assert {c["contactId"] for c in calls} <= ids["callcentre"]
    for system in ("crm", "shop", "callcentre"):
        c = pd.read_csv(root / f"sources/marketing/contacts_{system}.csv", sep=";", dtype=str,
                        keep_default_na=False)
        assert set(c["customer"]) <= ids[system]
        assert set(c["group"]) == {"treatment", "control"}
    ads = pd.read_csv(root / "sources/ads/ad_spend.csv")
    assert len(ads) == 4 * 3 * 365 and (ads["Cost"] > 0).all()
