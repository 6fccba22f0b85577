"""prisme.campaigns: lift with its tests and corrections, Qini; checked on Hillstrom's
published figures and against statsmodels' independent implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.weightstats import ttest_ind

from prisme.campaigns import adjust_p, lift, pooled_difference, qini, uplift_at_k

HILLSTROM = "hillstrom_email/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"


@pytest.fixture(scope="module")
def hillstrom(shared_data):
    return pd.read_csv(shared_data / HILLSTROM)


@pytest.mark.parametrize(("outcome", "published", "scale"), [
    ("visit", {"Mens E-Mail": 18.28, "Womens E-Mail": 15.14, "No E-Mail": 10.62}, 100),
    ("conversion", {"Mens E-Mail": 1.253, "Womens E-Mail": 0.884, "No E-Mail": 0.573}, 100),
    ("spend", {"Mens E-Mail": 1.4226, "Womens E-Mail": 1.0772, "No E-Mail": 0.6528}, 1),
])
def test_hillstrom_reproduces_the_published_figures(hillstrom, outcome, published, scale):
    r = lift(hillstrom, group="segment", control="No E-Mail", outcome=outcome).set_index("group")
    for g, v in published.items():
        digits = len(str(v).split(".")[1])
        assert round(r.loc[g, "value"] * scale, digits) == pytest.approx(v, abs=10**-digits)
    assert r.loc["No E-Mail", "control_value"] == r.loc["No E-Mail", "value"]
    for g in ("Mens E-Mail", "Womens E-Mail"):
        assert r.loc[g, "lift_low"] < r.loc[g, "lift"] < r.loc[g, "lift_high"]
        assert r.loc[g, "lift_low"] > 0 and r.loc[g, "p_adjusted"] < 0.01
        assert r.loc[g, "sentence"].startswith(f"{g} beats No E-Mail by")
    assert r.loc["Mens E-Mail", "test"] == ("Welch t" if outcome == "spend" else "two-proportion z")


def test_hillstrom_tests_agree_with_statsmodels(hillstrom):
    men = hillstrom[hillstrom.segment == "Mens E-Mail"]
    ctl = hillstrom[hillstrom.segment == "No E-Mail"]
    r = lift(hillstrom, group="segment", control="No E-Mail", outcome="conversion",
             correction="bh").set_index("group")
    z, p = proportions_ztest([men.conversion.sum(), ctl.conversion.sum()], [len(men), len(ctl)])
    assert r.loc["Mens E-Mail", "statistic"] == pytest.approx(z, rel=1e-9)
    assert r.loc["Mens E-Mail", "p_value"] == pytest.approx(p, rel=1e-6)
    s = lift(hillstrom, group="segment", control="No E-Mail", outcome="spend").set_index("group")
    t, p, _ = ttest_ind(men.spend, ctl.spend, usevar="unequal")
    assert s.loc["Mens E-Mail", "statistic"] == pytest.approx(t, rel=1e-9)
    assert s.loc["Mens E-Mail", "p_value"] == pytest.approx(p, rel=1e-6)
    ps = s["p_value"].to_numpy()[1:]
    assert np.allclose(s["p_adjusted"].to_numpy()[1:], multipletests(ps, method="holm")[1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=12),
       st.sampled_from(["holm", "bh"]))
def test_adjustment_matches_statsmodels_and_never_lowers_a_p_value(p, method):
    p = np.array(p)
    adj = adjust_p(p, method)
    ref = multipletests(p, method="holm" if method == "holm" else "fdr_bh")[1]
    assert np.allclose(adj, ref)
    assert (adj >= p - 1e-12).all() and (adj <= 1).all()


def test_without_a_control_group_the_message_says_so():
    df = pd.DataFrame({"g": ["a", "b"] * 5, "y": [0, 1] * 5})
    with pytest.raises(ValueError, match="without a control group the effect cannot be measured"):
        lift(df, group="g", control="control", outcome="y")
    with pytest.raises(ValueError, match="no column 'z'"):
        lift(df, group="g", control="a", outcome="z")


def test_not_significant_is_said_plainly():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"g": np.repeat(["none", "post"], 400), "y": rng.random(800) < 0.1})
    r = lift(df, group="g", control="none", outcome="y").set_index("group")
    if r.loc["post", "p_adjusted"] >= 0.05:
        assert "post is not significantly better than none" in r.loc["post", "sentence"]


def test_pooled_difference_keeps_campaigns_apart():
    # two campaigns, same true effect 0.05, very different baselines and control shares:
    # pooling all treated against all controls would be biased (Simpson), MH weights are not
    x_t, n_t = np.array([5500, 1100]), np.array([10000, 10000])
    x_c, n_c = np.array([500, 600]), np.array([1000, 10000])
    r = pooled_difference(x_t, n_t, x_c, n_c)
    assert r["lift"] == pytest.approx(0.05)
    naive = x_t.sum() / n_t.sum() - x_c.sum() / n_c.sum()
    assert abs(naive - 0.05) > 0.1
    assert r["lift_low"] < 0.05 < r["lift_high"] and r["p_value"] < 1e-6


def test_qini_of_perfect_random_and_reversed_orderings():
    rng = np.random.default_rng(0)
    n = 4000
    t = rng.random(n) < 0.5
    kind = rng.choice(3, n)  # 0 persuadable, 1 sure thing, 2 lost cause
    y = np.where(kind == 1, 1, np.where(kind == 0, t, 0)).astype(float)
    truth = (kind == 0).astype(float)
    good = qini(y, t, truth + rng.random(n) * 1e-3)
    # the "perfect" ordering knows every row's outcome (it puts treated sure things first), so
    # even the true effect ordering is far from 1; it is far above random and its reverse
    assert good.coefficient > 0.25
    assert abs(qini(y, t, rng.random(n)).coefficient) < 0.1
    assert qini(y, t, -truth).coefficient < -0.25
    assert good.curve.share_targeted.iloc[-1] == 1
    assert uplift_at_k(y, t, truth, k=0.3) > 0.9
    with pytest.raises(ValueError, match="both 1"):
        qini(y, np.ones(n), truth)
