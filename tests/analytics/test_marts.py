"""customer_360, the segment tables and the score history, on a simulated company."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from warehouse_tables import write_core, write_dim_party, write_party_map

import prisme.analytics.marts as marts_mod
from prisme import engine as engine_mod
from prisme.analytics.marts import build_marts, contributed_columns
from prisme.analytics.rfm import RFM_SEGMENTS

START = pd.Timestamp("2023-01-01")
AS_OF = "2023-12-31"


def _at(days: float) -> pd.Timestamp:
    return (START + pd.Timedelta(days=float(days))).round("s")


def simulate_company(engine, n: int = 400, seed: int = 3) -> None:
    """BG/NBD-like buyers (gamma purchase rates, beta dropout after each purchase) with costs,
    channels, categories, web sessions and calls; ten known parties who never bought, and
    some parties with keys in two sources."""
    rng = np.random.default_rng(seed)
    rows, web, calls, parties, pmap = [], [], [], [], []
    for i in range(n):
        pid = f"P{i:04d}"
        parties.append({"party_id": pid, "first_name": f"First{i}", "last_name": f"Last{i}",
                        "city": ["Lyon", "Paris", "Nantes"][i % 3], "country": "FR"})
        pmap.append({"source": "shop", "source_customer_id": f"s{i}", "party_id": pid})
        if i % 50 == 0:  # a second key of the same party in the CRM
            pmap.append({"source": "crm", "source_customer_id": f"c{i}", "party_id": pid})
        if i % 40 == 7:
            continue  # known customer, never bought
        lam = rng.gamma(0.5, 1 / 10.0)  # purchases per day
        p_drop = rng.beta(1.0, 3.0)
        t = rng.uniform(0, 300)
        web_lover = i % 3 == 0
        k = 0
        while t < 365:
            src, key = ("crm", f"c{i}") if (i % 50 == 0 and k % 2) else ("shop", f"s{i}")
            for line in range(rng.integers(1, 3)):
                price = float(round(rng.gamma(2.0, 20.0) + 1, 2))
                rows.append({
                    "source": src, "order_id": f"{src}{i}-{k}", "source_customer_id": key,
                    "ordered_at": _at(t), "sku": f"K{line}",
                    "quantity": 1.0, "revenue": price, "cost": round(price * 0.6, 2),
                    "channel": "web" if web_lover else "store",
                })
            if rng.random() < 0.05:
                rows.append({**rows[-1], "order_id": f"R{i}-{k}", "is_return": True,
                             "revenue": -rows[-1]["revenue"], "cost": -rows[-1]["cost"]})
            k += 1
            if rng.random() < p_drop:
                break
            t += rng.exponential(1 / max(lam, 1e-4))
        for s in range(rng.poisson(8 if web_lover else 1)):
            web.append({"session_id": f"w{i}-{s}", "source_customer_id": f"s{i}",
                        "started_at": _at(rng.uniform(0, 365))})
        for c in range(rng.poisson(0.5)):
            calls.append({"call_id": f"k{i}-{c}", "source_customer_id": f"s{i}",
                          "at": _at(rng.uniform(0, 365))})
    rows.append({"source": "shop", "order_id": "anon", "source_customer_id": None,
                 "ordered_at": START, "sku": "K0", "quantity": 1.0, "revenue": 5.0, "cost": 1.0})
    write_core(engine, "transaction", rows)
    write_core(engine, "web_session", web)
    write_core(engine, "call", calls)
    write_core(engine, "product", [
        {"sku": "K0", "name": "Kettle", "category": "Kitchen", "unit_cost": 10.0},
        {"sku": "K1", "name": "Knife", "category": "Kitchen", "unit_cost": 5.0},
        {"sku": "K2", "name": "Kite", "category": "Garden", "unit_cost": 5.0},
    ])
    write_party_map(engine, pmap)
    write_dim_party(engine, parties)


@pytest.fixture
def company(engine, settings):
    simulate_company(engine)
    settings.analytics.clusters_max_k = 4
    settings.analytics.clv_interval_draws = 40
    return engine, settings


def test_customer_360_one_row_per_party_with_every_public_column(company):
    engine, settings = company
    done = []
    summary = build_marts(engine, settings, as_of=AS_OF,
                          progress=lambda task, i, total: done.append(task))
    c = engine.to_pandas(engine.table("customer_360"))
    assert c.party_id.is_unique and len(c) == 400 == summary.parties
    for col in ("first_name", "city", "rfm_segment", "r_score", "cluster", "cluster_label",
                "p_alive", "expected_purchases_12m", "clv_12m", "clv_12m_low", "clv_12m_high",
                "revenue", "margin", "orders", "first_purchase_at", "last_purchase_at",
                "churn_probability", "churn_reasons", "next_best_offers"):
        assert col in c.columns, col
    schema = engine.table("customer_360").schema()
    for name, dtype in contributed_columns().items():
        assert schema[name] == dtype and c[name].isna().all()
    buyers = c[c.orders > 0]
    never = c[c.orders.isna()]
    assert len(never) == 10 and never.p_alive.isna().all() and never.first_name.notna().all()
    assert summary.buyers == len(buyers)
    assert buyers.r_score.between(1, 5).all() and buyers.rfm_segment.isin(RFM_SEGMENTS).all()
    assert buyers.p_alive.between(0, 1).all()
    assert (buyers.clv_12m_low <= buyers.clv_12m).all()
    assert (buyers.clv_12m <= buyers.clv_12m_high).all()
    assert buyers.cluster_label.notna().all()
    # value is on margin: every line has a cost
    assert summary.value_basis == "margin"
    assert (c.as_of.astype(str) == AS_OF).all()
    assert done[0] == "marts: features" and done[-1] == "marts: done"
    assert any("purchase model" in line for line in summary.lines())
    assert any("of revenue" in line for line in summary.sentences)


def test_segment_tables_add_up(company):
    engine, settings = company
    build_marts(engine, settings, as_of=AS_OF)
    c = engine.to_pandas(engine.table("customer_360"))
    seg = engine.to_pandas(engine.table("mart_rfm_segments")).set_index("rfm_segment")
    buyers = c[c.rfm_segment.notna()]
    assert seg.customers.sum() == len(buyers)
    assert seg.customer_share.sum() == pytest.approx(1.0)
    want = buyers.groupby("rfm_segment").agg(
        revenue=("revenue", lambda s: float(sum(s))), clv=("clv_12m", "sum"),
        churn=("p_alive", lambda p: float((1 - p).mean())),
    )
    for name, row in want.iterrows():
        assert float(seg.loc[name, "revenue"]) == pytest.approx(row.revenue)
        assert seg.loc[name, "clv_12m"] == pytest.approx(row.clv)
        assert seg.loc[name, "churn_risk"] == pytest.approx(row.churn)
    cl = engine.to_pandas(engine.table("mart_clusters"))
    assert cl.customers.sum() == c.cluster.notna().sum()
    assert cl.cluster_label.is_unique


def test_score_history_is_appended_once_per_as_of(company):
    engine, settings = company
    first = build_marts(engine, settings, as_of=AS_OF)
    hist = engine.to_pandas(engine.table("score_history"))
    assert first.score_rows == len(hist) == 3 * first.buyers
    assert set(hist.model) == {"p_alive", "clv_12m", "expected_purchases_12m"}
    assert build_marts(engine, settings, as_of=AS_OF).score_rows == 0
    later = build_marts(engine, settings, as_of="2024-01-31")
    assert later.score_rows == 3 * later.buyers
    assert engine.scalar(engine.table("score_history").count()) == len(hist) + later.score_rows


def test_a_failed_build_leaves_the_previous_marts(company, monkeypatch):
    engine, settings = company
    build_marts(engine, settings, as_of=AS_OF)
    before = engine.to_pandas(engine.table("customer_360"))

    def boom(_c360):
        raise RuntimeError("disk full")

    monkeypatch.setattr(marts_mod, "clusters_mart", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build_marts(engine, settings, as_of="2024-01-31")
    after = engine.to_pandas(engine.table("customer_360"))
    pd.testing.assert_frame_equal(before, after)
    assert not [t for t in engine.list_tables() if t.endswith("__building")]
    assert engine.scalar(engine.table("score_history").count()) == 3 * before.p_alive.notna().sum()


def test_a_warehouse_without_sales_still_lists_its_parties(engine, settings):
    write_core(engine, "transaction", [])
    write_dim_party(engine, [{"party_id": "P1", "first_name": "Ann"}])
    summary = build_marts(engine, settings)
    c = engine.to_pandas(engine.table("customer_360"))
    assert list(c.party_id) == ["P1"] and c.p_alive.isna().all()
    assert any("no sale" in n for n in summary.notes)


purchases = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 200), st.integers(1, 300)),
    min_size=1, max_size=60,
)


@pytest.mark.slow
@hsettings(max_examples=6, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=purchases, known=st.integers(0, 5))
def test_every_party_exactly_once(settings, rows, known):
    settings.analytics.clusters_max_k = 3
    settings.analytics.clv_interval_draws = 20
    with engine_mod.connect(settings, path=":memory:") as eng:
        write_core(eng, "transaction", [
            {"source": "s", "order_id": f"o{i}", "source_customer_id": f"c{c}",
             "ordered_at": START + pd.Timedelta(days=d), "sku": "x", "quantity": 1.0,
             "revenue": float(v)}
            for i, (c, d, v) in enumerate(rows)
        ])
        write_dim_party(eng, [{"party_id": f"s:c{c}"} for c in range(known)] or
                        [{"party_id": "s:c0"}])
        build_marts(eng, settings, as_of="2023-08-01")
        c = eng.to_pandas(eng.table("customer_360"))
    expected = {f"s:c{k}" for k, _, _ in rows} | {f"s:c{k}" for k in range(max(known, 1))}
    assert c.party_id.is_unique and set(c.party_id) == expected
    scored = c[c.p_alive.notna()]
    assert scored.p_alive.between(0, 1).all()
    assert (scored.clv_12m_low <= scored.clv_12m + 1e-9).all()
    assert (scored.clv_12m <= scored.clv_12m_high + 1e-9).all()
    assert c.r_score.dropna().between(1, 5).all()


def test_contributed_columns_join_customer_360_and_refresh_after_the_marts(company, monkeypatch):
    """A contributing module declares its columns and returns a table keyed by party_id;
    before its stage runs the columns exist as typed NULLs, after it the refresh fills them."""
    import types

    import ibis
    import ibis.expr.datatypes as dt

    engine, settings = company
    stage = types.ModuleType("tests_fake_stage")
    stage.CUSTOMER_360_COLUMNS = {"fake_score": dt.float64, "fake_label": dt.string}
    stage.ran = False

    def part(eng, _settings, as_of):
        if not stage.ran:
            return None
        rows = pd.DataFrame({"party_id": ["P0001", "P0002"], "fake_score": [0.25, 0.5],
                             "fake_label": ["low", "mid"]})
        return ibis.memtable(rows).mutate(as_of=ibis.literal(as_of))

    stage.customer_360_part = part
    monkeypatch.setitem(__import__("sys").modules, "tests_fake_stage", stage)
    monkeypatch.setattr(marts_mod, "CONTRIBUTORS", [*marts_mod.CONTRIBUTORS, "tests_fake_stage"])
    build_marts(engine, settings, as_of=AS_OF)
    t = engine.table("customer_360")
    assert t.schema()["fake_score"] == dt.float64 and t.schema()["fake_label"] == dt.string
    assert engine.to_pandas(t).fake_score.isna().all()
    stage.ran = True
    marts_mod.refresh_customer_360(engine, settings, ["tests_fake_stage"])
    c = engine.to_pandas(engine.table("customer_360")).set_index("party_id")
    assert len(c) == 400 and c.loc["P0001", "fake_score"] == 0.25
    assert c.loc["P0002", "fake_label"] == "mid" and c.fake_score.notna().sum() == 2
    assert (c.as_of.astype(str) == AS_OF).all()  # the part's own extra columns are not taken


def test_a_column_claimed_by_two_contributors_is_an_error(monkeypatch):
    import types

    import ibis.expr.datatypes as dt

    a, b = types.ModuleType("stage_a"), types.ModuleType("stage_b")
    for m in (a, b):
        m.CUSTOMER_360_COLUMNS = {"score": dt.float64}
        m.customer_360_part = lambda *args: None
    with pytest.raises(ValueError, match="contributed by both stage_a and stage_b"):
        contributed_columns([a, b])
    monkeypatch.setitem(__import__("sys").modules, "stage_c", types.ModuleType("stage_c"))
    with pytest.raises(TypeError, match="does not expose CUSTOMER_360_COLUMNS"):
        marts_mod.contributors(["stage_c"])
def one_time_company(engine, n: int = 800, repeaters: int = 8, seed: int = 5) -> None:
    """An Olist-shaped base: n customers over two years, 1 % of whom bought again."""
    rng = np.random.default_rng(seed)
    rows, pmap = [], []
    for i in range(n):
        pmap.append({"source": "shop", "source_customer_id": f"s{i}", "party_id": f"P{i:04d}"})
        first = rng.uniform(0, 700)
        days = [first] + ([first + rng.uniform(5, 700 - first + 5)] if i < repeaters else [])
        for k, d in enumerate(days):
            rows.append({"source": "shop", "order_id": f"o{i}-{k}", "source_customer_id": f"s{i}",
                         "ordered_at": _at(min(d, 729)), "sku": "K0", "quantity": 1.0,
                         "revenue": float(round(rng.gamma(2.0, 40.0) + 1, 2))})
    write_core(engine, "transaction", rows)
    write_party_map(engine, pmap)


def test_one_time_buyers_get_a_value_not_nan_and_the_reason_is_stored(engine, settings):
    """Issue #9 item 1 at the mart level: customer_360 holds no NaN value, P(alive) of the
    one-time buyers falls with the time since their purchase, and mart_notes says which
    purchase model was used and why."""
    one_time_company(engine)
    settings.analytics.purchase_model = "bgnbd"
    settings.analytics.clv_interval_draws = 20
    settings.analytics.clusters_max_k = 3
    summary = build_marts(engine, settings, as_of="2024-12-31")
    c = engine.to_pandas(engine.table("customer_360"))
    for col in ("p_alive", "expected_purchases_12m", "clv_12m", "clv_12m_low", "clv_12m_high"):
        assert c[col].notna().all() and np.isfinite(c[col].astype(float)).all(), col
    once = c[c.frequency == 0].sort_values("T")
    assert once.p_alive.iloc[:50].mean() > once.p_alive.iloc[-50:].mean() + 0.1
    assert summary.purchase_model in ("paretonbd", "repeat_rate")
    notes = engine.to_pandas(engine.table("mart_notes"))
    assert set(notes.topic) == {"customer value"}
    text = " ".join(notes.note)
    assert "BG/NBD (configured) cannot be used" in text and "bought again" in text
    assert any("bought again" in line for line in summary.lines())
    # item 10: the clusters of a base of one-time buyers say so, and none of them is
    # "long-standing" (their first purchase is old, they never came back)
    buyers = c[c.orders > 0]
    once_share = (buyers.orders == 1).groupby(buyers.cluster_label).mean()
    assert len(once_share) >= 2 and (once_share >= 0.5).any()
    for label, share in once_share.items():
        assert ("one-time buyers" in label) == (share >= 0.5), (label, share)
        if share >= 0.5:
            assert "long-standing" not in label and "frequent" not in label, label
