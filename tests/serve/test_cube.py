"""The cube: declared names only, and answers that agree with an independent computation."""

from __future__ import annotations

import json

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
    """The build's mart_cube_sales / mart_card hold what the live expressions compute (the
    application falls back to those on a warehouse built before the serving stage)."""
    from prisme.serve import marts

    with engine_mod.connect(served.settings, read_only=True) as eng:
        stored, fresh = eng.table(marts.CUBE_SALES), marts.cube_sales(eng)
        assert eng.scalar(stored.count()) == eng.scalar(fresh.count()) > 0
        assert eng.scalar(stored.revenue.sum()) == pytest.approx(eng.scalar(fresh.revenue.sum()))
        for name in (marts.CARD, marts.SEARCH):
            assert eng.scalar(eng.table(name).count()) == \
                eng.scalar(eng.table("customer_360").count())
        for name in marts.RETIRED:
            assert not eng.has_table(name)
        stored = eng.to_pandas(eng.table(marts.CARD).order_by("party_id"))
        live = eng.to_pandas(marts.card(eng).order_by("party_id"))
        assert list(stored.party_id) == list(live.party_id)
        # the rights' columns and the personal fields are columns (masked by name), the
        # rest of the card one JSON object
        assert set(stored.columns) == set(marts.CARD_PLAIN) | {marts.CARD_JSON}
        card = pd.DataFrame([json.loads(x) for x in stored[marts.CARD_JSON]])
        assert [_sorted_card(x) for x in live[marts.CARD_JSON]] == \
            [_sorted_card(x) for x in stored[marts.CARD_JSON]]
        card["party_id"] = stored.party_id
        assert card.event_count.fillna(0).sum() > 0
        # every event of the timeline is counted; the card keeps the newest CARD_EVENTS
        events = eng.to_pandas(marts.timeline(eng).select("party_id", "at", "amount"))
        assert card.event_count.fillna(0).sum() == len(events)
        kept = card.events.map(lambda v: len(v) if isinstance(v, list) else 0)
        assert (kept == card.event_count.fillna(0).clip(upper=marts.CARD_EVENTS)).all()
        kinds = {e["kind"] for v in card.events if isinstance(v, list) for e in v}
        assert {"purchase", "web", "campaign"} <= kinds
        busiest = card.loc[card.event_count.fillna(0).idxmax()]
        newest = sorted((e["at"] for e in busiest.events), reverse=True)
        mine = events[events.party_id == busiest.party_id].sort_values("at", ascending=False)
        assert [pd.Timestamp(x) for x in newest] == \
            list(mine["at"].head(marts.CARD_EVENTS).map(pd.Timestamp))
        assert card.revenue.sum() == pytest.approx(eng.scalar(
            eng.table("customer_360").revenue.sum().cast("float64")))


def _sorted_card(text: str) -> dict:
    """A card's JSON with its lists (kept in no particular order) sorted."""
    d = json.loads(text)
    for k in ("events", "source_records"):
        if isinstance(d.get(k), list):
            d[k] = sorted(d[k], key=lambda e: json.dumps(e, sort_keys=True))
    return d


class _LinesOnly(Reader):
    """A reader that does not see ``mart_cube_rollup``: the cube reads the sale lines."""

    def has(self, name):
        from prisme.serve.marts import CUBE_ROLLUP

        return name != CUBE_ROLLUP and super().has(name)


#: questions the roll-up answers (time levels, channel, category, single and multiple
#: filters, no dimension at all); each is also asked of the sale lines
ROLLUP_QUESTIONS = [
    ("revenue,margin,orders,customers", "quarter,channel,rfm_segment", "year:{year}"),
    ("revenue,orders,customers", "month", ""),
    ("revenue,margin,orders,customers", "year,branch", ""),
    ("customers,orders", "year,category", "channel:{channel}"),
    ("revenue,customers", "advisor,cluster,region", "quarter:{quarter}"),
    ("revenue,margin,orders,customers", "", "year:{year}"),
    ("revenue,margin,orders,customers", "", ""),
    ("revenue,margin", "year", "channel:{channel}|{channel2};category:{category}|{category2}"),
    ("revenue", "branch", "year:{year}|{year2}"),
    ("orders,customers", "channel,category", "month:{month}"),
]


def _fill(served, text):
    with engine_mod.connect(served.settings, read_only=True) as eng:
        s = eng.table("mart_cube_sales")
        d = eng.to_pandas(s.select(
            year=s.ordered_at.year().cast("string"), month=s.ordered_at.strftime("%Y-%m"),
            quarter=s.ordered_at.year().cast("string").concat(
                "-Q", s.ordered_at.quarter().cast("string")),
            channel=s.channel, category=s.category).distinct())
    top = {c: d[c].dropna().value_counts().index.tolist() for c in d.columns}
    return text.format(year=top["year"][0], year2=top["year"][1], month=top["month"][0],
                       quarter=top["quarter"][0], channel=top["channel"][0],
                       channel2=top["channel"][1], category=top["category"][0],
                       category2=top["category"][1])


