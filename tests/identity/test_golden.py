"""Golden record: survivorship rules, lineage of every field, conservative consent."""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from identity_tables import customers

from prisme.config import ConfigError, SourceSettings
from prisme.identity import golden
from prisme.warehouse.schema import PARTY_MAP


def party_map(engine, rows: list[tuple[str, str, str]]) -> None:
    df = pd.DataFrame(rows, columns=["source", "source_customer_id", "party_id"])
    df["match_probability"] = 1.0
    engine.create_table("party_map", ibis.memtable(df).cast(PARTY_MAP), overwrite=True)


@pytest.fixture
def two_sources(engine, settings):
    settings.sources = {
        "crm_customers": SourceSettings(entity="customer", path="crm.csv", trust=1,
                                        constants={"source": "crm"}),
        "shop_customers": SourceSettings(entity="customer", path="shop.csv", trust=5,
                                         constants={"source": "shop"}),
    }
    customers(engine, [
        {"source": "crm", "source_customer_id": "C1", "first_name": "Anne",
         "last_name": "Martin", "email": "anne.old@x.fr", "address_line": "3 rue A",
         "city": "Paris", "consent_email": True, "consent_phone": None, "consent_post": True,
         "updated_at": datetime(2025, 1, 1), "created_at": datetime(2019, 5, 1)},
        {"source": "shop", "source_customer_id": "S7", "first_name": "Anne-Sophie",
         "last_name": "Martin", "email": "anne@x.fr", "address_line": "  ",
         "city": "Lyon", "phone": "+33611111111", "consent_email": False,
         "consent_phone": None, "consent_post": True,
         "updated_at": datetime(2026, 1, 1), "created_at": datetime(2021, 5, 1)},
        {"source": "shop", "source_customer_id": "S8", "first_name": "Bob",
         "consent_email": None, "consent_phone": None},
    ])
    party_map(engine, [("crm", "C1", "P1"), ("shop", "S7", "P1"), ("shop", "S8", "P2"),
                       ("web", "W1", "P3")])
    return settings


def golden_of(engine, settings) -> pd.DataFrame:
    return engine.to_pandas(golden.golden_records(engine, settings)).set_index("party_id")


def test_trusted_source_wins_by_default_and_blank_values_never_win(engine, two_sources):
    g = golden_of(engine, two_sources).loc["P1"]
    assert (g.first_name, g.first_name_source, g.first_name_record) == ("Anne", "crm", "C1")
    assert (g.city, g.city_source) == ("Paris", "crm")
    assert (g.address_line, g.address_line_record) == ("3 rue A", "C1")
    # a field only the less trusted source has still comes from it
    assert (g.phone, g.phone_source, g.phone_record) == ("+33611111111", "shop", "S7")


def test_per_field_rules_recent_and_complete(engine, two_sources):
    two_sources.survivorship.fields = {"email": "recent", "first_name": "complete"}
    g = golden_of(engine, two_sources).loc["P1"]
    assert (g.email, g.email_source, g.email_record) == ("anne@x.fr", "shop", "S7")
    assert (g.first_name, g.first_name_record) == ("Anne-Sophie", "S7")
    assert g.last_name_source == "crm"  # default rule still trusted


def test_trust_ties_go_to_the_most_recent_record(engine, two_sources):
    two_sources.sources["shop_customers"].trust = 1
    g = golden_of(engine, two_sources).loc["P1"]
    assert (g.first_name, g.city) == ("Anne-Sophie", "Lyon")


def test_consent_opt_out_anywhere_wins_and_unknown_stays_unknown(engine, two_sources):
    g = golden_of(engine, two_sources)
    assert bool(g.loc["P1", "consent_email"]) is False
    assert (g.loc["P1", "consent_email_source"], g.loc["P1", "consent_email_record"]) == \
        ("shop", "S7")
    assert bool(g.loc["P1", "consent_post"]) is True
    assert pd.isna(g.loc["P1", "consent_phone"])
    assert pd.isna(g.loc["P2", "consent_email"])


