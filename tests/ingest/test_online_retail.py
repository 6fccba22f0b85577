"""The worked example on real data: ``examples/online_retail`` (UCI Online Retail, 541,909 lines).

Published figures (shared/data/README.md): 541,909 lines, 135,080 without CustomerID, 4,372
customer ids, 25,900 invoices (9,288 cancellation lines, InvoiceNo starting with C), sum of
Quantity × UnitPrice = 9,747,747.93.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from prisme import engine as engine_mod
from prisme.config import load_settings
from prisme.ingest import ingest
from prisme.ingest.normalise import py_country_iso2

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "online_retail"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, shared_data):
    settings = load_settings(EXAMPLE)
    data = settings.resolve(settings.sources["online_retail"].path).resolve()
    assert data == (shared_data / "online_retail" / "Online_Retail.csv.gz").resolve()
    settings.engine.path = str(tmp_path_factory.mktemp("online_retail") / "warehouse.duckdb")
    results = ingest(settings)
    eng = engine_mod.connect(settings)
    yield settings, results, eng, data
    eng.close()


def sql(eng, query):
    return eng.execute_sql(query)


def test_every_line_is_accounted_for(loaded):
    _, results, eng, _ = loaded
    assert [r.status for r in results] == ["loaded"] * 3
    for r in results:
        assert r.rows_read == 541_909 == r.rows_loaded + r.rows_quarantined
    sales = next(r for r in results if r.source == "online_retail")
    facts = sql(eng, "SELECT count(*) FROM fact_sales")[0][0]
    quarantined = sql(eng, "SELECT count(*) FROM quarantine WHERE source = 'online_retail'")[0][0]
    assert facts == sales.rows_loaded and quarantined == sales.rows_quarantined
    assert facts + quarantined == 541_909


def test_revenue_loaded_plus_quarantined_is_the_published_total(loaded):
    _, _, eng, _ = loaded
    loaded_revenue = sql(eng, "SELECT sum(revenue) FROM fact_sales")[0][0]
    records = [json.loads(r[0]) for r in sql(
        eng, "SELECT raw_record FROM quarantine WHERE source = 'online_retail'")]
    quarantined_revenue = sum(
        Decimal(r["Quantity"]) * Decimal(r["UnitPrice"]) for r in records
        if r.get("Quantity") and r.get("UnitPrice")
    )
    total = (loaded_revenue or Decimal(0)) + quarantined_revenue
    assert round(total, 2) == Decimal("9747747.93")


def test_cancellations_are_returns_and_anonymous_lines_are_kept(loaded):
    _, _, eng, _ = loaded
    returns = sql(eng, "SELECT count(*), count(*) FILTER (WHERE order_id LIKE 'C%'), "
                       "max(quantity) FROM fact_sales WHERE is_return")[0]
    assert returns[0] == returns[1] == 9_288
    assert returns[2] < 0  # a cancellation takes goods back
    assert sql(eng, "SELECT count(*) FROM fact_sales WHERE NOT is_return AND "
                    "order_id LIKE 'C%'")[0][0] == 0
    assert sql(eng, "SELECT count(*) FROM fact_sales "
                    "WHERE source_customer_id IS NULL")[0][0] == 135_080
    ids, invoices = sql(eng, "SELECT count(DISTINCT source_customer_id), "
                             "count(DISTINCT order_id) FROM fact_sales")[0]
    assert (ids, invoices) == (4_372, 25_900)
    first = sql(eng, "SELECT min(ordered_at), max(ordered_at) FROM fact_sales")[0]
    assert str(first[0]) == "2010-12-01 08:26:00" and str(first[1]).startswith("2011-12-09")


def test_products_and_customers_from_the_same_file(loaded):
    _, _, eng, data = loaded
    raw = pd.read_csv(data, dtype=str, keep_default_na=False)
    named = raw[raw.Description.str.strip() != ""]
    assert sql(eng, "SELECT count(*) FROM dim_product WHERE is_current")[0][0] == \
        named.StockCode.str.strip().nunique()
    assert sql(eng, "SELECT count(*) FROM quarantine WHERE source = 'online_retail_products'"
               )[0][0] == len(raw) - len(named) == 1_454
    customers = raw[raw.CustomerID != ""]
    assert sql(eng, "SELECT count(*) FROM dim_customer WHERE is_current")[0][0] == \
        customers.CustomerID.nunique() == 4_372  # the published figure: nobody is lost
    # 'Unspecified', 'European Community'…: the customer is kept, the country loaded as empty
    unknown = customers[customers.Country.map(py_country_iso2).isna()]
    assert len(unknown) > 0
    issues = sql(eng, "SELECT count(*), count(DISTINCT raw_value) FROM load_issues "
                      "WHERE source = 'online_retail_customers' AND column_name = 'country'")
    assert issues[0] == (len(unknown), unknown.Country.str.strip().nunique())
    last = customers.groupby("CustomerID").Country.last().map(py_country_iso2)
    assert sql(eng, "SELECT count(*) FROM dim_customer WHERE is_current AND country IS NULL"
               )[0][0] == last.isna().sum()
    uk = sql(eng, "SELECT count(*) FROM dim_customer WHERE is_current AND country = 'GB'")
    assert uk[0][0] > 3_900  # most customers of a UK e-tailer are in the UK


def test_running_the_example_again_changes_nothing(loaded):
    settings, _, eng, _ = loaded
    before = sql(eng, "SELECT (SELECT count(*) FROM fact_sales), (SELECT count(*) FROM "
                      "quarantine), (SELECT count(*) FROM core_product_versions)")
    eng.close()
    again = ingest(settings)
    assert [r.status for r in again] == ["unchanged"] * 3
    with engine_mod.connect(settings) as eng2:
        after = sql(eng2, "SELECT (SELECT count(*) FROM fact_sales), (SELECT count(*) FROM "
                          "quarantine), (SELECT count(*) FROM core_product_versions)")
    assert after == before
