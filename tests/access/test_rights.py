"""Row-level security (``prisme.access.rights.restrict``) on a small warehouse, every role."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from prisme.access.rights import Forbidden, restrict
from prisme.access.users import User

ADMIN = User("a", "admin")
ANALYST = User("b", "analyst")
ANALYST_PII = User("c", "analyst", personal_data=True)
MANAGER = User("m", "manager", branch="Lyon")
ADVISOR = User("v", "advisor", advisor="Léa")


def _warehouse(engine, customers: pd.DataFrame) -> None:
    schema = {c: "string" for c in customers.columns}  # branch/advisor may be all empty
    engine.create_table("customer_360", ibis.memtable(customers.astype(object),
                                                      schema=schema), overwrite=True)
    pm = pd.DataFrame({"source": "crm", "source_customer_id": "C" + customers.party_id,
                       "party_id": customers.party_id})
    engine.create_table("party_map", ibis.memtable(pm), overwrite=True)
    sales = pd.DataFrame({"source": "crm", "source_customer_id": list(pm.source_customer_id) * 2,
                          "order_id": [f"O{i}" for i in range(2 * len(pm))],
                          "revenue": 10.0})
    engine.create_table("fact_sales", ibis.memtable(sales), overwrite=True)
    engine.create_table("mart_campaigns", ibis.memtable(
        pd.DataFrame({"campaign_id": ["K1"], "roi": [0.2]})), overwrite=True)
    engine.create_table("mystery", ibis.memtable(pd.DataFrame({"x": [1]})), overwrite=True)


CUSTOMERS = pd.DataFrame({
    "party_id": ["P1", "P2", "P3", "P4"],
    "first_name": ["Ann", "Ben", "Cléo", "Dan"],
    "email": ["a@x.fr", "b@x.fr", "c@x.fr", "d@x.fr"],
    "branch": ["Lyon", "Lyon", "Paris", None],
    "advisor": ["Léa", "Tom", "Léa", None],
})


def _read(engine, user, name):
    t = restrict(user, name, engine.table(name), customers=engine.table("customer_360"),
                 party_map=engine.table("party_map"))
    return engine.to_pandas(t)


@pytest.mark.parametrize("user, parties", [
    (ADMIN, {"P1", "P2", "P3", "P4"}),
    (ANALYST, {"P1", "P2", "P3", "P4"}),
    (MANAGER, {"P1", "P2"}),
    (ADVISOR, {"P1", "P3"}),
])
def test_customers_and_facts_by_role(engine, user, parties):
    _warehouse(engine, CUSTOMERS)
    assert set(_read(engine, user, "customer_360").party_id) == parties
    sales = _read(engine, user, "fact_sales")
    assert set(sales.source_customer_id) == {"C" + p for p in parties}
    assert len(sales) == 2 * len(parties)


def test_analyst_personal_fields_are_masked_unless_granted(engine):
    _warehouse(engine, CUSTOMERS)
    masked = _read(engine, ANALYST, "customer_360")
    assert masked.first_name.isna().all() and masked.email.isna().all()
    assert masked.branch.notna().sum() == 3  # not personal: kept
    granted = _read(engine, ANALYST_PII, "customer_360")
    assert set(granted.email) == set(CUSTOMERS.email)


def test_company_aggregates_and_unknown_tables(engine):
    _warehouse(engine, CUSTOMERS)
    assert len(_read(engine, MANAGER, "mart_campaigns")) == 1
    with pytest.raises(Forbidden, match="company-wide"):
        _read(engine, ADVISOR, "mart_campaigns")
    with pytest.raises(Forbidden, match="cannot be restricted"):
        _read(engine, MANAGER, "mystery")
    assert len(_read(engine, ADMIN, "mystery")) == 1
    with pytest.raises(Forbidden, match="disabled"):
        _read(engine, User("z", "admin", disabled=True), "customer_360")


@hsettings(max_examples=15, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["Lyon", "Paris", None]),
                          st.sampled_from(["Léa", "Tom", None])), min_size=1, max_size=12),
       st.sampled_from(["Lyon", "Paris"]), st.sampled_from(["Léa", "Tom"]))
def test_scope_is_exactly_the_portfolio(engine, rows, branch, advisor):
    """Whatever the assignment, a manager sees exactly their branch, an advisor exactly their
    customers, in customer_360 and in the facts."""
    df = pd.DataFrame({"party_id": [f"P{i}" for i in range(len(rows))],
                       "first_name": "x", "email": "e",
                       "branch": [r[0] for r in rows], "advisor": [r[1] for r in rows]})
    _warehouse(engine, df)
    for user, col, value in ((User("m", "manager", branch=branch), "branch", branch),
                             (User("v", "advisor", advisor=advisor), "advisor", advisor)):
        want = set(df.party_id[df[col] == value])
        assert set(_read(engine, user, "customer_360").party_id) == want
        assert set(_read(engine, user, "fact_sales").source_customer_id) == \
            {"C" + p for p in want}


def test_restrict_is_an_ibis_expression(engine):
    _warehouse(engine, CUSTOMERS)
    t = restrict(ADVISOR, "fact_sales", engine.table("fact_sales"),
                 customers=engine.table("customer_360"), party_map=engine.table("party_map"))
    assert isinstance(t, ibis.Table)


@pytest.mark.parametrize("user, parties", [
    (ADMIN, {"P1", "P2", "P3", "P4"}),
    (ANALYST, {"P1", "P2", "P3", "P4"}),
    (MANAGER, {"P1", "P2"}),
    (ADVISOR, {"P1", "P3"}),
])
def test_search_term_index_is_restricted_and_masked_like_the_customers(engine, user, parties):
    """``mart_search_terms`` holds fragments of names, phones and e-mails: filtered on the
    customer's branch and advisor like ``mart_search``, its terms masked for an analyst
    without the personal-data grant."""
    _warehouse(engine, CUSTOMERS)
    terms = CUSTOMERS.assign(search_term="n" + CUSTOMERS.first_name.str.lower())[
        ["search_term", "party_id", "branch", "advisor"]]
    engine.create_table("mart_search_terms", ibis.memtable(
        terms.astype(object), schema={c: "string" for c in terms.columns}), overwrite=True)
    got = _read(engine, user, "mart_search_terms")
    assert set(got.party_id) == parties
    if user.sees_personal_data:
        assert set(got.search_term) == {"n" + n.lower() for n, p in
                                        zip(CUSTOMERS.first_name, CUSTOMERS.party_id, strict=True)
                                        if p in parties}
    else:
        assert got.search_term.isna().all()