def test_dates_customer_since_oldest_and_last_update_latest(engine, two_sources):
    g = golden_of(engine, two_sources).loc["P1"]
    assert pd.Timestamp(g.created_at) == pd.Timestamp(2019, 5, 1) and g.created_at_record == "C1"
    assert pd.Timestamp(g.updated_at) == pd.Timestamp(2026, 1, 1) and g.updated_at_record == "S7"


def test_one_row_per_party_with_counts_and_sources(engine, two_sources):
    g = golden_of(engine, two_sources)
    assert list(g.index) == ["P1", "P2", "P3"]
    assert g.record_count.tolist() == [2, 1, 0]
    assert [list(s) for s in g.sources] == [["crm", "shop"], ["shop"], ["web"]]
    for f in golden.FIELDS:
        assert {f, f"{f}_source", f"{f}_record"} <= set(g.columns)


def test_unknown_field_in_rules_names_the_key(settings):
    settings.survivorship.fields = {"e_mail": "recent"}
    with pytest.raises(ConfigError, match=r"survivorship.fields.*e_mail"):
        golden.field_rules(settings)


# ------------------------------------------------------------------ one-record fast path
TEXTS = st.sampled_from([None, "", "  ", "Anne", "Bob", "anne.m@x.fr"])
WHEN = st.sampled_from([None, datetime(2020, 1, 1), datetime(2024, 6, 1), datetime(2026, 1, 1)])
RECORD = st.fixed_dictionaries({
    "source": st.sampled_from(["crm", "shop", "web"]),
    "first_name": TEXTS, "email": TEXTS, "city": TEXTS,
    "birth_date": st.sampled_from([None, datetime(1980, 2, 3).date()]),
    "consent_email": st.sampled_from([None, True, False]),
    "consent_post": st.sampled_from([None, True, False]),
    "annual_revenue": st.sampled_from([None, 0, 1250.5]),
    "created_at": WHEN, "updated_at": WHEN,
    "party": st.integers(0, 5),
})


@pytest.fixture(scope="module")
def mem_engine():
    from prisme import engine as engine_mod
    from prisme.config import Settings

    eng = engine_mod.connect(Settings(), path=":memory:")
    yield eng
    eng.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(RECORD, min_size=1, max_size=9), fact_only=st.integers(0, 2),
       rule=st.sampled_from(["trusted", "recent", "complete"]))
def test_one_record_parties_get_what_the_ranked_path_gives(mem_engine, records, fact_only,
                                                           rule):
    """The fast path for one-record (and fact-only) parties gives, row for row, what ranking
    every party's records gives (the general path, applied here to every party)."""
    from prisme.config import Settings

    s = Settings()
    s.sources = {"crm_customers": SourceSettings(entity="customer", path="c.csv", trust=1,
                                                 constants={"source": "crm"}),
                 "shop_customers": SourceSettings(entity="customer", path="s.csv", trust=2,
                                                  constants={"source": "shop"})}
    s.survivorship.default = rule
    rows = [{**{k: v for k, v in r.items() if k != "party"}, "source_customer_id": f"K{i}"}
            for i, r in enumerate(records)]
    customers(mem_engine, rows, replace=True)
    links = [(r["source"], f"K{i}", f"P{r['party']}") for i, r in enumerate(records)]
    links += [("web", f"F{i}", f"PF{i}") for i in range(fact_only)]
    party_map(mem_engine, links)

    got = mem_engine.to_pandas(golden.golden_records(mem_engine, s))
    everything = golden.party_records(mem_engine, s)
    ranked = golden._ranked_records(everything, golden.field_rules(s)).order_by("party_id")
    want = mem_engine.to_pandas(ranked)
    assert list(got.columns) == list(want.columns)
    assert (got.dtypes == want.dtypes).all()
    for frame in (got, want):
        frame["sources"] = frame.sources.map(list)
    pd.testing.assert_frame_equal(got, want)
