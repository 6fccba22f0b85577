"""Customer lifetime value per party: P(alive), expected purchases, expected spend, discounted CLV.

Three models, each fitted on the per-party summary of :func:`prisme.analytics.features.
customer_summary` (frequency, recency, T, monetary_value):

* the purchase process — BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy
  way") by default, or Pareto/NBD (Schmittlein, Morrison & Colombo 1987) — fitted on the
  *unique* (frequency, recency, T) rows with their customer counts;
* the value per purchase — Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 5),
  fitted on repeat buyers with a positive mean value; margin rather than revenue when every
  sale has a known cost (see ``monetary_basis`` in the summary).

Discounted CLV over a horizon of H months, monthly discounting at the annual rate d::

    CLV = E[M] · Σ_{m=1..H} ( E[Y(m·τ)] − E[Y((m−1)·τ)] ) / (1 + d)^(m/12)

where τ is one month in the model's time unit (365.25/12 days), E[Y(t)] the conditional expected
number of repeat purchases in (0, t] (BG/NBD eq. 10; Pareto/NBD eq. 22 of Schmittlein et al.)
and E[M] the Gamma-Gamma conditional expected spend. This is the discrete form of the
discounted expected transactions of Fader, Hardie & Lee (2005, "RFM and CLV", §4: DET =
∫ E[t(t)] e^(−δt) dt), evaluated month by month as in Gupta, Lehmann & Stuart (2004) and the
lifetimes package; the spend being independent of the purchase process (the Gamma-Gamma
assumption) is what allows the product.

The interval ``clv_low`` / ``clv_high`` is the 5th / 95th percentile of CLV over parameter
draws from the asymptotic normal of both models' estimates (``sample_params``): it carries the
uncertainty of the parameters, not the randomness of the customer's future purchases (see
``CustomerValue._interval`` for how a draw is evaluated). When the draws' 5–95 % range does not
contain the point estimate (a skewed, nearly degenerate case) it is widened to contain it, so
``clv_low ≤ clv ≤ clv_high`` always holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prisme.analytics.features import TIME_UNITS

#: purchase models selectable by name
PURCHASE_MODELS = ("bg_nbd", "pareto_nbd")
DAYS_PER_MONTH = 365.25 / 12
_KEY = ["frequency", "recency", "T"]


def _purchase_model_class(name: str):
    from prisme.analytics import models

    classes = {"bg_nbd": "BetaGeo", "pareto_nbd": "ParetoNBD"}
    if name not in classes:
        raise ValueError(f"purchase model must be one of {PURCHASE_MODELS}, not {name!r}")
    return getattr(models, classes[name])


def unique_histories(summary: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct (frequency, recency, T) rows with a ``weights`` count, and each party's row."""
    keys = summary[_KEY].astype(float).reset_index(drop=True)
    grouped = keys.groupby(_KEY, sort=True)
    table = grouped.size().rename("weights").astype(float).reset_index()
    return table, grouped.ngroup().to_numpy()


