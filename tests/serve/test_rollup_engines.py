"""mart_cube_rollup's grouping sets and prepared lookups, on every engine backend, against
an independent pandas computation."""

from __future__ import annotations

import itertools

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from prisme.analytics.basket import _Scratch
from prisme.serve import marts


def _sales(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parties = [f"P{i:03d}" for i in range(40)]
    attrs = {p: (rng.choice(["Champions", "At risk", None]), rng.choice(["a", "b"]),
                 rng.choice(["North", "South"]), rng.choice(["Ann", "Bob", None]),
                 rng.choice(["FR", "BE"])) for p in parties}
    orders = []
    for k in range(120):  # an order: one party, one time, one channel; lines of categories
        orders.append((f"S\x1fO{k}", rng.choice(parties),
                       pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 700))),
                       rng.choice(["web", "store", None])))
    rows = []
    for _ in range(n):
        key, p, at, ch = orders[int(rng.integers(0, len(orders)))]
        rfm, cl, br, adv, reg = attrs[p]
        rows.append({"party_id": p, "order_key": key, "ordered_at": at, "channel": ch,
                     "category": rng.choice(["toys", "books", None]),
                     "revenue": float(rng.integers(-20, 200)),
                     "cost": None if rng.random() < 0.2 else float(rng.integers(0, 50)),
                     "rfm_segment": rfm, "cluster": cl, "branch": br, "advisor": adv,
                     "region": reg})
    # a line without a time and a line of an unknown buyer (no attributes) count too
    rows[0]["ordered_at"] = pd.NaT
    rows[1].update(party_id=None, rfm_segment=None, cluster=None, branch=None, advisor=None,
                   region=None)
    return pd.DataFrame(rows)


def _expected(s: pd.DataFrame) -> pd.DataFrame:
    s = s.copy()
    s["year"] = s.ordered_at.dt.strftime("%Y")
    s["quarter"] = s.year + "-Q" + s.ordered_at.dt.quarter.astype("Int64").astype(str)
    s["month"] = s.ordered_at.dt.strftime("%Y-%m")
    for c in ("year", "quarter", "month"):
        s.loc[s.ordered_at.isna(), c] = marts.UNKNOWN
    s["channel"] = s.channel.fillna(marts.UNKNOWN)
    s["category"] = s.category.fillna(marts.UNKNOWN)
    s["margin"] = s.revenue - s.cost.fillna(0)
    party = list(marts.PARTY_ATTRIBUTES)
    out = []
    for i, level in enumerate(marts.ROLLUP_LEVELS):
        times = list(marts.ROLLUP_LEVELS[1:i + 1])
        for by_ch, by_cat in itertools.product((False, True), repeat=2):
            keys = times + ["channel"] * by_ch + ["category"] * by_cat
            g = s.fillna({c: "\x00" for c in party}).groupby(party + keys).agg(
                revenue=("revenue", "sum"), margin=("margin", "sum"),
                orders=("order_key", "nunique"), customers=("party_id", "nunique"))
            g = g.reset_index().replace({c: {"\x00": None} for c in party})
            g["level"], g["by_channel"], g["by_category"] = level, by_ch, by_cat
            out.append(g)
    return pd.concat(out, ignore_index=True)


_KEY = ["level", "by_channel", "by_category", *marts.PARTY_ATTRIBUTES, "year", "quarter",
        "month", "channel", "category"]


def test_rollup_grouping_sets_match_pandas(engine):
    sales = _sales()
    engine.create_table("sales", ibis.memtable(sales))
    scratch = _Scratch(engine)
    try:
        got = engine.to_pandas(marts.cube_rollup(engine.table("sales"), scratch))
    finally:
        scratch.drop()
    want = _expected(sales)
    assert len(got) == len(want)
    norm = [c for c in _KEY]
    got = got.astype({c: object for c in norm}).where(got.notna(), None)
    want = want.reindex(columns=got.columns).astype({c: object for c in norm})
    want = want.where(want.notna(), None)
    got = got.sort_values(norm, key=lambda c: c.astype(str)).reset_index(drop=True)
    want = want.sort_values(norm, key=lambda c: c.astype(str)).reset_index(drop=True)
    for c in norm:
        assert got[c].astype(str).tolist() == want[c].astype(str).tolist(), c
    for c in ("revenue", "margin"):
        np.testing.assert_allclose(got[c].astype(float), want[c].astype(float), atol=1e-6)
    for c in ("orders", "customers"):
        assert got[c].astype(int).tolist() == want[c].astype(int).tolist(), c
    # a distinct count of a year is not the sum of its months' (a customer buys in several)
    y = want[(want.level == "year") & ~want.by_channel & ~want.by_category].customers.sum()
    m = want[(want.level == "month") & ~want.by_channel & ~want.by_category].customers.sum()
    assert m > y


