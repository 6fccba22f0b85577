"""The per-party feature table: identity, returns, margin, interactions, lifetimes conventions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from warehouse_tables import write_core, write_party_map

from prisme.analytics.features import customer_summary, value_basis
from prisme.models import summary_data_from_transactions

AS_OF = "2024-03-31"
T0 = pd.Timestamp("2024-01-01 10:00")


def _sale(order, cust, day, revenue, cost=None, *, source="shop", sku="A", channel="web",
          is_return=None, quantity=1.0):
    return {
        "source": source, "order_id": order, "source_customer_id": cust,
        "ordered_at": T0 + pd.Timedelta(days=day), "sku": sku, "quantity": quantity,
        "revenue": revenue, "cost": cost, "channel": channel, "is_return": is_return,
    }


@pytest.fixture
def small_warehouse(engine):
    """Three parties across two sources, returns, an anonymous sale and a sale after as_of."""
    write_core(engine, "transaction", [
        # party P1 = crm:1 + shop:A
        _sale("o1", "A", 0, 100.0, 60.0, sku="A"),
        _sale("o1", "A", 0, 50.0, 20.0, sku="B"),
        _sale("c1", "1", 10, 80.0, 30.0, source="crm", channel="store", sku="B"),
        _sale("c2", "1", 10, 20.0, 5.0, source="crm", channel="store", sku="A"),
        _sale("o2", "A", 40, 30.0, 10.0, sku="A"),
        # a return flagged with a positive amount: counts negatively, is not a purchase
        _sale("r1", "A", 45, 30.0, 10.0, sku="A", is_return=True),
        # party P2 = crm:2: one purchase, then an order fully cancelled by a return line
        _sale("c3", "2", 70, 200.0, 150.0, source="crm", channel="store", sku="B"),
        _sale("c4", "2", 80, 40.0, 20.0, source="crm", channel="store", sku="A"),
        _sale("c4", "2", 80, -40.0, -20.0, source="crm", channel="store", sku="A",
              is_return=True),
        # shop:B has no party_map row: a party of its own
        _sale("o3", "B", 85, 10.0, 4.0),
        # anonymous, and after as_of: ignored
        _sale("o4", None, 20, 999.0, 1.0),
        _sale("o5", "A", 100, 500.0, 100.0),
    ])
    write_party_map(engine, [
        {"source": "shop", "source_customer_id": "A", "party_id": "P1"},
        {"source": "crm", "source_customer_id": "1", "party_id": "P1"},
        {"source": "crm", "source_customer_id": "2", "party_id": "P2"},
    ])
    write_core(engine, "product", [
        {"sku": "A", "name": "Alpha", "category": "Garden", "unit_price": 10.0, "unit_cost": 4.0},
        {"sku": "B", "name": "Beta", "category": "Kitchen", "unit_price": 20.0, "unit_cost": 9.0},
    ])
    write_core(engine, "web_session", [
        # with the system of the id, or without (the id alone is unambiguous here)
        {"session_id": f"s{i}", "started_at": T0 + pd.Timedelta(days=i), "source_customer_id": "A",
         "source": "shop" if i % 2 else None}
        for i in range(5)
    ] + [{"session_id": "late", "started_at": T0 + pd.Timedelta(days=120),
          "source_customer_id": "A", "source": "shop"}])
    write_core(engine, "call", [
        {"call_id": "k1", "source": "crm", "source_customer_id": "2",
         "at": T0 + pd.Timedelta(days=75)},
        # crm:1 is the CRM key of P1
        {"call_id": "k2", "source": "crm", "source_customer_id": "1",
         "at": T0 + pd.Timedelta(days=76)},
    ])
    write_core(engine, "survey", [
        {"source": "crm", "source_customer_id": "2", "answered_at": T0 + pd.Timedelta(days=20),
         "nps": 3.0},
        {"source": "crm", "source_customer_id": "2", "answered_at": T0 + pd.Timedelta(days=82),
         "nps": 9.0},
    ])
    return engine


def test_summary_of_a_small_known_warehouse(small_warehouse):
    s = small_warehouse.to_pandas(customer_summary(small_warehouse, as_of=AS_OF))
    s = s.set_index("party_id").sort_index()
    assert list(s.index) == ["P1", "P2", "shop:B"]
    p1, p2, b = s.loc["P1"], s.loc["P2"], s.loc["shop:B"]
    assert s.monetary_basis.iloc[0] == "margin"
    # P1 purchased on days 0, 10 (two orders, one purchase day) and 40; T from day 0 to 31 March
    assert p1.frequency == 2 and p1.orders == 4
    assert p1.recency == pytest.approx(40 / 7)
    assert p1["T"] == pytest.approx(90 / 7)
    # repeat days' margin: day 10 (80-30 + 20-5 = 65) and day 40 (30-10 = 20)
    assert p1.monetary_value == pytest.approx((65 + 20) / 2)
    assert float(p1.revenue) == pytest.approx(150 + 100 + 30 - 30)
    assert float(p1.margin) == pytest.approx(70 + 65 + 20 - 20)
    assert p1.return_rate == pytest.approx(30 / 280)
    assert p1.channel_share_web == pytest.approx(180 / 280)
    assert p1.channel_share_store == pytest.approx(100 / 280)
    assert p1.category_share_garden == pytest.approx(150 / 280)
    assert p1.web_sessions == 5 and p1.calls == 1
    # P2: the cancelled order is neither a purchase nor revenue
    assert p2.frequency == 0 and p2.orders == 1 and p2.monetary_value == 0
    assert float(p2.revenue) == pytest.approx(200)
    assert p2.calls == 1 and p2.last_nps == 9.0
    assert p2.return_rate == pytest.approx(40 / 240)
    assert b.frequency == 0 and b["T"] == pytest.approx((90 - 85) / 7)
    assert s.tenure_days.loc["P1"] == 90


def test_day_time_unit_and_revenue_basis(small_warehouse):
    s = small_warehouse.to_pandas(
        customer_summary(small_warehouse, as_of=AS_OF, time_unit="day", use_margin=False)
    ).set_index("party_id")
    assert s.loc["P1", "recency"] == 40 and s.loc["P1", "T"] == 90
    assert s.loc["P1", "monetary_value"] == pytest.approx((100 + 30) / 2)
    assert (s.monetary_basis == "revenue").all()


def test_missing_cost_falls_back_to_revenue_with_a_warning(engine):
    write_core(engine, "transaction", [_sale("o1", "A", 0, 10.0, 3.0), _sale("o2", "A", 5, 10.0)])
    with pytest.warns(UserWarning, match="1 of 2 sale lines have no cost"):
        assert value_basis(engine, as_of=AS_OF) == "revenue"
    # a product cost fills the gap
    write_core(engine, "product", [{"sku": "A", "name": "Alpha", "unit_cost": 2.5}])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert value_basis(engine, as_of=AS_OF) == "margin"


def test_matches_an_independent_pandas_summary_on_cdnow(engine, shared_data):
    """Full CDNOW log (23,570 customers): engine summary == pandas summary of the models."""
    df = pd.read_csv(shared_data / "cdnow" / "CDNOW_master.txt", sep=r"\s+",
                     dtype={"date": str})
    df["ordered_at"] = pd.to_datetime(df.date, format="%Y%m%d")
    write_core(engine, "transaction", pd.DataFrame({
        "source": "cdnow", "order_id": np.arange(len(df)).astype(str),
        "source_customer_id": df.customer_id.astype(str), "ordered_at": df.ordered_at,
        "sku": "cd", "quantity": df.number_of_cds.astype(float), "revenue": df.dollar_value,
    }))
    got = engine.to_pandas(customer_summary(engine, as_of="1997-09-30", use_margin=False))
    got = got.assign(id=got.party_id.str.split(":").str[1].astype(int)).set_index("id")
    want = summary_data_from_transactions(df[df.ordered_at <= "1997-09-30"], "customer_id",
                                          "ordered_at", "dollar_value",
                                          observation_end="1997-09-30", freq="W")
    got = got.loc[want.index]
    assert len(got) == 23570
    assert (got.frequency == want.frequency).all()
    np.testing.assert_allclose(got.recency, want.recency, atol=1e-12)
    np.testing.assert_allclose(got["T"], want["T"], atol=1e-12)
    np.testing.assert_allclose(got.monetary_value, want.monetary_value, rtol=1e-9)
