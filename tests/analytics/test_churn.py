"""Churn in the warehouse: features as of a cut-off, no leakage, the stage and its tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from warehouse_tables import write_core, write_dim_party, write_party_map

from prisme.analytics import churn
from prisme.analytics.marts import build_marts
from prisme.analytics.scores import build_scores

START = pd.Timestamp("2023-01-01")
CUTOFF = "2023-09-30"


def _at(days) -> pd.Timestamp:
    return (START + pd.Timedelta(days=float(days))).round("s")


def _company(n: int = 300, seed: int = 5):
    """Buyers with a purchase rhythm; unhappy ones (low survey scores, complaints) and late
    payers stop buying sooner. Returns sales, calls, surveys, web sessions."""
    rng = np.random.default_rng(seed)
    sales, calls, surveys, web, parties, pmap = [], [], [], [], [], []
    for i in range(n):
        pid, key = f"P{i:04d}", f"s{i}"
        parties.append({"party_id": pid, "first_name": f"F{i}", "consent_email": i % 7 != 0})
        pmap.append({"source": "shop", "source_customer_id": key, "party_id": pid})
        unhappy, late = rng.random() < 0.3, rng.random() < 0.3
        gap = rng.uniform(15, 60)
        stop = rng.uniform(60, 400) * (0.4 if unhappy else 1) * (0.6 if late else 1)
        t = rng.uniform(0, 60)
        k = 0
        while t < min(stop, 500):
            at = _at(t)
            due = at + pd.Timedelta(days=30)
            paid = (due + pd.Timedelta(days=float(rng.exponential(25 if late else 2)) - 3)).round("s")
            for line, (sku, _cat) in enumerate([("K1", "Kitchen"), ("G1", "Garden")][: 1 + k % 2]):
                sales.append({"source": "shop", "order_id": f"o{i}-{k}", "source_customer_id": key,
                              "ordered_at": at, "sku": sku, "quantity": 1.0,
                              "revenue": 20.0 + 5 * line, "cost": 10.0, "due_at": due,
                              "paid_at": paid, "channel": "web"})
            k += 1
            t += rng.exponential(gap)
        for c in range(rng.poisson(2 if unhappy else 0.5)):
            calls.append({"call_id": f"c{i}-{c}", "source": "shop", "source_customer_id": key,
                          "at": _at(rng.uniform(0, 500)),
                          "reason": "complaint" if unhappy else "order"})
        surveys.append({"source": "shop", "source_customer_id": key,
                        "answered_at": _at(rng.uniform(0, 400)),
                        "sat_service": float(rng.integers(1, 5) if unhappy else rng.integers(6, 11)),
                        "sat_product": 7.0, "nps": 5.0})
        web.append({"session_id": f"w{i}", "source": "shop", "source_customer_id": key,
                    "started_at": _at(rng.uniform(0, 500))})
    return {"sales": sales, "calls": calls, "surveys": surveys, "web": web,
            "parties": parties, "pmap": pmap}


def _write(engine, data, until=None):
    def keep(rows, col):
        return [r for r in rows if until is None or r[col] <= pd.Timestamp(until)]
    write_core(engine, "transaction", keep(data["sales"], "ordered_at"))
    write_core(engine, "call", keep(data["calls"], "at"))
    write_core(engine, "survey", keep(data["surveys"], "answered_at"))
    write_core(engine, "web_session", keep(data["web"], "started_at"))
    write_core(engine, "product", [{"sku": "K1", "name": "Kettle", "category": "Kitchen",
                                    "unit_price": 20.0, "unit_cost": 10.0},
                                   {"sku": "G1", "name": "Gloves", "category": "Garden",
                                    "unit_price": 25.0, "unit_cost": 10.0}])
    write_party_map(engine, data["pmap"])
    write_dim_party(engine, data["parties"])


def _features(engine):
    f = engine.to_pandas(churn.churn_features(engine, CUTOFF))
    return f.sort_values("party_id").reset_index(drop=True)


def test_features_as_of_a_cutoff_do_not_change_when_later_data_arrives(engine, settings):
    """No leakage: the warehouse cut at the cut-off, then the whole history (later sales,
    later payments of invoices due before the cut-off, calls, surveys, visits) give the
    same features as of the cut-off."""
    from prisme import engine as engine_mod

    data = _company()
    _write(engine, data, until=pd.Timestamp(CUTOFF) + pd.Timedelta(hours=23, minutes=59))
    # the invoices paid after the cut-off are not known yet in the cut warehouse
    t = engine.table("fact_sales")
    engine.create_table("fact_sales", t.mutate(paid_at=ibis_null_after(t.paid_at)),
                        overwrite=True)
    early = _features(engine)
    with engine_mod.connect(settings, path=settings.root / "full.duckdb") as full:
        _write(full, data)
        late = _features(full)
    assert len(early) > 100
    pd.testing.assert_frame_equal(early, late)
    assert {"avg_days_late", "unpaid_overdue", "complaints_365d", "last_sat_service",
            "web_sessions_90d", "days_since_last_purchase", "r_score"} <= set(early.columns)
    # payments after the cut-off count as unpaid: someone has an overdue invoice
    assert early.unpaid_overdue.sum() > 0


def test_every_cutoff_in_one_pass_gives_each_cutoffs_own_features(engine):
    """The stage computes all its cut-offs' features in one pass: each day's rows are those
    of that day computed alone, and the sales features are customer_summary's and RFM's."""
    import datetime as dt

    from prisme.analytics.features import customer_summary
    from prisme.analytics.rfm import rfm_table

    _write(engine, _company(n=200))
    days = [dt.date(2023, 5, 1), dt.date(2023, 7, 30), dt.date(2023, 9, 30),
            dt.date(2024, 3, 1)]
    together = engine.to_pandas(churn.churn_feature_days(engine, days))
    for day in days:
        alone = engine.to_pandas(churn.churn_features(engine, day))
        mine = together[together.as_of == day]
        assert len(alone) > 20
        # (a column blank on another day comes back as float: same values)
        pd.testing.assert_frame_equal(mine.sort_values("party_id").reset_index(drop=True),
                                      alone.sort_values("party_id").reset_index(drop=True),
                                      check_dtype=False)
        ref = engine.to_pandas(customer_summary(engine, as_of=day, time_unit="day",
                                                use_margin=False)).set_index("party_id")
        rfm = engine.to_pandas(rfm_table(engine, as_of=day)).set_index("party_id")
        a = alone.set_index("party_id")
        r = ref.loc[a.index]
        np.testing.assert_array_equal(a.purchases, r.frequency + 1)
        np.testing.assert_allclose(a.days_since_last_purchase, r["T"] - r.recency)
        np.testing.assert_allclose(a.revenue, r.revenue.astype(float))
        np.testing.assert_allclose(a.margin, r.margin.astype(float))
        np.testing.assert_allclose(a.return_rate, r.return_rate)
        for c in ("r_score", "f_score", "m_score"):
            np.testing.assert_array_equal(a[c], rfm.loc[a.index, c])
    # the labels of a cut-off, from the parties' purchases as of the end of its horizon
    cut = days[1]
    t = churn.churn_feature_days(engine, [cut, cut + dt.timedelta(days=60)],
                                 horizon_days=60, labelled=[cut])
    got = engine.to_pandas(t.filter(t.as_of == cut)).set_index("party_id").churned
    want = engine.to_pandas(churn.churn_labels(engine, cut, 60)).set_index("party_id").churned
    assert got.notna().all()
    pd.testing.assert_series_equal(got.astype(bool), want.loc[got.index].astype(bool))


def ibis_null_after(col):
    import ibis

    cut = pd.Timestamp(CUTOFF) + pd.Timedelta(hours=23, minutes=59, seconds=59)
    return ibis.cases((col <= ibis.timestamp(cut.to_pydatetime()), col), else_=ibis.null("timestamp"))


def test_labels_say_who_bought_again_within_the_horizon(engine):
    write_core(engine, "transaction", [
        {"source": "s", "order_id": "1", "source_customer_id": "a", "ordered_at": "2023-01-05",
         "sku": "K", "quantity": 1, "revenue": 10},
        {"source": "s", "order_id": "2", "source_customer_id": "a", "ordered_at": "2023-03-01",
         "sku": "K", "quantity": 1, "revenue": 10},
        {"source": "s", "order_id": "3", "source_customer_id": "b", "ordered_at": "2023-01-05",
         "sku": "K", "quantity": 1, "revenue": 10},
        {"source": "s", "order_id": "4", "source_customer_id": "b", "ordered_at": "2023-06-01",
         "sku": "K", "quantity": 1, "revenue": 10},
        {"source": "s", "order_id": "5", "source_customer_id": "c", "ordered_at": "2023-02-01",
         "sku": "K", "quantity": 1, "revenue": 10},
    ])
    lab = engine.to_pandas(churn.churn_labels(engine, "2023-01-31", 60)).set_index("party_id")
    # a bought on 1 March (within 60 days), b only in June, c was not a customer yet
    assert lab.churned.to_dict() == {"s:a": False, "s:b": True}


@pytest.fixture
def scored(engine, settings):
    _write(engine, _company(n=400))
    settings.analytics.churn_horizon_days = 60
    settings.analytics.churn_cutoffs = 2
    settings.analytics.clusters_max_k = 3
    settings.analytics.clv_interval_draws = 20
    build_marts(engine, settings)
    summary = build_scores(engine, settings)
    return engine, summary


def test_the_scores_stage_fills_customer_360_and_stores_its_evaluation(scored, settings):
    """One build (the stage is slow to fit): customer_360, score_history, the evaluation
    tables, the offers; then a rerun on the same data changes nothing."""
    engine, summary = scored
    ch = summary.churn
    assert ch.scored > 0 and ch.metrics, ch.notes
    assert 0.5 < ch.metrics["roc_auc"] <= 1 and 0 <= ch.metrics["brier"] <= 1
    c = engine.to_pandas(engine.table("customer_360"))
    scored_rows = c[c.churn_probability.notna()]
    assert len(scored_rows) == ch.scored
    assert scored_rows.churn_probability.between(0, 1).all()
    assert scored_rows.churn_reasons.notna().mean() > 0.5
    hist = engine.to_pandas(engine.table("score_history"))
    churn_hist = hist[hist.model == "churn_probability"]
    assert len(churn_hist) == ch.scored and (churn_hist.version == ch.version).all()
    ev = engine.to_pandas(engine.table("churn_evaluation"))
    assert {"roc_auc", "pr_auc", "brier", "calibration_error", "top_decile_lift"} <= set(ev.metric)
    lift = engine.to_pandas(engine.table("churn_lift").order_by("decile"))  # tables: no order
    assert list(lift.decile) == list(range(1, 11))
    assert lift.cumulative_gain.iloc[-1] == pytest.approx(1.0)
    calib = engine.to_pandas(engine.table("churn_calibration"))
    assert calib.customers.sum() == ev.set_index("metric").value["customers"]
    # unhappy customers' reasons name their satisfaction or complaints
    assert scored_rows.churn_reasons.str.contains("rated|complaint|late|no purchase").any()
    # offers: top 3 with a reason, never an item already owned
    offers = c[c.next_best_offers.notna()]
    assert len(offers) > 0
    assert offers.next_best_offers.str.count(r" \| ").le(2).all()
    assert any(line.startswith("churn model checked") for line in summary.lines())
    # a rerun on unchanged data changes nothing and writes no second history
    before = engine.to_pandas(engine.table("churn_scores"))
    build_scores(engine, settings)
    pd.testing.assert_frame_equal(before, engine.to_pandas(engine.table("churn_scores")))
    hist = engine.to_pandas(engine.table("score_history"))
    assert (hist.model == "churn_probability").sum() == ch.scored


def test_evaluation_measures_are_the_textbook_ones():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 0] * 10)
    p = np.linspace(0.95, 0.05, 100)
    metrics, calib, lift = churn.evaluate(y, p)
    from sklearn.metrics import roc_auc_score

    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert metrics["base_rate"] == 0.4
    assert lift.customers.sum() == 100 and lift.churners.sum() == 40
    assert metrics["top_decile_lift"] == pytest.approx(lift.churn_rate.iloc[0] / 0.4)


def test_too_short_a_history_is_said_not_guessed(engine, settings):
    write_core(engine, "transaction", [
        {"source": "s", "order_id": "1", "source_customer_id": "a", "ordered_at": "2023-01-05",
         "sku": "K", "quantity": 1, "revenue": 10}])
    s = churn.score_churn(engine, settings)
    assert s.scored == 0 and "sales history starts on" in s.notes[0]


def test_a_large_training_set_is_sampled_with_the_same_share_of_leavers():
    rng = np.random.default_rng(3)
    n = 20_000
    train = pd.DataFrame({"party_id": [f"P{i:06d}" for i in range(n)],
                          "x": rng.normal(size=n), "churned": rng.random(n) < 0.23})
    notes: list[str] = []
    kept = churn._sample(train, 5_000, seed=7, notes=notes)
    assert abs(len(kept) - 5_000) <= 2
    assert kept.churned.mean() == pytest.approx(train.churned.mean(), abs=1e-3)
    assert kept.index.is_monotonic_increasing  # cut-off then party order kept
    assert kept.equals(churn._sample(train, 5_000, seed=7, notes=[]))  # seeded: same rows
    assert "5,000" in notes[0] and "20,000" in notes[0]
    small = train.head(100)
    assert churn._sample(small, 5_000, seed=7, notes=[]) is small  # under the cap: untouched


def test_the_training_sample_is_taken_before_stacking_with_the_same_rows():
    """The stage samples the cut-offs' rows without stacking the whole frames first: the
    same rows, index and order as sampling the stacked frame."""
    rng = np.random.default_rng(11)
    frames = churn._Frames.__new__(churn._Frames)
    frames.notes, frames.cache = [], {}
    days = [pd.Timestamp(d).date() for d in ("2023-01-01", "2023-07-01", "2024-01-01")]
    for k, day in enumerate(days):
        n = 3_000 + 500 * k
        frames.cache[day] = pd.DataFrame({"party_id": [f"P{i:05d}" for i in range(n)],
                                          "x": rng.normal(size=n), "as_of": day,
                                          "churned": rng.random(n) < 0.3 + 0.1 * k})
    stacked = pd.concat([frames.cache[d] for d in days], ignore_index=True)
    want = churn._sample(stacked, 4_000, seed=7, notes=[])
    got = frames.training(days, 4_000, seed=7)
    pd.testing.assert_frame_equal(got, want)
    assert "churn model fitted on a sample" in frames.notes[0]
    pd.testing.assert_frame_equal(frames.training(days, None, seed=7), stacked)