class CustomerValue:
    """P(alive), expected purchases, expected spend and discounted CLV with an interval.

    Parameters are those of ``[analytics]`` in prisme.toml; ``fit(summary)`` learns
    ``purchase_model_`` and ``spend_model_``; ``predict(summary)`` scores every party.
    """

    def __init__(
        self,
        model: str = "bg_nbd",
        horizon_months: int = 12,
        annual_discount_rate: float = 0.10,
        time_unit: str = "week",
        n_draws: int = 200,
        seed: int = 7,
        penalizer_coef: float = 0.0,
    ):
        self.model = model
        self.horizon_months = horizon_months
        self.annual_discount_rate = annual_discount_rate
        self.time_unit = time_unit
        self.n_draws = n_draws
        self.seed = seed
        self.penalizer_coef = penalizer_coef

    @classmethod
    def from_settings(cls, analytics, **overrides) -> CustomerValue:
        """Build from ``settings.analytics`` (horizon, discount rate, time unit, seed)."""
        kw = dict(
            horizon_months=analytics.clv_horizon_months,
            annual_discount_rate=analytics.annual_discount_rate,
            time_unit=analytics.time_unit,
            seed=analytics.seed,
            n_draws=analytics.clv_interval_draws,
        )
        kw.update(overrides)
        return cls(**kw)

    # ------------------------------------------------------------------ fit
    def fit(self, summary: pd.DataFrame) -> CustomerValue:
        from prisme.analytics.models import GammaGamma

        buyers = _buyers(summary)
        buyers = buyers[buyers["T"] > 0]
        if buyers.empty:
            raise ValueError("no party has a purchase before as_of: there is nothing to fit")
        table, _ = unique_histories(buyers)
        cls = _purchase_model_class(self.model)
        self.purchase_model_ = cls(penalizer_coef=self.penalizer_coef).fit(table, weights="weights")
        repeat = buyers[(buyers.frequency > 0) & (buyers.monetary_value > 0)]
        if len(repeat) < 3:
            raise ValueError(
                f"only {len(repeat)} parties bought more than once with a positive value: "
                "the spend model (Gamma-Gamma) needs repeat buyers"
            )
        self.spend_model_ = GammaGamma(penalizer_coef=self.penalizer_coef).fit(
            repeat[["frequency", "monetary_value"]].reset_index(drop=True)
        )
        self.n_parties_ = len(buyers)
        self.n_unique_histories_ = len(table)
        return self

    # ------------------------------------------------------------------ predict
    def month_length(self) -> float:
        """One month in the model's time unit."""
        return DAYS_PER_MONTH / TIME_UNITS[self.time_unit]

    def _cumulative_purchases(self, model, table: pd.DataFrame) -> np.ndarray:
        """E[Y(m τ)] for m = 1..H (rows) per unique history (columns), in one model call: the
        table is stacked H times with the matching horizon per row."""
        n, h = len(table), self.horizon_months
        stacked = table.iloc[np.tile(np.arange(n), h)].reset_index(drop=True)
        t = np.repeat(np.arange(1, h + 1) * self.month_length(), n)
        return np.asarray(model.expected_purchases(stacked, t), dtype=float).reshape(h, n)

    def _discounted_purchases(self, model, table: pd.DataFrame) -> np.ndarray:
        """Σ_m (E[Y(m τ)] − E[Y((m−1) τ)]) / (1+d)^(m/12) per unique history row."""
        cum = self._cumulative_purchases(model, table)
        increments = np.diff(cum, axis=0, prepend=0.0)
        months = np.arange(1, self.horizon_months + 1)
        factors = (1.0 + self.annual_discount_rate) ** (-months / 12.0)
        return factors @ increments

    def _spend_input(self, buyers: pd.DataFrame) -> pd.DataFrame:
        """Repeat buyers with a positive mean value keep their history; others get the
        population mean (frequency 0)."""
        ok = (buyers.frequency > 0) & (buyers.monetary_value > 0)
        return pd.DataFrame(
            {
                "frequency": np.where(ok, buyers.frequency, 0).astype(float),
                "monetary_value": np.where(ok, buyers.monetary_value, 0.0).astype(float),
            }
        )

    def predict(self, summary: pd.DataFrame) -> pd.DataFrame:
        """One row per party with a purchase: party_id, p_alive, expected_purchases_12m,
        expected_purchases (over the horizon), expected_spend, clv, clv_low, clv_high."""
        if not hasattr(self, "purchase_model_"):
            raise RuntimeError("CustomerValue is not fitted yet: call fit(summary) first")
        buyers = _observed(_buyers(summary), 0.5 / TIME_UNITS[self.time_unit])
        table, codes = unique_histories(buyers)
        pm, sm = self.purchase_model_, self.spend_model_
        spend_in = self._spend_input(buyers)
        spend = np.asarray(sm.expected_spend(spend_in), dtype=float)
        disc = self._discounted_purchases(pm, table)
        out = pd.DataFrame(
            {
                "party_id": buyers["party_id"].to_numpy(),
                "p_alive": np.asarray(pm.probability_alive(table), dtype=float)[codes],
                "expected_purchases_12m": np.asarray(
                    pm.expected_purchases(table, 12 * self.month_length()), dtype=float
                )[codes],
                "expected_purchases": np.asarray(
                    pm.expected_purchases(table, self.horizon_months * self.month_length()),
                    dtype=float,
                )[codes],
                "expected_spend": spend,
                "clv": disc[codes] * spend,
            }
        )
        try:
            low, high = self._interval(table, codes, spend_in, disc)
            self.interval_note_ = None
        except ValueError as exc:  # no usable covariance: say so rather than invent a width
            low = high = np.full(len(codes), np.nan)
            self.interval_note_ = f"CLV interval not computed: {exc}"
        clv = out["clv"].to_numpy()
        out["clv_low"] = np.where(np.isnan(low), np.nan, np.minimum(low, clv))
        out["clv_high"] = np.where(np.isnan(high), np.nan, np.maximum(high, clv))
        return out

    def _interval(self, table, codes, spend_in, disc) -> tuple[np.ndarray, np.ndarray]:
        """5th/95th percentile of CLV over joint parameter draws (vectorised over parties).

        Each draw k gives E_k[Y(H)] (one model call per draw on the unique histories) and the
        spend E_k[M]; its CLV is E_k[M] · E_k[Y(H)] · δ, where δ = discounted / undiscounted
        expected purchases of the point estimate. The draws move the level of a customer's
        expected purchases much more than their timing within the horizon, so δ is kept, and
        the interval costs one model evaluation per draw instead of one per month.
        """
        pm, sm = self.purchase_model_, self.spend_model_
        p_draws = pm.sample_params(self.n_draws, seed=self.seed)
        s_draws = sm.sample_params(self.n_draws, seed=self.seed + 1)
        horizon = self.horizon_months * self.month_length()
        point = np.asarray(pm.expected_purchases(table, horizon), dtype=float)
        delta = np.divide(disc, point, out=np.ones_like(disc), where=point > 0)
        level = np.empty((len(table), self.n_draws))
        spend = np.empty((len(spend_in), self.n_draws))
        for k in range(self.n_draws):
            level[:, k] = pm.with_params(**p_draws.iloc[k].to_dict()).expected_purchases(
                table, horizon
            )
            spend[:, k] = sm.with_params(**s_draws.iloc[k].to_dict()).expected_spend(spend_in)
        level *= delta[:, None]
        low = np.empty(len(codes))
        high = np.empty(len(codes))
        step = max(1, 2_000_000 // max(self.n_draws, 1))  # parties per chunk (~16 MB of floats)
        for start in range(0, len(codes), step):
            sl = slice(start, start + step)
            clv = level[codes[sl]] * spend[sl]
            low[sl], high[sl] = np.percentile(clv, [5.0, 95.0], axis=1)
        return low, high


def _buyers(summary: pd.DataFrame) -> pd.DataFrame:
    """Parties with at least one purchase (frequency known), as float columns."""
    missing = [c for c in ("party_id", *_KEY, "monetary_value") if c not in summary.columns]
    if missing:
        raise ValueError(f"the customer summary lacks column(s) {missing}")
    b = summary[summary.frequency.notna() & summary["T"].notna()].reset_index(drop=True)
    b = b.assign(
        frequency=b.frequency.astype(float),
        recency=b.recency.astype(float),
        T=b["T"].astype(float),
        monetary_value=pd.to_numeric(b.monetary_value, errors="coerce").fillna(0.0).astype(float),
    )
    return b


def _observed(buyers: pd.DataFrame, floor: float) -> pd.DataFrame:
    """A party first seen on the as-of day has T = 0 at day resolution; its purchase happened
    during that day, so it is scored as observed for half a day (``floor``)."""
    return buyers.assign(T=np.maximum(buyers["T"].to_numpy(), floor))
