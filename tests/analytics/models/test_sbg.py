"""sBG on the two cohorts of Fader & Hardie (2007), Table 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prisme.analytics.models import sbg
from prisme.models import ShiftedBetaGeo


@pytest.fixture(scope="module")
def survivors(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "sbg_retention" / "sbg_paper_survivors.csv")


@pytest.mark.parametrize("cohort, alpha, beta", [
    ("highend_active", 0.668, 3.806), ("regular_active", 0.704, 1.182)])
def test_published_parameters(survivors, cohort, alpha, beta):
    m = ShiftedBetaGeo().fit(survivors[cohort])
    assert (round(m.params_["alpha"], 3), round(m.params_["beta"], 3)) == (alpha, beta)
    t = np.arange(1, 8)
    s = m.survival(t)
    assert np.all(np.diff(s) < 0)
    assert np.all(np.diff(m.retention_rate(t)) > 0)
    assert m.survival(t) == pytest.approx(np.cumprod(m.retention_rate(t)), rel=1e-12)
    assert m.churn_probability(t) == pytest.approx(-np.diff(np.append(1.0, s)), rel=1e-12)
    # DERL equals the discounted sum of conditional survival it stands for
    k = np.arange(5, 3000)
    direct = np.sum(m.survival(k) / m.survival(4) / 1.1 ** (k - 5))
    assert m.discounted_expected_residual_lifetime(0.1, renewals=4) == pytest.approx(direct,
                                                                                    rel=1e-9)


def test_recovers_simulated_parameters():
    truth = {"alpha": 0.7, "beta": 1.2}
    m = ShiftedBetaGeo().fit(sbg.simulate(truth, 100_000, 10, seed=4))
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 4 * m.standard_errors_[k], (k, m.params_[k])


@pytest.mark.parametrize("bad, message", [
    ([1000, 900], "at least 2 periods"), ([1000, 900, 950], "must not increase"),
    ([1000, 1000, 1000], "no customer churned")])
def test_bad_survivors(bad, message):
    with pytest.raises(ValueError, match=message):
        ShiftedBetaGeo().fit(bad)
