"""Gamma-Gamma on the 946 CDNOW repeat buyers (Fader, Hardie & Lee 2005) and on simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prisme.analytics.models import gammagamma
from prisme.models import GammaGamma


@pytest.fixture(scope="module")
def spend(shared_data) -> pd.DataFrame:
    df = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv")
    return df.rename(columns={"x": "frequency", "zbar": "monetary_value"})


def truncated(values, digits=2):
    return [np.floor(v * 10**digits) / 10**digits for v in np.atleast_1d(values)]


def test_parameters_and_expected_spend(spend):
    m = GammaGamma().fit(spend[spend["frequency"] > 0])
    assert m.n_customers_ == 946
    # README prints these truncated to 2 decimals (15.4477 -> 15.44, 24.6586 -> 24.65)
    assert truncated([m.params_["p"], m.params_["q"], m.params_["v"]]) == [6.24, 3.74, 15.44]
    assert round(m.params_["p"], 2) == 6.25 and round(m.params_["q"], 2) == 3.74
    e = m.expected_spend(spend.head(10))
    assert truncated(e) == [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    assert e[2] == pytest.approx(m.population_mean_spend())


def test_recovers_simulated_parameters():
    truth = {"p": 4.0, "q": 3.0, "v": 20.0}
    freq = 1 + np.random.default_rng(1).poisson(2.0, 100_000)
    m = GammaGamma().fit(gammagamma.simulate(truth, freq, seed=2))
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 4 * m.standard_errors_[k], (k, m.params_[k])


def test_refuses_non_repeat_buyers(spend):
    with pytest.raises(ValueError, match="frequency 0"):
        GammaGamma().fit(spend)