def test_prepared_lookup_equals_the_expression_with_its_value(engine):
    """Engine.prepare/fetch: a query with an ``ibis.param`` run with several values gives
    what the expression with that value as a literal gives (quotes included)."""
    sales = _sales()
    sales.loc[0, "party_id"] = "O'Neil"
    engine.create_table("sales", ibis.memtable(sales))
    t = engine.table("sales")
    p = ibis.param(dt.string)
    prepared = engine.prepare(
        t.filter(t.party_id == p).select("party_id", "order_key", "revenue")
        .order_by(["order_key", "revenue"]), [p])
    for value in ("P001", "O'Neil", "nobody"):
        lit = t.filter(t.party_id == value).select("party_id", "order_key", "revenue") \
            .order_by(["order_key", "revenue"])
        assert engine.fetch(prepared, [value]) == engine.to_arrow(lit).to_pylist()
    if engine.name == "duckdb":  # compiled once: the value is bound, not in the text
        assert prepared.sql is not None and "$1" in prepared.sql


def test_newest_events_of_the_card_match_pandas(engine):
    """mart_card's events: per party, how many and the newest ``keep`` (by time, then kind
    and reference), on every engine."""
    rng = np.random.default_rng(5)
    rows = []
    for p, n in (("A", 0), ("B", 1), ("C", 3), ("D", 7)):
        for i in range(n):
            rows.append({"party_id": p, "at": pd.Timestamp("2024-01-01")
                         + pd.Timedelta(days=int(rng.integers(0, 5))),
                         "kind": str(rng.choice(["call", "web"])), "ref": f"R{i}",
                         "name": None, "channel": "web", "n": int(i), "note": None,
                         "flag": None, "amount": float(i)})
    ev = pd.DataFrame(rows)
    schema = ibis.schema({k: v for k, v in marts._EVENT.items()})
    engine.create_table("events", ibis.memtable(ev, schema=schema))
    got = engine.to_pandas(marts.newest_events(engine.table("events"), keep=3))
    got = got.set_index("party_id")
    assert sorted(got.index) == ["B", "C", "D"]
    for p, g in ev.groupby("party_id"):
        assert int(got.loc[p, "event_count"]) == len(g)
        want = g.sort_values(["at", "kind", "ref"], ascending=[False, True, True]).head(3)
        kept = sorted(e["ref"] for e in got.loc[p, "events"])
        assert kept == sorted(want.ref), p


def test_the_card_json_is_the_same_on_every_engine(engine):
    """mart_card's JSON text (:func:`marts.card_json` over :func:`marts.newest_events`): the
    same object on every engine — timestamps as ISO text, dates, decimals as floats,
    NULL kept as null, the events as a list of objects — beside the plain columns the
    rights read and mask."""
    import json

    df = pd.DataFrame({
        "party_id": ["P1", "P2"], "branch": ["North", None], "first_name": ["Zoé", None],
        "created_at": [pd.Timestamp("2023-12-25 08:00:00"), None],
        "as_of": [pd.Timestamp("2026-06-28").date(), None],
        "money": [12.5, None], "p_alive": [0.1 + 0.2, float("nan")],
        "consent_email": [True, None], "segment": ["at risk", None], "orders": [3, None]})
    schema = ibis.schema({
        "party_id": "string", "branch": "string", "first_name": "string",
        "created_at": "timestamp", "as_of": "date", "money": "float64",
        "p_alive": "float64", "consent_email": "boolean", "segment": "string",
        "orders": "int64"})
    engine.create_table("card_src", ibis.memtable(df, schema=schema))
    ev = pd.DataFrame([{"party_id": "P1", "at": pd.Timestamp("2024-03-01 10:05:07"),
                        "kind": "web", "ref": "S1", "name": None, "channel": "mobile", "n": 3,
                        "note": None, "flag": None, "amount": 1.25}])
    engine.create_table("card_events", ibis.memtable(ev, schema=ibis.schema(marts._EVENT)))
    t = engine.table("card_src")
    t = t.mutate(money=t.money.cast(dt.Decimal(12, 2)))
    e = marts.newest_events(engine.table("card_events"), ready=marts._json_ready)
    t = t.left_join(e, t.party_id == e.party_id).select(
        *[t[c] for c in t.columns], e.event_count, e.events)
    got = engine.to_pandas(marts.card_json(engine, t).order_by("party_id"))
    assert list(got.columns) == ["party_id", "branch", "first_name", marts.CARD_JSON]
    assert got.first_name.tolist()[0] == "Zoé"
    one, two = (json.loads(x) for x in got[marts.CARD_JSON])
    assert one == {"created_at": "2023-12-25T08:00:00", "as_of": "2026-06-28", "money": 12.5,
                   "p_alive": 0.1 + 0.2, "consent_email": True, "segment": "at risk",
                   "orders": 3, "event_count": 1,
                   "events": [{"at": "2024-03-01T10:05:07", "kind": "web", "ref": "S1",
                               "name": None, "channel": "mobile", "n": 3, "note": None,
                               "flag": None, "amount": 1.25}]}
    assert set(two) == set(one)  # NULL fields kept, as null
    assert all(v is None for v in two.values())
