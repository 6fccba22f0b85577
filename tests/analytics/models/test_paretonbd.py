"""Pareto/NBD against the CDNOW figures (Fader & Hardie 2005 note) and its own simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import gammaln

from prisme.analytics.models import paretonbd
from prisme.models import ParetoNBD


@pytest.fixture(scope="module")
def fitted(cdnow_calibration) -> ParetoNBD:
    return ParetoNBD().fit(cdnow_calibration)


def one(x, t_x, T) -> pd.DataFrame:
    return pd.DataFrame({"frequency": [x], "recency": [t_x], "T": [T]})


def test_parameters_and_log_likelihood(fitted):
    p = fitted.params_
    assert (round(p["r"], 3), round(p["alpha"], 2), round(p["s"], 3), round(p["beta"], 2)) == (
        0.553, 10.58, 0.606, 11.67)
    assert round(fitted.log_likelihood_, 2) == -9594.98


def test_named_customer_and_unconditional(fitted):
    c = one(26, 30.857, 31)
    assert round(float(fitted.probability_alive(c)[0]), 5) == 0.99787
    assert round(float(fitted.expected_purchases_unconditional(52)), 4) == 1.4734
    # README prints 25.456 (spreadsheet parameters); the exact MLE gives 25.4551
    e = float(fitted.expected_purchases(c, 52)[0])
    assert round(e, 2) == 25.46 and abs(e - 25.456) < 1.5e-3


def test_probabilities_sum_to_one_with_the_right_mean(fitted):
    n = np.arange(0, 400)
    p = fitted.probability_of_n_purchases(52, n)
    assert p.sum() == pytest.approx(1.0, abs=1e-8)
    assert float(np.sum(n * p)) == pytest.approx(
        float(fitted.expected_purchases_unconditional(52)), rel=1e-7)


def _direct_loglik(r, alpha, s, beta, x, t_x, T):
    """The likelihood as an integral over the dropout time (no hypergeometric function)."""
    def integrand(tau):
        return s * np.exp(-(r + x) * np.log(alpha + tau) - (s + 1) * np.log(beta + tau)
                          + (r + x) * np.log(alpha + t_x) + (s + 1) * np.log(beta + t_x))
    part, _ = quad(integrand, t_x, T, epsabs=0, epsrel=1e-12, limit=200)
    scale = -(r + x) * np.log(alpha + t_x) - (s + 1) * np.log(beta + t_x)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
            + np.logaddexp(alive, scale + np.log(part) if part > 0 else -np.inf))


@pytest.mark.parametrize("params, row", [
    ((0.55, 10.6, 0.61, 11.7), (26, 30.857, 31.0)),
    ((0.55, 0.2, 0.61, 300.0), (400, 20.0, 78.0)),     # alpha << beta, heavy buyer
    ((2.0, 500.0, 0.3, 0.05), (3, 1.0, 78.0)),         # alpha >> beta
    ((0.2, 4.0, 5.0, 4.0001), (2000, 77.0, 78.0)),     # alpha ~ beta, thousands of purchases
    ((0.5, 8.0, 0.7, 12.0), (0, 0.0, 39.0)),
])
def test_stable_likelihood_matches_direct_integral(params, row):
    m = ParetoNBD().with_params(**dict(zip(("r", "alpha", "s", "beta"), params, strict=True)))
    ll = m.score_log_likelihood(one(*row))
    assert np.isfinite(ll)
    assert ll == pytest.approx(_direct_loglik(*params, *row), rel=1e-9, abs=1e-9)
    assert 0.0 <= m.probability_alive(one(*row))[0] <= 1.0


@pytest.mark.slow
def test_recovers_simulated_parameters():
    truth = {"r": 0.6, "alpha": 9.0, "s": 0.7, "beta": 12.0}
    rng = np.random.default_rng(8)
    T = np.round(rng.uniform(39, 78, 100_000) * 7) / 7
    sim = paretonbd.simulate(truth, 100_000, T, seed=9)
    sim["recency"] = np.minimum(np.round(sim["recency"] * 7) / 7, sim["T"])
    m = ParetoNBD().fit(sim)
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 4 * m.standard_errors_[k] + 0.01 * v, (k, m.params_[k])


params = st.fixed_dictionaries({"r": st.floats(0.05, 5), "alpha": st.floats(0.5, 50),
                                "s": st.floats(0.1, 5), "beta": st.floats(0.5, 50)})


@settings(max_examples=50, deadline=None)
@given(params, st.integers(0, 80), st.floats(0, 1), st.floats(0.5, 100))
def test_properties(p, x, frac, T):
    m = ParetoNBD().with_params(**p)
    row = one(x, frac * T if x > 0 else 0.0, T)
    alive = m.probability_alive(row)[0]
    assert 0.0 <= alive <= 1.0
    e = m.expected_purchases(row, np.array([1.0, 10.0, 52.0]))
    assert np.all(e >= 0) and np.all(np.diff(e) >= -1e-9)
    u = m.expected_purchases_unconditional([1.0, 10.0, 52.0])
    assert np.all(u >= 0) and np.all(np.diff(u) >= -1e-9)
