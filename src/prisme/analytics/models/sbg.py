"""sBG: shifted-beta-geometric model of contractual retention (subscriptions, contracts).

Fader & Hardie (2007), "How to Project Customer Retention", Journal of Interactive Marketing
21(1):76-90. Each customer renews each period with probability 1 - theta, theta ~ Beta(alpha,
beta) across customers. P(T = t) = B(alpha+1, beta+t-1) / B(alpha, beta) (eq. 6 / recursion 7),
S(t) = B(alpha, beta+t) / B(alpha, beta) (eq. 8 / recursion 9), the retention rate
r_t = (beta+t-1)/(alpha+beta+t-1) (eq. 4); the likelihood of a cohort followed for k periods is
eq. (10). DERL, the discounted expected residual lifetime, is Fader & Hardie (2010), "Customer-
Base Valuation in a Contractual Setting", Marketing Science 29(1):85-93, eq. (6):
DERL(d | n-1 renewals) = (beta+n-1)/(alpha+beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, hyp2f1

from prisme.analytics.models.base import FitData, ProbabilityModel


def _survivor_array(survivors, model: str) -> np.ndarray:
    s = np.asarray(survivors, dtype=float).ravel()
    if s.size < 3:
        raise ValueError(f"{model}: needs survivors for at least 2 periods after the start "
                         f"(3 numbers: cohort size, then survivors per period); got {s.size}")
    if np.isnan(s).any() or (s < 0).any():
        raise ValueError(f"{model}: survivor counts must be numbers >= 0 (got {s.tolist()})")
    if s[0] <= 0:
        raise ValueError(f"{model}: the first number is the cohort size and must be > 0")
    rise = np.flatnonzero(np.diff(s) > 0)
    if rise.size:
        raise ValueError(f"{model}: survivors must not increase; period {int(rise[0]) + 1} has "
                         f"{s[rise[0] + 1]:g} > {s[rise[0]]:g}")
    if s[-1] == s[0]:
        raise ValueError(f"{model}: no customer churned, so the churn distribution is unknown")
    if s[-1] == 0 and s[1] == 0:
        raise ValueError(f"{model}: every customer churned in the first period")
    return s


class ShiftedBetaGeo(ProbabilityModel):
    """sBG model; ``params_`` = {alpha, beta}. ``fit(survivors)`` takes the number of customers
    still active at the start (cohort size) and at the end of each period 1..k."""

    param_names = ("alpha", "beta")

    def fit(self, survivors) -> ShiftedBetaGeo:
        """Maximum likelihood (eq. 10) on one cohort's survivor counts; returns self."""
        return self._fit_data(self._prepare(survivors))

    def _prepare(self, survivors) -> FitData:
        s = _survivor_array(survivors, type(self).__name__)
        lost = -np.diff(s)
        k = s.size - 1
        periods = np.arange(1, k + 1, dtype=float)
        # rows: churned in period t (kind 0) and still active after k periods (kind 1)
        data = FitData(columns={"t": np.append(periods, k), "kind": np.append(np.zeros(k), 1.0)},
                       weights=np.append(lost, s[-1]))
        keep = data.weights > 0
        return FitData(columns={c: v[keep] for c, v in data.columns.items()},
                       weights=data.weights[keep])

    def _start(self, data: FitData) -> np.ndarray:
        return np.array([1.0, 1.0])

    def _loglik_rows(self, params, data: FitData) -> np.ndarray:
        """eq. (10): lost_t ln P(T = t) + survivors_k ln S(k)."""
        alpha, beta = params
        t, kind = data.columns["t"], data.columns["kind"]
        log_p = betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)
        log_s = betaln(alpha, beta + t) - betaln(alpha, beta)
        return np.where(kind == 0, log_p, log_s)

    # ------------------------------------------------------------------ predictions
    def churn_probability(self, t) -> np.ndarray:
        """P(T = t): probability that a new customer's last period is t (eq. 6)."""
        alpha, beta = self._p()
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))

    def survival(self, t) -> np.ndarray:
        """S(t): share of a new cohort still active after t periods (eq. 8)."""
        alpha, beta = self._p()
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def retention_rate(self, t) -> np.ndarray:
        """r_t = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1) (eq. 4): rises with t
        because the customers most prone to churn leave first."""
        alpha, beta = self._p()
        t = np.asarray(t, dtype=float)
        return (beta + t - 1) / (alpha + beta + t - 1)

    def discounted_expected_residual_lifetime(self, discount_rate: float, renewals=0):
        """DERL(d | n-1 renewals): expected discounted number of future payments (the next
        renewal counted at 1/(1+d)^0) of a customer who has renewed ``renewals`` times."""
        alpha, beta = self._p()
        if discount_rate <= 0:
            raise ValueError("discount_rate must be > 0 (per period, e.g. 0.1)")
        n = np.asarray(renewals, dtype=float) + 1.0
        return ((beta + n - 1) / (alpha + beta + n - 1)
                * hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + discount_rate)))


def simulate(params: dict, n: int, n_periods: int, seed: int | None = None) -> np.ndarray:
    """Survivors of a cohort of ``n`` drawn from the sBG process: start, then after each of
    ``n_periods`` periods (an array of n_periods + 1 counts)."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(params["alpha"], params["beta"], n)
    last_period = rng.geometric(theta)
    return np.array([(last_period > t).sum() for t in range(n_periods + 1)], dtype=np.int64)
