"""BG/BB: beta-geometric / beta-binomial model for discrete transaction opportunities.

Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual
Setting", Marketing Science 29(6):1086-1108. At each of n opportunities an active customer
transacts with probability p ~ Beta(alpha, beta); at the start of each opportunity they drop out
with probability theta ~ Beta(gamma, delta). Data: x transactions, t_x the opportunity of the last
one (0 if none), n opportunities observed; ``fit`` takes ``frequency, recency, T`` (``T`` = n;
``periods`` or ``n_periods`` are accepted too) and usually a ``weights`` column, since the data
come as a recency/frequency matrix with counts. Equations: likelihood (eq. 5), P(X(n) = x)
(eq. 8), E[X(n)] (eq. 9), P(alive at n+1 | x, t_x, n) (eq. 11), E[X(n, n+n*) | x, t_x, n] (eq. 13).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, logsumexp

from prisme.analytics.models.base import (
    FitData,
    ProbabilityModel,
    _numeric_column,
    _rows_where,
    group_unique,
    row_weights,
)


def _bgbb_arrays(df: pd.DataFrame, model: str):
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{model}: expected a pandas DataFrame, got {type(df).__name__}")
    if "T" not in df.columns:
        for alias in ("n_periods", "periods"):
            if alias in df.columns:
                df = df.rename(columns={alias: "T"})
                break
    x = _numeric_column(df, "frequency", model)
    t_x = _numeric_column(df, "recency", model)
    n = _numeric_column(df, "T", model)
    for name, v in (("frequency", x), ("recency", t_x), ("T", n)):
        if (v < 0).any() or (v != np.round(v)).any():
            raise ValueError(f"{model}: {name!r} must count whole periods >= 0; "
                             f"{_rows_where(df, (v < 0) | (v != np.round(v)))} do not")
    for bad, rule in (((x > t_x), "frequency <= recency"), ((t_x > n), "recency <= T"),
                      (((x == 0) & (t_x > 0)), "recency 0 when frequency is 0"),
                      (((x > 0) & (t_x == 0)), "recency >= 1 when frequency > 0")):
        if bad.any():
            raise ValueError(f"{model}: expected {rule}; {_rows_where(df, bad)} break it")
    return x, t_x, n, df


class BetaGeoBetaBinom(ProbabilityModel):
    """BG/BB model; ``params_`` = {alpha, beta, gamma, delta} (Fader, Hardie & Shang 2010)."""

    param_names = ("alpha", "beta", "gamma", "delta")

    def fit(self, df: pd.DataFrame, weights: str | None = "weights") -> BetaGeoBetaBinom:
        """Maximum likelihood on the recency/frequency matrix (with counts); returns self."""
        return self._fit_frame(df, weights)

    def _prepare(self, df: pd.DataFrame, weights: str | None = "weights") -> FitData:
        model = type(self).__name__
        x, t_x, n, df = _bgbb_arrays(df, model)
        w = row_weights(df, weights, model)
        return group_unique({"x": x, "t_x": t_x, "n": n}, w)

    def _start(self, data: FitData) -> np.ndarray:
        return np.array([1.0, 1.0, 1.0, 1.0])

    @staticmethod
    def _log_lik(params, x, t_x, n):
        alpha, beta, gamma, delta = params
        b_ab, b_gd = betaln(alpha, beta), betaln(gamma, delta)
        terms = [betaln(alpha + x, beta + n - x) - b_ab + betaln(gamma, delta + n) - b_gd]
        for i in range(int(np.max(n - t_x)) if len(n) else 0):
            term = (betaln(alpha + x, beta + t_x - x + i) - b_ab
                    + betaln(gamma + 1, delta + t_x + i) - b_gd)
            terms.append(np.where(i < n - t_x, term, -np.inf))
        return logsumexp(np.vstack(terms), axis=0)

    def _loglik_rows(self, params, data: FitData) -> np.ndarray:
        """log L(alpha, beta, gamma, delta | x, t_x, n), eq. (5)."""
        c = data.columns
        return self._log_lik(params, c["x"], c["t_x"], c["n"])

    # ------------------------------------------------------------------ predictions
    def probability_alive(self, df: pd.DataFrame) -> np.ndarray:
        """P(alive at opportunity n+1 | x, t_x, n), eq. (11)."""
        alpha, beta, gamma, delta = params = self._p()
        x, t_x, n, _ = _bgbb_arrays(df, type(self).__name__)
        log_num = (betaln(alpha + x, beta + n - x) - betaln(alpha, beta)
                   + betaln(gamma, delta + n + 1) - betaln(gamma, delta))
        return np.exp(log_num - self._log_lik(params, x, t_x, n))

    def expected_purchases(self, df: pd.DataFrame, t) -> np.ndarray:
        """E[X(n, n+t) | x, t_x, n]: transactions in the next ``t`` opportunities, eq. (13)."""
        alpha, beta, gamma, delta = params = self._p()
        x, t_x, n, _ = _bgbb_arrays(df, type(self).__name__)
        log_l = self._log_lik(params, x, t_x, n)
        log_pre = (betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta)
                   + gammaln(gamma + delta) - gammaln(1 + delta) - log_l)
        bracket = (np.exp(gammaln(1 + delta + n) - gammaln(gamma + delta + n))
                   - np.exp(gammaln(1 + delta + n + t) - gammaln(gamma + delta + n + t)))
        return np.exp(log_pre) * delta / (gamma - 1.0) * bracket

    def expected_purchases_unconditional(self, n) -> np.ndarray:
        """E[X(n)]: transactions in the first ``n`` opportunities, eq. (9)."""
        alpha, beta, gamma, delta = self._p()
        n = np.asarray(n, dtype=float)
        ratio = np.exp(gammaln(gamma + delta) - gammaln(gamma + delta + n)
                       + gammaln(1 + delta + n) - gammaln(1 + delta))
        return alpha / (alpha + beta) * delta / (gamma - 1.0) * (1.0 - ratio)

    def probability_of_n_purchases(self, n, x) -> np.ndarray:
        """P(X(n) = x): exactly ``x`` transactions in ``n`` opportunities, eq. (8)."""
        alpha, beta, gamma, delta = self._p()
        ns, xs = np.broadcast_arrays(np.asarray(n, dtype=int), np.asarray(x, dtype=int))
        out = np.empty(ns.shape, dtype=float)
        b_ab, b_gd = betaln(alpha, beta), betaln(gamma, delta)
        for idx, (ni, xi) in enumerate(zip(ns.ravel(), xs.ravel(), strict=True)):
            if xi < 0 or xi > ni:
                out.flat[idx] = 0.0
                continue
            log_c = gammaln(ni + 1) - gammaln(xi + 1) - gammaln(ni - xi + 1)
            total = np.exp(log_c + betaln(alpha + xi, beta + ni - xi) - b_ab
                           + betaln(gamma, delta + ni) - b_gd)
            i = np.arange(xi, ni, dtype=float)
            log_ci = gammaln(i + 1) - gammaln(xi + 1) - gammaln(i - xi + 1)
            total += np.sum(np.exp(log_ci + betaln(alpha + xi, beta + i - xi) - b_ab
                                   + betaln(gamma + 1, delta + i) - b_gd))
            out.flat[idx] = total
        return out


def simulate(params: dict, n: int, n_periods: int, seed: int | None = None) -> pd.DataFrame:
    """Customers drawn from the BG/BB process over ``n_periods`` opportunities:
    ``frequency, recency, T, alive``."""
    rng = np.random.default_rng(seed)
    alpha, beta, gamma, delta = (params[k] for k in ("alpha", "beta", "gamma", "delta"))
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    death = rng.geometric(theta)  # the opportunity at whose start the customer drops out
    x = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    for t in range(1, n_periods + 1):
        buys = (t < death) & (rng.random(n) < p)
        x += buys
        last = np.where(buys, t, last)
    return pd.DataFrame({"frequency": x, "recency": last, "T": n_periods,
                         "alive": death > n_periods + 1})
