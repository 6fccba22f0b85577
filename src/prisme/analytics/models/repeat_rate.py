"""Repeat rate: one purchase rate and one dropout rate for the whole base (no heterogeneity).

The individual-level model under Pareto/NBD (Schmittlein, Morrison & Colombo 1987, assumptions
(i)-(iii); Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model and Related
Expressions", eqs. 1-4) with a single purchase rate lambda and a single dropout rate mu shared
by every customer: while alive a customer buys at Poisson rate lambda; their lifetime is
exponential with rate mu. With x repeat purchases, the last at t_x, observed until T (note
eq. 4)::

    L(lambda, mu | x, t_x, T) = lambda^x e^-(lambda+mu)T
                                + lambda^x mu/(lambda+mu) [e^-(lambda+mu)t_x - e^-(lambda+mu)T]

    P(alive | x, t_x, T) = 1 / (1 + mu/(lambda+mu) [e^(lambda+mu)(T-t_x) - 1])      (note eq. 5)

    E[Y(t) | x, t_x, T] = P(alive) * lambda/mu * (1 - e^-mu t)

It is the fallback of the automatic purchase-model choice (``prisme.analytics.clv``) when the
heterogeneous models are not identified: two parameters, both estimable from the pooled repeat
purchases and the gaps since them, as soon as one customer has bought again. A one-time
buyer's P(alive) falls with the time since their purchase.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prisme.analytics.models.base import (
    FitData,
    ProbabilityModel,
    rfm_arrays,
    unique_histories,
    wdot,
)


def _log_alive(lam, mu, t_x, T):
    """log P(alive | x, t_x, T) (note eq. 5), computed as log(lambda+mu) - log(lambda +
    mu e^d) with d = (lambda+mu)(T - t_x), so long gaps do not overflow."""
    d = (lam + mu) * (T - t_x)
    return np.log(lam + mu) - np.logaddexp(np.log(lam), np.log(mu) + d)


class RepeatRate(ProbabilityModel):
    """Homogeneous Poisson purchasing with exponential lifetimes; ``params_`` =
    {lambda_, mu} (purchase and dropout rates per time unit). ``fit(df)`` takes
    ``frequency, recency, T`` (and optionally ``weights``)."""

    param_names = ("lambda_", "mu")

    def fit(self, df: pd.DataFrame, weights: str | None = "weights") -> RepeatRate:
        """Maximum likelihood on the unique (frequency, recency, T) rows; returns self."""
        return self._fit_frame(df, weights)

    def _prepare(self, df: pd.DataFrame, weights: str | None = "weights") -> FitData:
        return unique_histories(df, weights, type(self).__name__)

    def _start(self, data: FitData) -> np.ndarray:
        c, w = data.columns, data.weights
        rate = max(wdot(w, c["x"]) / max(wdot(w, c["T"]), 1e-12), 1e-6)
        return np.array([rate, rate])

    def _loglik_rows(self, params, data: FitData) -> np.ndarray:
        """log L per row (note eq. 4): x log lambda - (lambda+mu) T + log(lambda + mu e^d)
        - log(lambda+mu), d = (lambda+mu)(T - t_x)."""
        lam, mu = params
        c = data.columns
        x, t_x, T = c["x"], c["t_x"], c["T"]
        d = (lam + mu) * (T - t_x)
        return (x * np.log(lam) - (lam + mu) * T + np.logaddexp(np.log(lam), np.log(mu) + d)
                - np.log(lam + mu))

    # ------------------------------------------------------------------ predictions
    def probability_alive(self, df: pd.DataFrame) -> np.ndarray:
        """P(alive | x, t_x, T) (note eq. 5)."""
        lam, mu = self._p()
        _, t_x, T = rfm_arrays(df, type(self).__name__)
        return np.exp(_log_alive(lam, mu, t_x, T))

    def expected_purchases(self, df: pd.DataFrame, t) -> np.ndarray:
        """E[Y(t) | x, t_x, T] = P(alive) lambda/mu (1 - e^-mu t): purchases in the next t."""
        lam, mu = self._p()
        t = np.asarray(t, dtype=float)
        return self.probability_alive(df) * lam * -np.expm1(-mu * t) / mu

    def expected_purchases_unconditional(self, t) -> np.ndarray:
        """E[X(t)] = lambda/mu (1 - e^-mu t) for a customer alive at 0."""
        lam, mu = self._p()
        return lam * -np.expm1(-mu * np.asarray(t, dtype=float)) / mu


def simulate(params: dict, n: int, T, seed: int | None = None) -> pd.DataFrame:
    """Customers drawn from the model: ``frequency, recency, T, alive``."""
    rng = np.random.default_rng(seed)
    lam, mu = params["lambda_"], params["mu"]
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lifetime = rng.exponential(1.0 / mu, n)
    active = np.minimum(lifetime, T)
    x = rng.poisson(lam * active)
    recency = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": recency, "T": T,
                         "alive": lifetime > T})
