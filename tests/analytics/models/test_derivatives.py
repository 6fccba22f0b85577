"""Analytic gradients and Hessians of the BG/NBD and Gamma-Gamma log-likelihoods against finite
differences, and the Newton fit that uses them against the general optimiser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prisme.analytics.models import bgnbd, gammagamma
from prisme.models import BetaGeo, GammaGamma

BG_TRUE = {"r": 0.2426, "alpha": 4.4137, "a": 0.793, "b": 2.4262}
GG_TRUE = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def bg_data():
    rng = np.random.default_rng(5)
    df = bgnbd.simulate(BG_TRUE, 3000, np.round(rng.uniform(39, 78, 3000) * 7) / 7, seed=6)
    df["recency"] = np.where(df["frequency"] > 0, np.round(df["recency"] * 7) / 7, 0.0)
    return BetaGeo()._prepare(df)


@pytest.fixture(scope="module")
def gg_data():
    freq = np.random.default_rng(8).integers(1, 30, 3000)
    df = gammagamma.simulate(GG_TRUE, freq, seed=9)
    df["monetary_value"] = df["monetary_value"].round(2).clip(lower=0.01)
    return GammaGamma()._prepare(df)


def central_differences(func, params: np.ndarray, rel: float = 1e-6) -> np.ndarray:
    """Column i = (func(p + h e_i) - func(p - h e_i)) / 2h, h relative to p_i."""
    cols = []
    for i in range(len(params)):
        h = rel * params[i]
        step = np.zeros_like(params)
        step[i] = h
        cols.append((np.asarray(func(params + step)) - np.asarray(func(params - step))) / (2 * h))
    return np.array(cols).T


def check_derivatives(model, data, params) -> None:
    params = np.asarray(params, dtype=float)
    ll, grad, hess = model._loglik_hess(params, data)
    # the value is the model's likelihood (eq. 6 / note eq. 3) summed over the rows
    assert ll == pytest.approx(model._total_loglik(params, data), rel=1e-11)
    num_grad = central_differences(lambda p: model._total_loglik(p, data), params)
    assert np.allclose(grad, num_grad, rtol=1e-5, atol=1e-6 * np.abs(grad).max())
    # the gradient agrees with the older analytic gradient used by the general optimiser
    assert np.allclose(grad, model._loglik_grad(params, data)[1], rtol=1e-9)
    num_hess = central_differences(lambda p: model._loglik_hess(p, data)[1], params)
    assert np.allclose(hess, hess.T)
    assert np.allclose(hess, num_hess, rtol=1e-5, atol=1e-6 * np.abs(hess).max())


@pytest.mark.parametrize("params", [[0.2426, 4.4137, 0.793, 2.4262], [1.5, 0.7, 3.0, 0.4],
                                    [0.05, 20.0, 0.2, 9.0]])
def test_bgnbd_derivatives_match_finite_differences(bg_data, params):
    check_derivatives(BetaGeo(), bg_data, params)


@pytest.mark.parametrize("params", [[6.25, 3.74, 15.44], [0.8, 1.2, 2.0], [20.0, 9.0, 100.0]])
def test_gammagamma_derivatives_match_finite_differences(gg_data, params):
    check_derivatives(GammaGamma(), gg_data, params)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(np.log(0.05), np.log(20.0)), min_size=4, max_size=4))
def test_bgnbd_gradient_property(bg_data, log_params):
    params = np.exp(np.array(log_params))
    _, grad, _ = BetaGeo()._loglik_hess(params, bg_data)
    num = central_differences(lambda p: BetaGeo()._total_loglik(p, bg_data), params)
    assert np.allclose(grad, num, rtol=1e-4, atol=1e-6 * max(np.abs(grad).max(), 1.0))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(np.log(0.2), np.log(50.0)), min_size=3, max_size=3))
def test_gammagamma_gradient_property(gg_data, log_params):
    params = np.exp(np.array(log_params))
    _, grad, _ = GammaGamma()._loglik_hess(params, gg_data)
    num = central_differences(lambda p: GammaGamma()._total_loglik(p, gg_data), params)
    assert np.allclose(grad, num, rtol=1e-4, atol=1e-6 * max(np.abs(grad).max(), 1.0))


class _GeneralBetaGeo(BetaGeo):
    """BG/NBD fitted by the general path (L-BFGS-B, numerical Hessian): the reference."""

    _loglik_hess = None


class _GeneralGammaGamma(GammaGamma):
    _loglik_hess = None


@pytest.mark.parametrize("fast, general, columns", [
    (BetaGeo, _GeneralBetaGeo, {"x": "frequency", "t_x": "recency"}),
    (GammaGamma, _GeneralGammaGamma, {"x": "frequency", "zbar": "monetary_value"}),
])
def test_newton_fit_equals_general_fit(shared_data, fast, general, columns):
    df = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv")
    df = df.rename(columns=columns)
    if fast is GammaGamma:
        df = df[df["frequency"] > 0]
    used = []
    model = fast()
    exact = model._fit_exact

    def spy(data):
        used.append(exact(data))
        return used[-1]

    model._fit_exact = spy
    model.fit(df)
    assert used == [True]  # the trust-region Newton path reached the maximum itself
    ref = general().fit(df)
    for k in model.param_names:
        assert model.params_[k] == pytest.approx(ref.params_[k], rel=1e-8)
        assert model.standard_errors_[k] == pytest.approx(ref.standard_errors_[k], rel=1e-6)
    assert model.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-13)
