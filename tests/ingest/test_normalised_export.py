"""A normalised e-commerce export (order lines + order headers + customers + reviews), shaped
like the marketplace export of issue #9, maps from prisme.toml alone: joins, status,
extra attributes, a changed mapping and --reload, a moved project folder."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from prisme.config import ConfigError, load_settings
from prisme.ingest import ingest
from prisme.warehouse.core import active_sales

CUSTOMERS = """customer_id,customer_unique_id,customer_zip_code_prefix,customer_city,customer_state
c1,u1,01310,sao paulo,SP
c2,u1,01310,sao paulo,SP
c3,u3,20040,rio de janeiro,RJ
"""
ORDERS = """order_id,customer_id,order_status,order_purchase_timestamp
o1,c1,delivered,2017-10-02 10:56:33
o2,c2,canceled,2017-11-05 08:00:00
o3,c3,delivered,2018-01-15 12:00:00
o4,c9,delivered,2018-02-01 09:00:00
"""
ITEMS = """order_id,order_item_id,product_id,price,freight_value
o1,1,p1,29.99,8.72
o1,2,p2,10.00,8.72
o2,1,p1,29.99,5.00
o3,1,p3,100.00,12.00
o4,1,p1,29.99,5.00
o5,1,p1,29.99,5.00
"""
REVIEWS = """review_id,order_id,review_score,review_creation_date
r1,o1,5,2017-10-10 00:00:00
r2,o3,2,2018-01-20 00:00:00
"""

TOML = """
[project]
name = "olist"
currency = "BRL"
default_country = "BR"

[sources.customers]
entity = "customer"
path = "data/customers.csv"
[sources.customers.columns]
source_customer_id = "customer_id"
customer_unique_id = "customer_unique_id"
postal_code = "customer_zip_code_prefix"
city = "customer_city"
[sources.customers.constants]
source = "shop"

[sources.items]
entity = "transaction"
path = "data/items.csv"
[sources.items.join.orders]
path = "data/orders.csv"
on = "order_id"
[sources.items.columns]
order_id = "order_id"
sku = "product_id"
unit_price = "price"
source_customer_id = "orders.customer_id"
ordered_at = "orders.order_purchase_timestamp"
status = "orders.order_status"
[sources.items.derive]
quantity = "1"
revenue = "unit_price"
[sources.items.constants]
source = "shop"
[sources.items.status]
cancelled = ["canceled", "unavailable"]

[sources.reviews]
entity = "survey"
path = "data/reviews.csv"
[sources.reviews.join.orders]
path = "data/orders.csv"
on = "order_id"
[sources.reviews.columns]
source_customer_id = "orders.customer_id"
answered_at = "review_creation_date"
nps = "review_score"
[sources.reviews.constants]
source = "shop"

