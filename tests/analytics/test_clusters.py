"""Behavioural clusters: known groups are found, k is chosen by its criterion, words describe them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from prisme.analytics.clusters import BehaviourClusters


def _group(rng, n, name, *, orders, revenue, returns, web, calls, recency, web_share):
    return pd.DataFrame({
        "party_id": [f"{name}{i}" for i in range(n)],
        "orders": rng.poisson(orders, n) + 1,
        "revenue": rng.gamma(5, revenue / 5, n),
        "return_rate": np.clip(rng.normal(returns, 0.03, n), 0, 1),
        "web_sessions": rng.poisson(web, n),
        "calls": rng.poisson(calls, n),
        "recency_days": rng.gamma(4, recency / 4, n),
        "channel_share_web": np.clip(rng.normal(web_share, 0.1, n), 0, 1),
        "truth": name,
    })


@pytest.fixture(scope="module")
def three_groups() -> pd.DataFrame:
    """Frequent web buyers, lapsed one-off store buyers, and returners who call a lot."""
    rng = np.random.default_rng(1)
    return pd.concat([
        _group(rng, 400, "web", orders=12, revenue=2000, returns=0.02, web=30, calls=0.2,
               recency=10, web_share=0.9),
        _group(rng, 700, "lapsed", orders=1, revenue=80, returns=0.05, web=1, calls=0.2,
               recency=200, web_share=0.1),
        _group(rng, 300, "returners", orders=4, revenue=400, returns=0.4, web=3, calls=6,
               recency=60, web_share=0.4),
    ], ignore_index=True)


def test_kmeans_finds_the_three_groups_and_names_them(three_groups):
    m = BehaviourClusters(max_k=8, seed=7).fit(three_groups)
    assert m.k_ == 3
    # k is the one with the highest silhouette among 2..8
    assert list(m.scores_.k) == list(range(2, 9))
    assert m.scores_.silhouette.idxmax() == m.scores_.index[m.scores_.k == 3][0]
    assert adjusted_rand_score(three_groups.truth, m.labels_) == 1.0
    # numbered by size, described from their distinctive features
    p = m.profiles_.set_index("cluster")
    assert list(p.customers) == [700, 400, 300]
    assert p.share.sum() == pytest.approx(1.0)
    assert "bought recently" in p.label[1] and "web" in p.label[1]
    assert "many returns" in p.label[2] and "call often" in p.label[2]
    assert "low spend" in p.label[0] or "long since last purchase" in p.label[0]
    assert p.loc[2, "return_rate"] == pytest.approx(0.4, abs=0.02)
    text = m.describe()
    assert "3 clusters" in text and "silhouette" in text


def test_same_data_same_clusters_and_predict_agrees(three_groups, tmp_path):
    a = BehaviourClusters(max_k=5, seed=3).fit(three_groups)
    b = BehaviourClusters(max_k=5, seed=3).fit(three_groups)
    assert (a.labels_ == b.labels_).all()
    assert list(a.profiles_.label) == list(b.profiles_.label)
    assert (a.predict(three_groups) == a.labels_).all()
    a.save(tmp_path / "clusters.pkl")
    c = BehaviourClusters.load(tmp_path / "clusters.pkl")
    assert (c.predict(three_groups.iloc[:50]) == a.labels_[:50]).all()


def test_gaussian_mixture_chooses_k_by_bic(three_groups):
    m = BehaviourClusters(max_k=4, method="gmm", seed=7).fit(three_groups)
    assert list(m.scores_.columns) == ["k", "bic"]
    assert m.k_ == int(m.scores_.loc[m.scores_.bic.idxmin(), "k"])
    assert m.k_ >= 3
    # the mixture keeps the three groups apart (it may split one of them further)
    tab = pd.crosstab(m.labels_, three_groups.truth)
    assert ((tab > 0).sum(axis=1) == 1).all()


def test_describe_cluster_words():
    z = pd.Series({"orders": 1.2, "margin": 0.8, "return_rate": -0.6, "calls": 0.1,
                   "channel_share_web": 0.9})
    assert BehaviourClusters.describe_cluster(z) == "frequent buyers, web buyers, high margin"
    assert BehaviourClusters.describe_cluster(z * 0.1) == "average customers"


def test_constant_or_missing_features_are_dropped_and_too_few_rows_refused(three_groups):
    df = three_groups.assign(calls=0, margin=np.nan)
    m = BehaviourClusters(max_k=3).fit(df)
    assert "calls" not in m.features_ and "margin" not in m.features_
    with pytest.raises(ValueError, match="too few"):
        BehaviourClusters().fit(three_groups.iloc[:2])
    with pytest.raises(ValueError, match="no behavioural feature varies"):
        BehaviourClusters().fit(pd.DataFrame({"party_id": list("abcd"), "orders": [1] * 4}))


def test_the_same_customers_in_another_row_order_keep_their_clusters(monkeypatch):
    """Issue #9 item 11: the engine returns rows in any order; two builds of the same data
    must give every customer the same cluster (a sample drawn by position must not move).
    Samples smaller than the base, as on a real base larger than ``fit_sample``."""
    from types import SimpleNamespace

    from prisme.analytics import marts
    from prisme.analytics.marts import MartSummary, _cluster_scores
    from prisme.config import AnalyticsSettings

    small = classmethod(lambda cls, a: cls(max_k=a.clusters_max_k, seed=a.seed,
                                           fit_sample=300, sample_size=200))
    monkeypatch.setattr(marts.BehaviourClusters, "from_settings", small)
    settings = SimpleNamespace(analytics=AnalyticsSettings())
    rng = np.random.default_rng(4)  # no clear groups: boundary customers move if the fit does
    data = _group(rng, 1500, "p", orders=3, revenue=300, returns=0.1, web=5, calls=1,
                  recency=90, web_share=0.5).drop(columns="truth")
    first = _cluster_scores(data, settings, MartSummary(as_of=None))
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = _cluster_scores(shuffled, settings, MartSummary(as_of=None))
    a = first.set_index("party_id").sort_index()
    b = again.set_index("party_id").sort_index()
    assert len(a) == len(data)
    pd.testing.assert_frame_equal(a, b)


def _buyers(rng, n, name, *, orders, tenure, recency, revenue):
    """Customers with their orders, days since first purchase (tenure) and since the last;
    one-time buyers have recency = tenure (their one purchase is both)."""
    tenure_days = rng.uniform(*tenure, n).round()
    one = np.full(n, orders) if np.isscalar(orders) else rng.integers(*orders, n)
    recency_days = np.where(one <= 1, tenure_days,
                            np.minimum(rng.uniform(*recency, n).round(), tenure_days))
    return pd.DataFrame({"party_id": [f"{name}{i}" for i in range(n)], "orders": one,
                         "revenue": rng.gamma(3, revenue / 3, n), "tenure_days": tenure_days,
                         "recency_days": recency_days, "truth": name})


def test_a_base_of_one_time_buyers_is_not_called_long_standing():
    """Issue #9 item 10: on a base where customers bought once (Olist: 97%), the clusters of
    old first purchases were labelled "long-standing customers". Labels follow what the
    customers do: one-time buyers, bought long ago or recently."""
    rng = np.random.default_rng(5)
    base = pd.concat([
        _buyers(rng, 500, "old", orders=1, tenure=(400, 900), recency=(0, 0), revenue=80),
        _buyers(rng, 400, "new", orders=1, tenure=(5, 60), recency=(0, 0), revenue=80),
    ], ignore_index=True)
    m = BehaviourClusters(max_k=4, seed=7).fit(base)
    labels = m.profiles_.set_index("cluster").label
    for label in labels:
        assert label.startswith("one-time buyers"), label
        for word in ("long-standing", "frequent buyers", "recent customers"):
            assert word not in label, label
    by_truth = pd.crosstab(m.labels_, base.truth)
    old = labels[by_truth.old.idxmax()]
    new = labels[by_truth.new.idxmax()]
    assert "long since last purchase" in old and "bought recently" in new
    assert m.facts_[by_truth.old.idxmax()]["one_time_share"] == 1.0


def test_long_standing_means_repeat_purchases_over_a_year():
    """The same rules name a group that has bought for years "long-standing", and not the
    one-time buyers of long ago beside it, nor repeat buyers of a few months."""
    rng = np.random.default_rng(6)
    base = pd.concat([
        _buyers(rng, 400, "loyal", orders=(8, 15), tenure=(1500, 2500), recency=(5, 40),
                revenue=900),
        _buyers(rng, 500, "once", orders=1, tenure=(400, 900), recency=(0, 0), revenue=60),
        _buyers(rng, 300, "fresh", orders=(2, 4), tenure=(30, 150), recency=(5, 30),
                revenue=200),
    ], ignore_index=True)
    m = BehaviourClusters(max_k=3, seed=7).fit(base)
    assert m.k_ == 3
    labels = m.profiles_.set_index("cluster").label
    by_truth = pd.crosstab(m.labels_, base.truth)
    loyal, once, fresh = (labels[by_truth[t].idxmax()] for t in ("loyal", "once", "fresh"))
    assert "long-standing customers" in loyal and "frequent buyers" in loyal
    assert once.startswith("one-time buyers") and "long-standing" not in once
    assert "long since last purchase" in once
    assert "long-standing" not in fresh and "one-time" not in fresh


def test_words_hold_only_when_the_customers_do_it():
    from prisme.analytics.clusters import word_holds

    once = {"one_time_share": 0.9, "orders": 1, "recency_days": 800, "tenure_days": 800,
            "span_days": 0}
    assert not word_holds("tenure_days", True, once) and not word_holds("orders", True, once)
    assert word_holds("recency_days", True, once) and not word_holds("recency_days", False, once)
    loyal = {"one_time_share": 0.0, "orders": 12, "recency_days": 20, "tenure_days": 1200,
             "span_days": 1180}
    assert word_holds("tenure_days", True, loyal) and word_holds("orders", True, loyal)
    assert not word_holds("tenure_days", True, {**loyal, "span_days": 200})
    assert BehaviourClusters.describe_cluster(pd.Series({"tenure_days": 1.5, "recency_days": 1.2}),
                                              facts=once) == \
        "mostly one-time buyers, long since last purchase"
