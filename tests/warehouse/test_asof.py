"""``as_of``: what the warehouse knew at a moment (by load), or what had happened (by event)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from prisme.config import SourceSettings
from prisme.ingest.load import load_raw, raw_input_from_frame
from prisme.warehouse import as_of

CUSTOMERS = SourceSettings(
    entity="customer", path="c.csv", constants={"source": "crm"},
    columns={"source_customer_id": "id", "city": "ville"},
)
SALES = SourceSettings(
    entity="transaction", path="s.csv", constants={"source": "shop"}, date_format="%Y-%m-%d",
    columns={"order_id": "o", "ordered_at": "d", "sku": "k", "quantity": "q", "revenue": "r",
             "source_customer_id": "c"},
)


def load(engine, settings, name, frame):
    return load_raw(engine, settings, name, raw_input_from_frame(engine, name, frame))


@pytest.fixture
def history(engine, settings):
    """Load 1: customer 1 in Lyon, a sale in January. Load 2: she moved, a sale in March and a
    late-arriving sale dated February."""
    settings.sources.update(crm=CUSTOMERS, shop=SALES)
    load(engine, settings, "crm", pd.DataFrame({"id": ["1", "2"], "ville": ["Lyon", "Nice"]}))
    load(engine, settings, "shop", pd.DataFrame(
        {"o": ["A"], "d": ["2024-01-10"], "k": ["x"], "q": ["1"], "r": ["10"], "c": ["1"]}))
    t1 = engine.to_pandas(engine.table("load_batches")).finished_at.max()
    load(engine, settings, "crm", pd.DataFrame({"id": ["1", "2"], "ville": ["Lille", "Nice"]}))
    load(engine, settings, "shop", pd.DataFrame(
        {"o": ["B", "C"], "d": ["2024-03-05", "2024-02-20"], "k": ["x", "y"], "q": ["1", "2"],
         "r": ["20", "30"], "c": ["1", "2"]}))
    return engine, t1


def test_as_of_by_load_gives_what_was_known_then(history):
    engine, t1 = history
    dim = engine.to_pandas(as_of(engine, "dim_customer", t1))
    assert sorted(dim.city) == ["Lyon", "Nice"]
    assert dim.is_current.all() and dim.valid_to.isna().all()  # the later move is not known
    sales = engine.to_pandas(as_of(engine, "fact_sales", t1))
    assert sales.order_id.tolist() == ["A"]
    assert len(engine.to_pandas(as_of(engine, "load_batches", t1))) == 2
    now = engine.to_pandas(as_of(engine, "dim_customer", pd.Timestamp.now(tz="UTC")))
    one = now[now.source_customer_id == "1"].sort_values("valid_from")
    assert one.city.tolist() == ["Lyon", "Lille"] and one.is_current.tolist() == [False, True]


def test_as_of_before_any_load_is_empty(history):
    engine, t1 = history
    assert engine.to_pandas(as_of(engine, "fact_sales", t1 - timedelta(days=1))).empty


def test_as_of_by_event_gives_the_facts_that_had_happened(history):
    engine, _ = history
    feb = engine.to_pandas(as_of(engine, "fact_sales", date(2024, 2, 29), by="event"))
    assert sorted(feb.order_id) == ["A", "C"]  # C was loaded later but happened in February
    jan = engine.to_pandas(as_of(engine, "fact_sales", "2024-01-31", by="event"))
    assert jan.order_id.tolist() == ["A"]


def test_as_of_refuses_what_it_cannot_answer(history):
    engine, t1 = history
    with pytest.raises(ValueError, match="no event time"):
        as_of(engine, "dim_customer", t1, by="event")
    with pytest.raises(ValueError, match="not a warehouse table"):
        as_of(engine, "customers", t1)
    with pytest.raises(ValueError, match="by='load'"):
        as_of(engine, "fact_sales", t1, by="wall")
