"""BG/NBD: the beta-geometric / negative binomial model of repeat buying (non-contractual).

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2):275-284. While active a customer buys at a Poisson
rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out with probability
p ~ Beta(a, b). Data per customer: x = frequency (repeat purchases), t_x = recency (time of the
last one, from the first purchase), T = time observed since the first purchase.

Equations used (numbers as in the paper): the likelihood (6), E[X(t)] (7), P(X(t) = x) (8),
the conditional expectation E[Y(t) | x, t_x, T] (10) and P(alive | x, t_x, T) (the paper's
appendix / Fader-Hardie note 2008). The Gaussian hypergeometric functions of (7) and (10) are
evaluated after Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A,C-B;C;z), which
removes the (1-z)^-(r+x) growth and keeps large frequencies finite.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, hyp2f1, polygamma, psi
from scipy.stats import nbinom

from prisme.analytics.models.base import (
    FitData,
    ProbabilityModel,
    index_columns,
    log1pexp,
    rfm_arrays,
    unique_histories,
    wdot,
)


class BetaGeo(ProbabilityModel):
    """BG/NBD model; ``params_`` = {r, alpha, a, b} (Fader, Hardie & Lee 2005).

    ``fit(df)`` takes a table with ``frequency, recency, T`` (and optionally a ``weights``
    column counting the customers sharing each row).
    """

    param_names = ("r", "alpha", "a", "b")

    def fit(self, df: pd.DataFrame, weights: str | None = "weights") -> BetaGeo:
        """Maximum likelihood on the unique (frequency, recency, T) rows; returns self."""
        return self._fit_frame(df, weights)

    def _prepare(self, df: pd.DataFrame, weights: str | None = "weights") -> FitData:
        data = unique_histories(df, weights, type(self).__name__)
        index_columns(data, ("x", "t_x", "T"))
        return data

    def _start(self, data: FitData) -> np.ndarray:
        c, w = data.columns, data.weights
        rate = wdot(w, c["x"]) / wdot(w, c["T"])
        r = 0.5
        return np.array([r, r / max(rate, 1e-6), 1.0, 3.0])

    def _subset(self, data: FitData, pick: np.ndarray) -> FitData:
        sub = FitData(columns={k: v[pick] for k, v in data.columns.items()},
                      weights=data.weights[pick], extra={"subset": True})
        index_columns(sub, ("x", "t_x", "T"))
        return sub

    @staticmethod
    def _pieces(params, data: FitData):
        """Log-likelihood pieces: per-x functions are computed once per distinct x, the logs of
        alpha+T and alpha+t_x once per distinct T and t_x, then gathered per row."""
        r, alpha, a, b = params
        (ux, ix), (ut, it), (uT, iT) = (data.extra[k] for k in ("x", "t_x", "T"))
        x = data.columns["x"]
        log_aT, log_at = np.log(alpha + uT)[iT], np.log(alpha + ut)[it]
        a12 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + gammaln(a + b)
               + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux))[ix]
        a3 = -(r + x) * log_aT
        # x = 0 has no "dropped after t_x" branch; a finite -1e4 instead of -inf keeps numpy off
        # its slow inf path and still contributes exactly 0 (only x = 0 rows get it, where
        # a3 = -r log(alpha+T) is small)
        log_ab = np.where(ux > 0, np.log(a) - np.log(np.maximum(b + ux - 1, 1e-300)), -1e4)
        a4 = log_ab[ix] - (r + x) * log_at
        return a12, a3, a4, log_aT, log_at

    def _loglik_rows(self, params, data: FitData) -> np.ndarray:
        """Log of eq. (6) per row: A1 + A2 + log(exp(A3) + [x>0] exp(A4))."""
        a12, a3, a4, _, _ = self._pieces(params, data)
        return a12 + a3 + log1pexp(a4 - a3)

    def _loglik_grad(self, params, data: FitData):
        """Weighted log-likelihood (6) and its analytic gradient in (r, alpha, a, b)."""
        r, alpha, a, b = params
        w = data.weights
        (ux, ix), (ut, it), (uT, iT) = (data.extra[k] for k in ("x", "t_x", "T"))
        x = data.columns["x"]
        a12, a3, a4, log_aT, log_at = self._pieces(params, data)
        ll = float(wdot(w, a12 + a3 + log1pexp(a4 - a3)))
        p4 = 0.5 * (1.0 + np.tanh(0.5 * (a4 - a3)))  # share of the "dropped after t_x" branch
        p3 = 1.0 - p4
        wx = np.bincount(ix, weights=w, minlength=len(ux))  # customers per distinct x
        wp4 = w * p4
        inv_bx = np.where(ux > 0, 1.0 / np.maximum(b + ux - 1, 1e-300), 0.0)
        d_r = (wdot(wx, psi(r + ux)) - wx.sum() * (psi(r) - np.log(alpha))
               - wdot(w * p3, log_aT) - wdot(wp4, log_at))
        d_alpha = (r / alpha * wx.sum() - wdot(w * (r + x), p3 / (alpha + uT)[iT]
                                                 + p4 / (alpha + ut)[it]))
        d_a = wdot(wx, psi(a + b) - psi(a + b + ux)) + wp4.sum() / a
        d_b = (wdot(wx, psi(a + b) + psi(b + ux) - psi(b) - psi(a + b + ux))
               - wdot(np.bincount(ix, weights=wp4, minlength=len(ux)), inv_bx))
        return ll, np.array([d_r, d_alpha, d_a, d_b])

    @staticmethod
    def _sums(data: FitData) -> dict:
        """Weights that do not depend on the parameters, summed once per fit: customers per
        distinct x, customers and repeat purchases per distinct T, and the row weights."""
        if "sums" not in data.extra:
            (ux, ix), (ut, it), (uT, iT) = (data.extra[k] for k in ("x", "t_x", "T"))
            w, x = data.weights, data.columns["x"]
            data.extra["sums"] = {
                "wx": np.bincount(ix, weights=w, minlength=len(ux)),
                "wT": np.bincount(iT, weights=w, minlength=len(uT)),
                "wxT": np.bincount(iT, weights=w * x, minlength=len(uT)),
                "n": float(w.sum()),
            }
        return data.extra["sums"]

    def _loglik_hess(self, params, data: FitData):
        """Weighted log-likelihood (6), its gradient and its Hessian in (r, alpha, a, b).

        Per row, eq. (6) is A12 + log(e^A3 + e^A4) with A3 = -(r+x) log(alpha+T) and
        A4 = log(a/(b+x-1)) - (r+x) log(alpha+t_x) (x > 0 only). With p4 = e^A4/(e^A3+e^A4),
        p3 = 1 - p4 and D = grad A4 - grad A3, the gradient is grad A12 + grad A3 + p4 D and
        the Hessian hess A12 + hess A3 + p4 (hess A4 - hess A3) + p3 p4 D D'. Terms that do not
        involve p4 are sums over distinct x or T; only p4 and D need a pass over the rows.
        """
        r, alpha, a, b = params
        w = data.weights
        (ux, ix), (ut, it), (uT, iT) = (data.extra[k] for k in ("x", "t_x", "T"))
        s = self._sums(data)
        wx, wT, wxT, n = s["wx"], s["wT"], s["wxT"], s["n"]
        lT_u, lt_u = np.log(alpha + uT), np.log(alpha + ut)
        iT_u, it_u = 1.0 / (alpha + uT), 1.0 / (alpha + ut)
        ib_u = np.where(ux > 0, 1.0 / np.maximum(b + ux - 1, 1e-300), 0.0)
        log_ab = np.where(ux > 0, np.log(a) + np.log(np.where(ux > 0, ib_u, 1.0)), -1e4)
        a12 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + gammaln(a + b)
               + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux))
        # rows: d = A4 - A3, the branch shares p4, p3 and the differences D
        rx = r + data.columns["x"]
        d_r = lT_u[iT] - lt_u[it]
        d = log_ab[ix] + rx * d_r
        e = np.exp(-np.minimum(np.abs(d), 60.0))  # held at e^-60: no subnormals (log1pexp)
        big = d >= 0
        p4 = np.where(big, 1.0, e) / (1.0 + e)
        p3 = np.where(big, e, 1.0) / (1.0 + e)
        ll = (wdot(wx, a12) - wdot(r * wT + wxT, lT_u)
              + wdot(w, np.maximum(d, 0.0) + np.log1p(e)))
        wp4 = w * p4
        q = wp4 * p3
        d_it = iT_u[iT] - it_u[it]
        d_al = rx * d_it
        wp4_x = np.bincount(ix, weights=wp4, minlength=len(ux))
        sum_wp4 = float(wp4.sum())
        grad = np.array([
            wdot(wx, psi(r + ux)) - n * (psi(r) - np.log(alpha)) - wdot(wT, lT_u)
            + wdot(wp4, d_r),
            n * r / alpha - wdot(r * wT + wxT, iT_u) + wdot(wp4, d_al),
            wdot(wx, psi(a + b) - psi(a + b + ux)) + sum_wp4 / a,
            wdot(wx, psi(a + b) + psi(b + ux) - psi(b) - psi(a + b + ux)) - wdot(wp4_x, ib_u),
        ])
        q_x = np.bincount(ix, weights=q, minlength=len(ux))
        qr_x = np.bincount(ix, weights=q * d_r, minlength=len(ux))
        qa_x = np.bincount(ix, weights=q * d_al, minlength=len(ux))
        sum_q = float(q.sum())
        t1 = polygamma(1, np.array([r, a + b, b]))
        t1_ab = polygamma(1, a + b + ux)
        h_ab = wdot(wx, t1[1] - t1_ab)
        H = np.empty((4, 4))
        H[0, 0] = wdot(wx, polygamma(1, r + ux) - t1[0]) + wdot(q, d_r * d_r)
        H[0, 1] = (n / alpha - wdot(wT, iT_u) + wdot(wp4, d_it) + wdot(q, d_r * d_al))
        H[1, 1] = (-n * r / alpha**2 + wdot(r * wT + wxT, iT_u * iT_u)
                   + wdot(wp4 * rx, it_u[it] ** 2 - iT_u[iT] ** 2) + wdot(q, d_al * d_al))
        H[0, 2] = float(qr_x.sum()) / a
        H[0, 3] = -wdot(qr_x, ib_u)
        H[1, 2] = float(qa_x.sum()) / a
        H[1, 3] = -wdot(qa_x, ib_u)
        H[2, 2] = h_ab - sum_wp4 / a**2 + sum_q / a**2
        H[2, 3] = h_ab - wdot(q_x, ib_u) / a
        H[3, 3] = (wdot(wx, t1[1] + polygamma(1, b + ux) - t1[2] - t1_ab)
                   + wdot(wp4_x + q_x, ib_u * ib_u))
        H = np.triu(H) + np.triu(H, 1).T
        return ll, grad, H

    # ------------------------------------------------------------------ predictions
    def probability_alive(self, df: pd.DataFrame) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        r, alpha, a, b = self._p()
        x, t_x, T = rfm_arrays(df, type(self).__name__)
        with np.errstate(over="ignore", divide="ignore"):
            log_ratio = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                         + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
            return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)

    def expected_purchases(self, df: pd.DataFrame, t: float) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected repeat purchases in the next ``t`` periods (eq. 10)."""
        r, alpha, _, _ = self._p()
        x, _, T = rfm_arrays(df, type(self).__name__)
        z = t / (alpha + T + t)

        def first(a, b):
            # Euler-transformed ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)
            shrink = (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
            return (a + b + x - 1.0) / (a - 1.0) * (1.0 - shrink)

        p = self.params_
        return _smooth_removable(first, p["a"], p["b"]) * self.probability_alive(df)

    def expected_purchases_unconditional(self, t) -> np.ndarray:
        """E[X(t)] for a customer picked at random, t periods after the first purchase (eq. 7)."""
        r, alpha, _, _ = self._p()
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)

        def value(a, b):
            shrink = (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b - 1.0, z)
            return (a + b - 1.0) / (a - 1.0) * (1.0 - shrink)

        return _smooth_removable(value, self.params_["a"], self.params_["b"])

    def probability_of_n_purchases(self, t, n) -> np.ndarray:
        """P(X(t) = n): probability of exactly n repeat purchases in (0, t] (eq. 8)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        n = np.asarray(n, dtype=float)
        q = alpha / (alpha + t)
        log_first = (betaln(a, b + n) - betaln(a, b) + gammaln(r + n) - gammaln(r)
                     - gammaln(n + 1) + r * np.log(q) + n * np.log1p(-q))
        with np.errstate(divide="ignore", invalid="ignore"):
            second = np.where(
                n > 0,
                np.exp(betaln(a + 1, b + np.maximum(n, 1) - 1) - betaln(a, b))
                * nbinom.sf(n - 1, r, q),
                0.0,
            )
        return np.exp(log_first) + second


def _smooth_removable(f, a: float, b: float, eps: float = 1e-4):
    """f(a, b) for eqs. (7) and (10), whose 0/0 at a = 1 (division by a - 1) and at
    a + b = 1 (2F1 with c = 0 times c) are removable: near them, the mean of f on both sides,
    exact to O(eps^2)."""
    if abs(a - 1.0) < eps:
        d = 2 * eps
        return 0.5 * (_smooth_removable(f, 1.0 - d, b, eps) + _smooth_removable(f, 1.0 + d, b, eps))
    if abs(a + b - 1.0) < eps:
        d = 2 * eps
        if b - d <= 0:
            return f(a, b + d)
        return 0.5 * (f(a, b - d) + f(a, b + d))
    return f(a, b)


def simulate(params: dict, n: int, T, seed: int | None = None) -> pd.DataFrame:
    """Customers drawn from the BG/NBD process itself: ``frequency, recency, T`` (continuous
    time, same unit as 1/alpha) plus ``alive`` at T. ``T`` is a number or one value per row."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    k_death = rng.geometric(p)  # dies right after its k-th repeat purchase (k >= 1)
    m = rng.poisson(lam * T)  # purchases the Poisson process would make in (0, T]
    x = np.minimum(m, k_death)
    safe_x = np.maximum(x, 1)
    recency = np.where(x > 0, T * rng.beta(safe_x, np.maximum(m - x, 0) + 1), 0.0)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": recency, "T": T,
                         "alive": m < k_death})