[identity]
identifier_columns = ["customer_unique_id"]
"""


def _project(root, toml=TOML):
    (root / "data").mkdir(parents=True, exist_ok=True)
    for name, text in [("customers", CUSTOMERS), ("orders", ORDERS), ("items", ITEMS),
                       ("reviews", REVIEWS)]:
        (root / "data" / f"{name}.csv").write_text(text, encoding="utf-8")
    (root / "prisme.toml").write_text(toml, encoding="utf-8")
    return load_settings(root)


@pytest.fixture
def olist(tmp_path, backend):
    s = _project(tmp_path)
    s.engine.backend = backend
    return s


def test_a_normalised_export_maps_from_prisme_toml_alone(olist, engine):
    results = {r.source: r for r in ingest(olist, engine=engine)}
    assert {r.status for r in results.values()} == {"loaded"}
    items = results["items"]
    # rows read are the main file's lines; o4's customer c9 is on the order header (joined)
    # but o5 has no header: quarantined with a reason naming the joined file
    assert (items.rows_read, items.rows_loaded, items.rows_quarantined) == (6, 5, 1)
    q = engine.to_pandas(engine.table("quarantine"))
    q = q[q.load_id == items.load_id]
    assert q.source_line.tolist() == [7]
    assert "orders.csv" in q.reason.iloc[0] and "'o5'" in q.reason.iloc[0]
    sales = engine.to_pandas(engine.table("fact_sales").order_by("source_line"))
    assert sales.source_customer_id.tolist() == ["c1", "c1", "c2", "c3", "c9"]
    assert str(sales.ordered_at.iloc[0]) == "2017-10-02 10:56:33"
    assert sales.status.tolist() == ["delivered", "delivered", "canceled", "delivered",
                                     "delivered"]
    assert sales.is_cancelled.tolist() == [False, False, True, False, False]
    # cancelled lines are kept, and left out of what revenue is computed from
    active = engine.to_pandas(active_sales(engine))
    assert len(active) == 4 and "o2" not in set(active.order_id)
    assert float(active.revenue.sum()) == pytest.approx(29.99 + 10 + 100 + 29.99)
    # reviews reach their customer through the order header
    surveys = engine.to_pandas(engine.table("fact_surveys").order_by("source_line"))
    assert surveys.source_customer_id.tolist() == ["c1", "c3"]
    assert surveys.nps.tolist() == [5.0, 2.0]


def test_a_mapped_non_canonical_column_is_kept_and_usable_as_identifier(olist, engine):
    ingest(olist, ["customers"], engine=engine)
    dim = engine.to_pandas(engine.table("dim_customer").order_by("source_customer_id"))
    attrs = [json.loads(a) for a in dim.attributes]
    assert [a["customer_unique_id"] for a in attrs] == ["u1", "u1", "u3"]
    from prisme.identity.build import customer_records

    records = customer_records(engine)
    assert records.customer_unique_id.tolist() == ["u1", "u1", "u3"]


def test_an_optional_join_keeps_unmatched_lines_with_empty_values(tmp_path, backend):
    toml = TOML.replace('[sources.items.join.orders]\npath = "data/orders.csv"\non = "order_id"',
                        '[sources.items.join.orders]\npath = "data/orders.csv"\n'
                        'on = "order_id"\noptional = true')
    toml = toml.replace('ordered_at = "orders.order_purchase_timestamp"',
                        'ordered_at = "orders.order_purchase_timestamp"\n'
                        'payment_method = "orders.order_status"')
    s = _project(tmp_path, toml.replace("ordered_at = \"orders.order_purchase_timestamp\"",
                                        "due_at = \"orders.order_purchase_timestamp\""))
    s.engine.backend = backend
    s.sources["items"].constants["ordered_at"] = "2018-03-01 00:00:00"
    from prisme import engine as engine_mod

    with engine_mod.connect(s) as eng:
        (r,) = ingest(s, ["items"], engine=eng)
        assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (6, 6, 0)
        sales = eng.to_pandas(eng.table("fact_sales").order_by("source_line"))
        assert pd.isna(sales.source_customer_id.iloc[-1])  # o5: kept, with empty values


def test_a_key_on_several_lines_of_the_joined_file_is_quarantined(olist, engine):
    (olist.root / "data" / "orders.csv").write_text(
        ORDERS + "o3,c1,delivered,2018-01-16 12:00:00\n", encoding="utf-8")
    (r,) = ingest(olist, ["items"], engine=engine)
    q = engine.to_pandas(engine.table("quarantine"))
    reasons = q[q.load_id == r.load_id].set_index("source_line").reason
    assert "several lines of orders.csv" in reasons[5]
    assert r.rows_read == r.rows_loaded + r.rows_quarantined == 6


def test_a_changed_mapping_is_said_and_reload_supersedes_without_counting_twice(olist, engine):
    ingest(olist, engine=engine)
    before = engine.to_pandas(engine.table("fact_sales"))
    again = {r.source: r for r in ingest(olist, engine=engine)}
    assert {r.status for r in again.values()} == {"unchanged"}
    # the mapping changes: channel is now mapped too
    olist.sources["items"].constants["channel"] = "web"
    stale = {r.source: r for r in ingest(olist, engine=engine)}
    assert stale["items"].status == "stale"
    assert "--reload items" in stale["items"].message
    assert stale["customers"].status == "unchanged"
    assert len(engine.to_pandas(engine.table("fact_sales"))) == len(before)
    (reloaded,) = ingest(olist, ["items"], engine=engine, reload=["items"])
    assert reloaded.status == "loaded" and "supersedes 1" in reloaded.message
    after = engine.to_pandas(engine.table("fact_sales"))
    assert len(after) == len(before)  # nothing counted twice
    assert set(after.channel) == {"web"} and set(after.load_id) == {reloaded.load_id}
    # nothing deleted: the superseded rows are still stored, and the journal says so
    stored = engine.to_pandas(engine.table("core_transaction_facts"))
    assert len(stored) == 2 * len(before)
    sup = engine.to_pandas(engine.table("load_supersessions"))
    assert sup.superseded_by.tolist() == [reloaded.load_id]
    from prisme.warehouse.batches import counted_loads

    counted = engine.to_pandas(counted_loads(engine))
    assert counted[counted.source == "items"].load_id.tolist() == [reloaded.load_id]


def test_reload_of_a_customer_source_keeps_one_current_version(olist, engine):
    ingest(olist, ["customers"], engine=engine)
    olist.sources["customers"].columns.pop("customer_unique_id")
    olist.identity.identifier_columns = []
    (stale,) = ingest(olist, ["customers"], engine=engine)
    assert stale.status == "stale"
    ingest(olist, ["customers"], engine=engine, reload=["customers"])
    dim = engine.to_pandas(engine.table("dim_customer"))
    assert len(dim) == 3 and dim.is_current.all() and dim.attributes.isna().all()


def test_moving_the_project_folder_reloads_nothing(tmp_path, backend):
    from prisme import engine as engine_mod

    first = _project(tmp_path / "a")
    first.engine.backend = backend
    with engine_mod.connect(first) as eng:
        ingest(first, engine=eng)
        issues_before = eng.scalar(eng.table("load_issues").count())
    shutil.move(tmp_path / "a", tmp_path / "b")
    moved = load_settings(tmp_path / "b")
    moved.engine.backend = backend
    with engine_mod.connect(moved) as eng:
        results = ingest(moved, engine=eng)
        issues = eng.scalar(eng.table("load_issues").count())
        batches = eng.to_pandas(eng.table("load_batches"))
    assert {r.status for r in results} == {"unchanged"}
    assert issues == issues_before  # not noted twice
    assert not batches.file_name.str.startswith("/").any()


def test_configuration_names_are_checked_when_read(tmp_path):
    bad = TOML.replace('identifier_columns = ["customer_unique_id"]',
                       'identifier_columns = ["cpf"]')
    with pytest.raises(ConfigError) as err:
        _project(tmp_path, bad)
    assert "[identity] identifier_columns names 'cpf'" in str(err.value)
    bad = TOML.replace("[sources.items.status]", "[sources.items.statuss]")
    with pytest.raises(ConfigError) as err:
        _project(tmp_path, bad)
    text = str(err.value)
    assert text.count("statuss") == 1 and "[sources.items]" in text
    assert "did you mean 'status'" in text


def test_cancelled_lines_are_out_of_the_sales_the_analyses_read(olist, engine):
    from prisme.analytics.features import party_sales

    ingest(olist, ["items"], engine=engine)
    s = engine.to_pandas(party_sales(engine, as_of="2019-01-01"))
    assert "o2" not in set(s.order_id) and {"o1", "o3", "o4"} <= set(s.order_id)


def test_a_reloaded_customer_source_is_not_audited_twice(olist, engine):
    from prisme.analytics.quality import customer_loads

    ingest(olist, ["customers"], engine=engine)
    olist.sources["customers"].constants["kind"] = "person"
    ingest(olist, ["customers"], engine=engine, reload=["customers"])
    loads = engine.to_pandas(customer_loads(engine))
    assert len(loads) == 1  # the superseded load is no longer one of the source's loads


def test_a_column_of_an_undeclared_join_is_said(olist, engine):
    olist.sources["items"].columns["channel"] = "order.channel"
    (r,) = ingest(olist, ["items"], engine=engine)
    assert r.status == "failed" and "'order.channel'" in r.message
    assert "[sources.items.join.NAME] (declared: orders)" in r.message
