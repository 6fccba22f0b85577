"""Pareto/NBD: Poisson purchasing with an exponential lifetime (non-contractual).

Schmittlein, Morrison & Colombo (1987), "Counting Your Customers: Who Are They and What Will
They Do Next?", Management Science 33(1):1-24; expressions from Fader & Hardie (2005), "A Note
on Deriving the Pareto/NBD Model and Related Expressions" (eqs. 17-22, 40-41) and Fader & Hardie
(2006), "Deriving an Expression for P(X(t) = x) Under the Pareto/NBD Model".
Purchase rate lambda ~ Gamma(r, alpha); dropout rate mu ~ Gamma(s, beta).

Numerical stability: the likelihood needs A_0 (note eq. 19/20), a difference of two Gaussian
hypergeometric functions 2F1(A, B; A+1; z) / (max(alpha, beta) + t)^A. We always take the
branch with z = |alpha - beta| / (max(alpha, beta) + t) in [0, 1), apply Euler's transformation
2F1(A, B; A+1; z) = (1-z)^(1-B) 2F1(1, A+1-B; A+1; z), whose series is bounded by 1/(1-z) and
never overflows even for thousands of purchases, and combine the two terms in log space. The
2F1 values depend on (x, t_x) and (x, T) only, so they are computed once per unique pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, hyp2f1, logsumexp, psi

from prisme.analytics.models.base import (
    FitData,
    ProbabilityModel,
    factorize_rows,
    index_columns,
    log1mexp,
    log1pexp,
    rfm_arrays,
    unique_histories,
    wdot,
)


def _log_hyp_term(r, alpha, s, beta, x, t):
    """log[ 2F1(r+s+x, B; r+s+x+1; z) / (max(alpha,beta)+t)^(r+s+x) ], B = s+1 if alpha >= beta
    else r+x, via the Euler-transformed (bounded) series."""
    rsx = r + s + x
    hi, lo = max(alpha, beta), min(alpha, beta)
    big_b = s + 1.0 if alpha >= beta else r + x
    z = (hi - lo) / (hi + t)
    log_f = (1.0 - big_b) * np.log1p(-z) + np.log(hyp2f1(1.0, rsx + 1.0 - big_b, rsx + 1.0, z))
    return log_f - rsx * np.log(hi + t)


def _log_a0(r, alpha, s, beta, x, t_x, T):
    """log A_0 (Fader-Hardie 2005 note, eqs. 19-20); -inf when t_x == T."""
    g = _log_hyp_term(r, alpha, s, beta, x, t_x)
    h = _log_hyp_term(r, alpha, s, beta, x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.minimum(h - g, 0.0)
        out = np.where(h >= g, -np.inf, g + np.log(-np.expm1(diff)))
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    out = np.broadcast_to(out, x.shape).copy()
    # scipy's hyp2f1 returns NaN for large s (or r + x) with z close to 1 (beta >> alpha or
    # alpha >> beta), parameters that are valid and that draws from a flat likelihood reach:
    # there A_0 is computed from its defining integral instead
    bad = ~np.isfinite(out) & (out != -np.inf) & (T > t_x)
    if bad.any():
        out[bad] = _log_a0_quad(r, alpha, s, beta, x[bad], t_x[bad], T[bad])
    return out


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)


def _log_a0_quad(r, alpha, s, beta, x, t_x, T, panels: int = 48):
    """log A_0 = log[(r+s+x) * integral from t_x to T of (alpha+u)^-(r+x) (beta+u)^-(s+1) du]
    (the dropout term of note eq. 18), by 16-point Gauss-Legendre on panels whose lengths
    double from 2^-panels of T - t_x: the integrand's log is convex and decreasing, so where
    a panel is too coarse for it, it has already fallen by a factor e^-(decay of the panels
    before), and the sum is exact to a relative ~1e-10. Summed in log space."""
    x, t_x, T = (np.asarray(v, dtype=float)[:, None] for v in (x, t_x, T))
    edges = np.concatenate([[0.0], 2.0 ** np.arange(-panels, 1)])  # fractions of T - t_x
    lo, hi = edges[:-1], edges[1:]
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    frac = (mid[:, None] + half[:, None] * _GL_NODES[None, :]).ravel()
    log_w = (np.log(half)[:, None] + np.log(_GL_WEIGHTS)[None, :]).ravel()
    span = T - t_x
    u = t_x + span * frac[None, :]
    log_f = -(r + x) * np.log(alpha + u) - (s + 1.0) * np.log(beta + u)
    return (np.log(r + s + x[:, 0]) + np.log(span[:, 0])
            + logsumexp(log_f + log_w[None, :], axis=1))


def _log_first_term(r, alpha, s, beta, x, T):
    return -(r + x) * np.log(alpha + T) - s * np.log(beta + T)


class ParetoNBD(ProbabilityModel):
    """Pareto/NBD model; ``params_`` = {r, alpha, s, beta}."""

    param_names = ("r", "alpha", "s", "beta")
    _hessian_from_gradient = False

    def fit(self, df: pd.DataFrame, weights: str | None = "weights") -> ParetoNBD:
        """Maximum likelihood (note eq. 18) on the unique (frequency, recency, T) rows."""
        return self._fit_frame(df, weights)

    def _prepare(self, df: pd.DataFrame, weights: str | None = "weights") -> FitData:
        data = unique_histories(df, weights, type(self).__name__)
        c = data.columns
        for key, col in (("xt", "t_x"), ("xT", "T")):
            (ux, ut), codes = factorize_rows(c["x"], c[col])
            data.extra[key] = (ux, ut, codes)
        index_columns(data, ("x",))
        return data

    def _start(self, data: FitData) -> np.ndarray:
        c, w = data.columns, data.weights
        rate = wdot(w, c["x"]) / wdot(w, c["T"])
        mean_T = wdot(w, c["T"]) / w.sum()
        return np.array([0.5, 0.5 / max(rate, 1e-6), 0.5, mean_T])

    def _loglik_rows(self, params, data: FitData) -> np.ndarray:
        """log L(r, alpha, s, beta | x, t_x, T), note eq. 18."""
        r, alpha, s, beta = params
        xa, ta, ia = data.extra["xt"]
        xb, tb, ib = data.extra["xT"]
        g = _log_hyp_term(r, alpha, s, beta, xa, ta)[ia]
        h = _log_hyp_term(r, alpha, s, beta, xb, tb)[ib]
        first = _log_first_term(r, alpha, s, beta, xb, tb)[ib]
        ux, ix = data.extra["x"]
        a1 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + s * np.log(beta))[ix]
        second = (np.log(s) - np.log(r + s + ux))[ix] + g + log1mexp(h - g)
        # t_x == T leaves no dropout window (A_0 = 0): the term is dropped
        d = np.where(h >= g, -1e4, second - first)
        return a1 + first + log1pexp(d)

    def _loglik_grad(self, params, data: FitData):
        """Weighted log-likelihood and its gradient: analytic chain rule per row; only the
        hypergeometric terms (on the few unique (x, t) pairs) are differenced numerically."""
        r, alpha, s, beta = params
        w = data.weights
        ux, ix = data.extra["x"]
        xa, ta, ia = data.extra["xt"]
        xb, tb, ib = data.extra["xT"]
        g_u = _log_hyp_term(r, alpha, s, beta, xa, ta)
        h_u = _log_hyp_term(r, alpha, s, beta, xb, tb)
        dg_u, dh_u = np.empty((4, len(xa))), np.empty((4, len(xb)))
        for k in range(4):  # forward differences: the terms are smooth, h = 1e-7 relative
            step = np.zeros(4)
            step[k] = 1e-7 * params[k]
            up = params + step
            dg_u[k] = (_log_hyp_term(*up, xa, ta) - g_u) / step[k]
            dh_u[k] = (_log_hyp_term(*up, xb, tb) - h_u) / step[k]
        rx_b = r + xb
        first_u = -rx_b * np.log(alpha + tb) - s * np.log(beta + tb)
        d_first_u = np.array([-np.log(alpha + tb), -rx_b / (alpha + tb), -np.log(beta + tb),
                              -s / (beta + tb)])
        rsx = r + s + ux
        a1_u = gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        d_a1_u = np.array([psi(r + ux) - psi(r) + np.log(alpha), np.full_like(ux, r / alpha),
                           np.full_like(ux, np.log(beta)), np.full_like(ux, s / beta)])
        c_u = np.log(s) - np.log(rsx)
        d_c_u = np.array([-1 / rsx, np.zeros_like(ux), 1 / s - 1 / rsx, np.zeros_like(ux)])

        g, h, first = g_u[ia], h_u[ib], first_u[ib]
        open_window = h < g
        u = np.where(open_window, h - g, -1.0)
        second = c_u[ix] + g + log1mexp(u)
        d = np.where(open_window, second - first, -1e4)
        ll = wdot(w, a1_u[ix] + first + log1pexp(d))
        sig = np.where(open_window, 0.5 * (1.0 + np.tanh(0.5 * d)), 0.0)
        dl1m = np.where(open_window, -1.0 / np.expm1(np.maximum(-u, 1e-300)), 0.0)
        ws, wx = w * sig, np.bincount(ix, weights=w, minlength=len(ux))
        wsx = np.bincount(ix, weights=ws, minlength=len(ux))
        grad = np.empty(4)
        for k in range(4):
            dg, dh = dg_u[k][ia], dh_u[k][ib]
            d_second_extra = dg + (dh - dg) * dl1m  # row part of d(second)
            grad[k] = (wdot(wx, d_a1_u[k]) + wdot(w - ws, d_first_u[k][ib])
                       + wdot(wsx, d_c_u[k]) + wdot(ws, d_second_extra))
        return ll, grad

    # ------------------------------------------------------------------ predictions
    def probability_alive(self, df: pd.DataFrame) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A_0) (eq. 22)."""
        r, alpha, s, beta = self._p()
        x, t_x, T = rfm_arrays(df, type(self).__name__)
        log_a0 = _log_a0(r, alpha, s, beta, x, t_x, T)
        with np.errstate(over="ignore"):
            odds = np.exp(np.log(s) - np.log(r + s + x) + log_a0
                          - _log_first_term(r, alpha, s, beta, x, T))
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, df: pd.DataFrame, t: float) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` periods (note eq. 41)."""
        r, alpha, s, beta = self._p()
        x, _, T = rfm_arrays(df, type(self).__name__)
        horizon = _one_minus_pow_over(np.log((beta + T) / (beta + T + t)), s - 1.0)
        return (r + x) * (beta + T) / (alpha + T) * horizon * self.probability_alive(df)

    def expected_purchases_unconditional(self, t) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (note eq. 17)."""
        r, alpha, s, beta = self._p()
        t = np.asarray(t, dtype=float)
        return r * beta / alpha * _one_minus_pow_over(np.log(beta / (beta + t)), s - 1.0)

    def probability_of_n_purchases(self, t, n) -> np.ndarray:
        """P(X(t) = n) for a customer picked at random (Fader & Hardie 2006, eq. 3)."""
        r, alpha, s, beta = self._p()
        ts, ns = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=float))
        out = np.array([_p_n(r, alpha, s, beta, ti, int(ni)) for ti, ni in
                        zip(ts.ravel(), ns.ravel(), strict=True)])
        return out.reshape(ts.shape)


def _one_minus_pow_over(log_q, k):
    """(1 - q^k) / k, with its limit -log q at k = 0."""
    if abs(k) < 1e-10:
        return -log_q
    return -np.expm1(k * log_q) / k


def _p_n(r, alpha, s, beta, t, x):
    first = np.exp(gammaln(r + x) - gammaln(r) - gammaln(x + 1) + r * np.log(alpha / (alpha + t))
                   + x * np.log(t / (alpha + t)) + s * np.log(beta / (beta + t)))
    if alpha >= beta:
        b, hi, z1, z2 = s + 1.0, alpha, (alpha - beta) / alpha, (alpha - beta) / (alpha + t)
    else:
        b, hi, z1, z2 = r + x, beta, (beta - alpha) / beta, (beta - alpha) / (beta + t)
    c = r + s + x + 1.0
    b1 = hyp2f1(r + s, b, c, z1) / hi ** (r + s)
    i = np.arange(x + 1, dtype=float)
    coef = np.exp(gammaln(r + s + i) - gammaln(r + s) - gammaln(i + 1) + i * np.log(t)
                  - (r + s + i) * np.log(hi + t))
    b2 = np.sum(coef * hyp2f1(r + s + i, b, c, z2))
    scale = np.exp(r * np.log(alpha) + s * np.log(beta) + betaln(r + x, s + 1) - betaln(r, s))
    return float(first + scale * (b1 - b2))


def simulate(params: dict, n: int, T, seed: int | None = None) -> pd.DataFrame:
    """Customers drawn from the Pareto/NBD process: ``frequency, recency, T, alive``."""
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0 / mu)
    active = np.minimum(lifetime, T)
    x = rng.poisson(lam * active)
    recency = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": recency, "T": T,
                         "alive": lifetime > T})
