"""Survey scores reach customer_360 (issue #9 item 10: "survey scores never reach
customer_360"): the satisfaction module contributes, per party, the number of answers, the
last answer's date and scores, the mean NPS answer and the mean satisfaction, as of the
build's day — answers given under either of a party's keys, none after as_of."""

from __future__ import annotations

import pandas as pd
import pytest
from warehouse_tables import write_core, write_dim_party, write_party_map

from prisme.analytics import satisfaction
from prisme.analytics.marts import build_marts, contributed_columns

AS_OF = "2024-06-30"


def _company(engine):
    parties = [{"party_id": p, "first_name": p} for p in ("P1", "P2", "P3")]
    pmap = [{"source": "shop", "source_customer_id": "s1", "party_id": "P1"},
            {"source": "crm", "source_customer_id": "c1", "party_id": "P1"},
            {"source": "shop", "source_customer_id": "s2", "party_id": "P2"},
            {"source": "shop", "source_customer_id": "s3", "party_id": "P3"}]
    sales = [{"source": "shop", "order_id": f"o{i}", "source_customer_id": f"s{1 + i % 3}",
              "ordered_at": pd.Timestamp("2024-01-05") + pd.Timedelta(days=20 * i),
              "sku": "A", "quantity": 1.0, "revenue": 10.0 + i} for i in range(9)]
    surveys = [
        # P1 answers under both of its keys; its last answer before as_of is the CRM one
        {"source": "shop", "source_customer_id": "s1", "answered_at": "2024-02-01 10:00",
         "sat_product": 4.0, "sat_service": 2.0, "sat_company": 3.0, "nps": 6.0},
        {"source": "crm", "source_customer_id": "c1", "answered_at": "2024-05-20 09:30",
         "sat_product": 5.0, "sat_service": 5.0, "sat_company": None, "nps": 10.0},
        # after as_of: not known on the build's day
        {"source": "shop", "source_customer_id": "s1", "answered_at": "2024-08-01 12:00",
         "sat_product": 1.0, "sat_service": 1.0, "sat_company": 1.0, "nps": 0.0},
        {"source": "shop", "source_customer_id": "s2", "answered_at": "2024-03-03 08:00",
         "sat_product": 2.0, "sat_service": None, "sat_company": None, "nps": None},
    ]
    for s in surveys:
        s["answered_at"] = pd.Timestamp(s["answered_at"])
    write_core(engine, "transaction", sales)
    write_core(engine, "survey", surveys)
    write_party_map(engine, pmap)
    write_dim_party(engine, parties)


def test_survey_scores_reach_customer_360(engine, settings):
    _company(engine)
    settings.analytics.clv_interval_draws = 20
    build_marts(engine, settings, as_of=AS_OF)
    c = engine.to_pandas(engine.table("customer_360")).set_index("party_id").sort_index()
    assert set(satisfaction.CUSTOMER_360_COLUMNS) <= set(c.columns)
    assert set(satisfaction.CUSTOMER_360_COLUMNS) <= set(contributed_columns())
    p1, p2, p3 = c.loc["P1"], c.loc["P2"], c.loc["P3"]
    assert p1.surveys == 2
    assert pd.Timestamp(p1.last_survey_date) == pd.Timestamp("2024-05-20")
    assert (p1.last_nps, p1.last_sat_product, p1.last_sat_service) == (10.0, 5.0, 5.0)
    assert pd.isna(p1.last_sat_company)
    assert p1.mean_nps == pytest.approx(8.0)
    # each answer's mean of the items it has, then their mean: (3 + 5) / 2
    assert p1.mean_satisfaction == pytest.approx(4.0)
    assert p2.surveys == 1 and pd.isna(p2.last_nps) and pd.isna(p2.mean_nps)
    assert p2.mean_satisfaction == pytest.approx(2.0) and p2.last_sat_product == 2.0
    # a customer who never answered: no answer, not zero
    assert pd.isna(p3.surveys) and pd.isna(p3.last_survey_date) and pd.isna(p3.mean_nps)


def test_without_any_survey_the_columns_exist_empty(engine, settings):
    _company(engine)
    engine.drop_table("fact_surveys")
    settings.analytics.clv_interval_draws = 20
    build_marts(engine, settings, as_of=AS_OF)
    c = engine.to_pandas(engine.table("customer_360"))
    assert len(c) == 3
    for col in satisfaction.CUSTOMER_360_COLUMNS:
        assert col in c.columns and c[col].isna().all()
