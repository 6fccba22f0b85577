"""The cube: declared names only, and answers that agree with an independent computation."""

from __future__ import annotations

import pandas as pd
import pytest

from prisme import engine as engine_mod
from prisme.access.users import User
from prisme.serve import cube
from prisme.serve.data import Reader


@pytest.fixture(scope="module")
def raw(served):
    """The tables, pulled whole into pandas (the independent computation's input)."""
    with engine_mod.connect(served.settings, read_only=True) as eng:
        out = {n: eng.to_pandas(eng.table(n)) for n in
               ("fact_sales", "party_map", "customer_360", "dim_product")}
    return out


def _run(served, user, *args):
    with engine_mod.connect(served.settings, read_only=True) as eng:
        return cube.run(Reader(eng, user, "test"), cube.parse(*args))


def _pandas_sales(raw):
    """Sale lines of identified customers, returns signed negative (the analytics' rule)."""
    s = raw["fact_sales"]
    if "is_cancelled" in s:
        s = s[~s.is_cancelled.fillna(False).astype(bool)]
    s = s[s.source_customer_id.notna()]
    s = s.merge(raw["party_map"], on=["source", "source_customer_id"], how="left")
    s["party_id"] = s.party_id.fillna(s.source + ":" + s.source_customer_id)
    c = raw["customer_360"][["party_id", "branch", "advisor"]].rename(
        columns={"branch": "c_branch", "advisor": "c_advisor"})
    s = s.merge(c, on="party_id", how="left")
    s["year"] = pd.to_datetime(s.ordered_at).dt.year.astype(str)
    s["revenue"] = s.revenue.astype(float)
    ret = s.is_return.fillna(False).astype(bool) & (s.revenue > 0)
    s.loc[ret, "revenue"] = -s.revenue[ret]
    s["order_key"] = s.source + "\x1f" + s.order_id
    return s


def test_revenue_by_year_and_branch_matches_pandas(served, raw):
    got = _run(served, User("a", "admin"), "revenue,customers,orders", "year,branch")
    s = _pandas_sales(raw)
    s["c_branch"] = s.c_branch.fillna(cube.UNKNOWN)
    want = s.groupby(["year", "c_branch"]).agg(revenue=("revenue", "sum"),
                                               customers=("party_id", "nunique"),
                                               orders=("order_key", "nunique")).reset_index()
    merged = got.merge(want, left_on=["year", "branch"], right_on=["year", "c_branch"],
                       suffixes=("", "_pd"))
    assert len(merged) == len(got) == len(want)
    assert (merged.revenue - merged.revenue_pd).abs().max() < 0.01
    assert (merged.customers == merged.customers_pd).all()
    assert (merged.orders == merged.orders_pd).all()


def test_advisor_sees_the_same_numbers_restricted(served, raw):
    user = User("v", "advisor", advisor=served.advisor)
    got = _run(served, user, "revenue", "year")
    s = _pandas_sales(raw)
    want = s[s.c_advisor == served.advisor].groupby("year").revenue.sum()
    assert dict(zip(got.year, got.revenue.round(2), strict=True)) == \
        {k: round(v, 2) for k, v in want.items()}


def test_drill_down_and_roll_up_add_up(served):
    admin = User("a", "admin")
    years = _run(served, admin, "revenue", "year")
    year = years.year.iloc[-1]
    q = cube.parse("revenue", "year")
    down = q.drill_down("year", year)
    assert down.dimensions == ["quarter"] and down.filters == {"year": [year]}
    with engine_mod.connect(served.settings, read_only=True) as eng:
        quarters = cube.run(Reader(eng, admin, "t"), down)
        assert all(x.startswith(year) for x in quarters.quarter)
        assert quarters.revenue.sum() == pytest.approx(years.revenue.iloc[-1], abs=0.01)
        months = cube.run(Reader(eng, admin, "t"), down.drill_down("quarter",
                                                                   quarters.quarter.iloc[0]))
        assert months.revenue.sum() == pytest.approx(quarters.revenue.iloc[0], abs=0.01)
    up = down.roll_up("quarter")
    assert up.dimensions == ["year"] and "year" not in up.filters


@pytest.mark.parametrize("args, message", [
    (("bogus", "year"), "unknown measure 'bogus'"),
    (("revenue", "year;drop table x"), "unknown dimension"),
    (("revenue", "colour"), "unknown dimension 'colour'"),
    (("clv", "month"), "has no dimension 'month'"),
    (("", "year"), "at least one measure"),
    (("revenue", "year,month,day,branch"), "up to 3"),
    (("revenue", "year", "branch"), "dimension:value"),
    (("revenue", "year", "shoe:1"), "unknown dimension 'shoe'"),
])
def test_only_declared_names(args, message):
    with pytest.raises(cube.CubeError, match=message):
        cube.parse(*args)


def test_filter_values_are_literals(served):
    """A value that looks like SQL is just a value that matches nothing."""
    got = _run(served, User("a", "admin"), "revenue", "branch",
               "branch:x' OR '1'='1")
    assert got.empty


def test_three_dimensions_and_mixed_facts(served):
    got = _run(served, User("a", "admin"), "revenue,clv", "rfm_segment,branch")
    assert {"rfm_segment", "branch", "revenue", "clv"} <= set(got.columns)
    got = _run(served, User("a", "admin"), "revenue,margin", "quarter,channel,category")
    assert len(got) > 4
    # margin is revenue less cost (from the product's unit cost when the line has none)
    assert 0 < got.margin.sum() < got.revenue.sum()
    assert (got.margin != got.revenue).mean() > 0.9


def test_scoped_user_is_refused_a_slice_outside_their_portfolio(served):
    from prisme.access.rights import Forbidden

    advisor = User("v", "advisor", advisor=served.advisor)
    with pytest.raises(Forbidden, match="outside your portfolio"):
        _run(served, advisor, "revenue", "year", "advisor:Someone Else")
    own = _run(served, advisor, "revenue", "year", f"advisor:{served.advisor}")
    assert own.revenue.sum() > 0
    manager = User("m", "manager", branch=served.branch)
    with pytest.raises(Forbidden, match="outside your portfolio"):
        _run(served, manager, "revenue", "year", "branch:Nowhere")


def test_serving_marts_equal_their_live_expressions(served):
    """The build's mart_cube_sales / mart_timeline hold what the live expressions compute
    (the application falls back to those on a warehouse built before the serving stage)."""
    from prisme.serve import marts

    with engine_mod.connect(served.settings, read_only=True) as eng:
        for name, live in ((marts.CUBE_SALES, marts.cube_sales),
                           (marts.TIMELINE, marts.timeline)):
            stored, fresh = eng.table(name), live(eng)
            assert eng.scalar(stored.count()) == eng.scalar(fresh.count()) > 0
            col = "revenue" if name == marts.CUBE_SALES else "amount"
            assert eng.scalar(stored[col].sum()) == pytest.approx(eng.scalar(fresh[col].sum()))
        for name in (marts.CARD_SOURCES, marts.SEARCH):
            assert eng.scalar(eng.table(name).count()) == \
                eng.scalar(eng.table("customer_360").count())
        t = eng.table(marts.TIMELINE)
        kinds = set(eng.to_pandas(t.select("kind").distinct()).kind)
        assert {"purchase", "web", "campaign"} <= kinds