@pytest.mark.parametrize("role", ["admin", "analyst", "manager", "advisor"])
def test_rollup_gives_the_numbers_of_the_sale_lines(served, role):
    """Every question above, for every role: mart_cube_rollup (sums rolled up from its
    grouping set, distinct counts never summed across time, channel or category) answers
    exactly what the line-level query answers, on the user's rows only."""
    user = User("u", role, branch=served.branch if role == "manager" else None,
                advisor=served.advisor if role == "advisor" else None)
    with engine_mod.connect(served.settings, read_only=True) as eng:
        for measures, dims, filters in ROLLUP_QUESTIONS:
            q = cube.parse(measures, dims, _fill(served, filters))
            assert cube.rollup_plan(q, q.measures) is not None, q
            fast = cube.run(Reader(eng, user, "t"), q)
            slow = cube.run(_LinesOnly(eng, user, "t"), q)
            assert len(fast) == len(slow) and len(slow) > 0, q
            assert list(fast.columns) == list(slow.columns)
            for col in q.dimensions:
                assert fast[col].tolist() == slow[col].tolist(), (q, col)
            for m in q.measures:
                assert fast[m].fillna(-1).to_numpy() == pytest.approx(
                    slow[m].fillna(-1).to_numpy(), rel=1e-9, abs=1e-6), (q, m)


def test_rollup_reads_the_lines_when_a_distinct_count_would_be_summed(served):
    """A distinct count (orders, customers) over two years, two channels or two categories
    gathered in one answer row is not the sum of each one's: those questions read the
    lines; sums (revenue, margin) still come from the roll-up; days are not rolled up."""
    for measures, dims, filters, uses_rollup in [
        ("customers", "branch", "year:2023|2024", False),
        ("orders", "year", "channel:web|store", False),
        ("customers", "", "category:a|b", False),
        ("orders", "quarter", "month:2024-01|2024-02", False),
        ("revenue,margin", "branch", "year:2023|2024;channel:web|store", True),
        ("customers", "year", "channel:web|store;quarter:2024-Q1|2024-Q2", False),
        ("customers", "quarter,channel", "year:2023|2024;channel:web|store", True),
        ("customers", "year", "month:2024-01", True),
        ("revenue", "day", "", False),
    ]:
        q = cube.parse(measures, dims, filters)
        assert (cube.rollup_plan(q, q.measures) is not None) is uses_rollup, (measures, dims,
                                                                              filters)
    admin = User("a", "admin")
    q = cube.parse("customers", "branch", _fill(served, "year:{year}|{year2}"))
    with engine_mod.connect(served.settings, read_only=True) as eng:
        got = cube.run(Reader(eng, admin, "t"), q)
        lines = cube.run(_LinesOnly(eng, admin, "t"), q)
        r = eng.table("mart_cube_rollup")
        r = r.filter((r.level == "year") & ~r.by_channel & ~r.by_category)
        summed = eng.to_pandas(r.filter(r.year.isin(q.filters["year"]))
                               .aggregate(n=r.customers.sum())).n.iloc[0]
    assert got.customers.tolist() == lines.customers.tolist()
    # customers who bought in both years: the sum of each year's count would count them twice
    assert got.customers.sum() < summed


def test_time_filters_on_the_lines_keep_every_line_of_their_period(served):
    """On the sale lines a time filter also bounds ``ordered_at`` (the lines are sorted by
    it, so the engine skips the rest): the days of a month and the quarters of a year add up
    to the month and the year; a label that is not a period only matches its label."""
    admin = User("a", "admin")
    with engine_mod.connect(served.settings, read_only=True) as eng:
        lines = _LinesOnly(eng, admin, "t")
        months = cube.run(lines, cube.parse("revenue,orders", "month"))
        month = months.sort_values("orders").month.iloc[-1]
        days = cube.run(lines, cube.parse("revenue,orders", "day", f"month:{month}"))
        assert days.day.str.startswith(month).all() and len(days) > 1
        row = months[months.month == month].iloc[0]
        assert days.revenue.sum() == pytest.approx(row.revenue)
        assert days.orders.sum() == row.orders  # an order has one day
        year = month[:4]
        q = cube.run(lines, cube.parse("revenue", "quarter", f"year:{year}"))
        y = cube.run(lines, cube.parse("revenue", "year", f"year:{year}"))
        assert q.revenue.sum() == pytest.approx(y.revenue.iloc[0])
        assert cube.run(lines, cube.parse("revenue", "year", "year:20x4")).empty
