"""The repeat-rate model (one purchase rate, one dropout rate) against an independent
computation of its likelihood and P(alive), and its own simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad

from prisme.analytics.models import repeat_rate
from prisme.models import RepeatRate

TRUTH = {"lambda_": 0.3, "mu": 0.05}


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    T = np.random.default_rng(0).uniform(5, 60, 20_000).round(1)
    return repeat_rate.simulate(TRUTH, 20_000, T, seed=1)


@pytest.fixture(scope="module")
def fitted(simulated) -> RepeatRate:
    return RepeatRate().fit(simulated)


def test_recovers_the_simulated_rates(fitted):
    for name, value in TRUTH.items():
        z = (fitted.params_[name] - value) / fitted.standard_errors_[name]
        assert abs(z) < 3, (name, fitted.params_[name])


def test_likelihood_is_the_integral_over_the_lifetime(fitted):
    """L = P(x purchases by T, alive at T) + ∫ over death times τ in (t_x, T): computed by
    numerical integration of the individual-level process (not the closed form)."""
    lam, mu = fitted.params_["lambda_"], fitted.params_["mu"]
    for x, t_x, T in [(0, 0.0, 10.0), (3, 7.5, 20.0), (12, 40.0, 41.0), (1, 0.5, 60.0)]:
        alive = lam**x * np.exp(-lam * T) * np.exp(-mu * T)
        dead, _ = quad(lambda tau, x=x: lam**x * np.exp(-lam * tau) * mu * np.exp(-mu * tau),
                       t_x, T)
        row = pd.DataFrame({"frequency": [x], "recency": [t_x], "T": [T]})
        assert fitted.score_log_likelihood(row) == pytest.approx(np.log(alive + dead), rel=1e-9)
        assert fitted.probability_alive(row)[0] == pytest.approx(alive / (alive + dead),
                                                                 rel=1e-9)


def test_p_alive_is_calibrated_and_falls_for_one_time_buyers(fitted, simulated):
    p = fitted.probability_alive(simulated)
    assert abs(p.mean() - simulated.alive.mean()) < 0.01
    once = simulated[simulated.frequency == 0]
    assert abs(fitted.probability_alive(once).mean() - once.alive.mean()) < 0.02
    grid = pd.DataFrame({"frequency": 0, "recency": 0.0, "T": [1.0, 5.0, 20.0, 50.0]})
    assert (np.diff(fitted.probability_alive(grid)) < 0).all()


def test_expected_purchases_match_the_process(fitted):
    lam, mu = fitted.params_["lambda_"], fitted.params_["mu"]
    assert fitted.expected_purchases_unconditional(10) == pytest.approx(
        quad(lambda t: lam * np.exp(-mu * t), 0, 10)[0])
    row = pd.DataFrame({"frequency": [2], "recency": [3.0], "T": [9.0]})
    assert fitted.expected_purchases(row, 10)[0] == pytest.approx(
        fitted.probability_alive(row)[0] * fitted.expected_purchases_unconditional(10))


def test_scikit_learn_shape():
    model = RepeatRate()
    with pytest.raises(RuntimeError, match="not fitted"):
        model.probability_alive(pd.DataFrame({"frequency": [0], "recency": [0], "T": [1]}))
    none_again = pd.DataFrame({"frequency": [0] * 50, "recency": [0.0] * 50, "T": [3.0] * 50})
    with pytest.raises(ValueError, match="no repeat buyer"):
        model.fit(none_again)
