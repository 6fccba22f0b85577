"""Gamma-Gamma model of the average spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
Journal of Marketing Research 42(4):415-430, and Fader & Hardie (2013), "The Gamma-Gamma Model of
Monetary Value". Each transaction value z ~ Gamma(p, nu) with nu ~ Gamma(q, v) across customers;
the mean spend m of x repeat transactions then has the marginal density of the note's eq. (3),
and E[M | p, q, v, m, x] = (p (v + x m)) / (p x + q - 1) (note eq. 5) is a weighted mean of the
population mean p v / (q - 1) and the customer's own mean m. It assumes spend independent of
purchase frequency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln, polygamma, psi

from prisme.analytics.models.base import (
    FitData,
    ProbabilityModel,
    _numeric_column,
    _rows_where,
    group_unique,
    index_columns,
    row_weights,
    wdot,
)


def _spend_arrays(df: pd.DataFrame, model: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{model}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError(f"{model}: the customer table is empty")
    x = _numeric_column(df, "frequency", model)
    m = _numeric_column(df, "monetary_value", model)
    if (x <= 0).any():
        raise ValueError(
            f"{model}: needs repeat buyers only (frequency >= 1); {_rows_where(df, x <= 0)} have "
            "frequency 0 - pass df[df.frequency > 0]"
        )
    if (m <= 0).any():
        raise ValueError(
            f"{model}: 'monetary_value' (mean spend per repeat purchase) must be > 0; "
            f"{_rows_where(df, m <= 0)} are not"
        )
    return x, m


class GammaGamma(ProbabilityModel):
    """Gamma-Gamma spend model; ``params_`` = {p, q, v}.

    ``fit(df)`` takes repeat buyers with ``frequency`` and ``monetary_value`` (mean value of
    their repeat transactions).
    """

    param_names = ("p", "q", "v")

    def fit(self, df: pd.DataFrame, weights: str | None = "weights") -> GammaGamma:
        """Maximum likelihood on the unique (frequency, monetary_value) rows; returns self."""
        return self._fit_data(self._prepare(df, weights))

    def _prepare(self, df: pd.DataFrame, weights: str | None = "weights") -> FitData:
        model = type(self).__name__
        x, m = _spend_arrays(df, model)
        w = row_weights(df, weights, model)
        if w.sum() <= len(self.param_names):
            raise ValueError(f"{model}: {w.sum():g} repeat buyer(s) cannot identify p, q, v")
        if np.unique(m).size < 2:
            raise ValueError(f"{model}: every customer has the same monetary_value; no spread")
        data = group_unique({"x": x, "m": m}, w)
        index_columns(data, ("x",))
        return data

    def _start(self, data: FitData) -> np.ndarray:
        c, w = data.columns, data.weights
        mean = wdot(w, c["m"]) / w.sum()
        return np.array([2.0, 3.0, 2.0 * mean])

    def _loglik_rows(self, params, data: FitData) -> np.ndarray:
        """log density of the mean spend m of x transactions (note eq. 3, with the Jacobian);
        the gamma functions depend on x only and are computed once per distinct x."""
        p, q, v = params
        ux, ix = data.extra["x"]
        x, m = data.columns["x"], data.columns["m"]
        per_x = (gammaln(p * ux + q) - gammaln(p * ux) - gammaln(q) + q * np.log(v)
                 + p * ux * np.log(ux))[ix]
        return per_x + (p * x - 1) * np.log(m) - (p * x + q) * np.log(v + x * m)

    def _loglik_grad(self, params, data: FitData):
        """Weighted log-likelihood and its analytic gradient in (p, q, v)."""
        p, q, v = params
        ux, ix = data.extra["x"]
        x, m, w = data.columns["x"], data.columns["m"], data.weights
        wx = np.bincount(ix, weights=w, minlength=len(ux))
        log_m, lv = np.log(m), np.log(v + x * m)
        dig = psi(p * ux + q)
        d_p = wdot(wx, ux * (dig - psi(p * ux) + np.log(ux))) + wdot(w * x, log_m - lv)
        d_q = wdot(wx, dig) - wx.sum() * (psi(q) - np.log(v)) - wdot(w, lv)
        d_v = wx.sum() * q / v - wdot(w, (p * x + q) / (v + x * m))
        ll = float(wdot(w, self._loglik_rows(params, data)))
        return ll, np.array([d_p, d_q, d_v])

    @staticmethod
    def _sums(data: FitData) -> dict:
        """Parameter-free pieces, computed once per fit: customers per distinct x, x m and the
        x-weighted row weights, and the sums of w log m and w x log m (the (p x - 1) log m
        term of eq. 3 is p times one plus the other)."""
        if "sums" not in data.extra:
            ux, ix = data.extra["x"]
            x, m, w = data.columns["x"], data.columns["m"], data.weights
            log_m = np.log(m)
            data.extra["sums"] = {
                "wx": np.bincount(ix, weights=w, minlength=len(ux)),
                "xm": x * m, "w_x": w * x, "n": float(w.sum()),
                "s0": wdot(w, log_m), "s1": wdot(w * x, log_m),
            }
        return data.extra["sums"]

    def _loglik_hess(self, params, data: FitData):
        """Weighted log-likelihood (note eq. 3), its gradient and Hessian in (p, q, v): the
        gamma-function terms are sums over distinct x, and each row contributes only through
        log(v + x m) and 1/(v + x m)."""
        p, q, v = params
        ux, _ = data.extra["x"]
        s = self._sums(data)
        wx, w_x, n, w = s["wx"], s["w_x"], s["n"], data.weights
        vxm = v + s["xm"]
        lv, inv = np.log(vxm), 1.0 / vxm
        inv2 = inv * inv
        a_lv, b_lv = wdot(w_x, lv), wdot(w, lv)
        a_inv, b_inv = wdot(w_x, inv), wdot(w, inv)
        pq = p * ux + q
        log_ux = np.log(ux)
        ll = (wdot(wx, gammaln(pq) - gammaln(p * ux) + p * ux * log_ux)
              - n * (gammaln(q) - q * np.log(v)) + p * s["s1"] - s["s0"] - p * a_lv - q * b_lv)
        dig = psi(pq)
        grad = np.array([
            wdot(wx, ux * (dig - psi(p * ux) + log_ux)) + s["s1"] - a_lv,
            wdot(wx, dig) - n * (psi(q) - np.log(v)) - b_lv,
            n * q / v - p * a_inv - q * b_inv,
        ])
        tri = polygamma(1, pq)
        h_pv, h_qv = -a_inv, n / v - b_inv
        h_vv = -n * q / v**2 + p * wdot(w_x, inv2) + q * wdot(w, inv2)
        H = np.array([
            [wdot(wx, ux * ux * (tri - polygamma(1, p * ux))), wdot(wx, ux * tri), h_pv],
            [wdot(wx, ux * tri), wdot(wx, tri) - n * float(polygamma(1, q)), h_qv],
            [h_pv, h_qv, h_vv],
        ])
        return ll, grad, H

    def expected_spend(self, df: pd.DataFrame) -> np.ndarray:
        """E[M | x, m] per customer (note eq. 5); customers without repeat purchase (x = 0)
        get the population mean p v / (q - 1)."""
        p, q, v = self._p()
        model = type(self).__name__
        x = _numeric_column(df, "frequency", model)
        m = _numeric_column(df, "monetary_value", model)
        if (x < 0).any() or (m < 0).any():
            raise ValueError(f"{model}: frequency and monetary_value must be >= 0")
        m = np.where(x > 0, m, 0.0)
        return p * (v + x * m) / (p * x + q - 1.0)

    def population_mean_spend(self) -> float:
        """E[Z] = p v / (q - 1), the mean transaction value across the population."""
        p, q, v = self._p()
        return p * v / (q - 1.0) if q > 1 else float("inf")


def simulate(params: dict, frequency, seed: int | None = None) -> pd.DataFrame:
    """Mean spends drawn from the model for customers with the given repeat ``frequency``
    (each >= 1): ``frequency, monetary_value``."""
    rng = np.random.default_rng(seed)
    p, q, v = (params[k] for k in ("p", "q", "v"))
    x = np.asarray(frequency, dtype=np.int64)
    nu = rng.gamma(q, 1.0 / v, len(x))
    total = rng.gamma(p * x, 1.0 / nu)  # sum of x Gamma(p, nu) transaction values
    return pd.DataFrame({"frequency": x, "monetary_value": total / x})
