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
``clv_low ≤ clv ≤ clv_high`` always holds. Draws outside the parameters' domain or with
non-finite predictions are left out; when they are more than 10 % (a barely identified purchase
model), the interval carries the spend's sampling error only and ``interval_note_`` says so.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from prisme.analytics.features import TIME_UNITS

#: purchase models selectable by name (``[analytics] purchase_model``); "auto" chooses
PURCHASE_MODELS = ("auto", "paretonbd", "bgnbd", "repeat_rate")
_ALIASES = {"pareto_nbd": "paretonbd", "bg_nbd": "bgnbd", "repeatrate": "repeat_rate"}
_CLASSES = {"bgnbd": "BetaGeo", "paretonbd": "ParetoNBD", "repeat_rate": "RepeatRate"}
#: what each model is called in sentences
MODEL_NAMES = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD", "repeat_rate": "repeat-rate model",
               "none": "no purchase model"}
#: the models "auto" chooses from: those in which a one-time buyer's P(alive) falls with the
#: time since their purchase (BG/NBD holds every customer without a repeat purchase alive for
#: sure, so it is used only when asked for by name)
AUTO_CANDIDATES = ("paretonbd", "repeat_rate")
DAYS_PER_MONTH = 365.25 / 12
_KEY = ["frequency", "recency", "T"]


def model_key(name: str) -> str:
    """The canonical key of a purchase model name (``bg_nbd`` → ``bgnbd``)."""
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in PURCHASE_MODELS:
        raise ValueError(f"purchase model must be one of {PURCHASE_MODELS} "
                         f"(or pareto_nbd, bg_nbd), not {name!r}")
    return key


def _purchase_model_class(name: str):
    from prisme.analytics import models

    key = model_key(name)
    if key == "auto":
        raise ValueError("'auto' is a choice among models, not a model: see CustomerValue")
    return getattr(models, _CLASSES[key])


def unique_histories(summary: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct (frequency, recency, T) rows with a ``weights`` count, and each party's row."""
    keys = summary[_KEY].astype(float).reset_index(drop=True)
    grouped = keys.groupby(_KEY, sort=True)
    table = grouped.size().rename("weights").astype(float).reset_index()
    return table, grouped.ngroup().to_numpy()


def _each(fn, items, workers: int) -> None:
    """``fn(item)`` for each item, on ``workers`` threads (in order on one)."""
    if workers == 1 or len(items) <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        list(pool.map(fn, items))


class CustomerValue:
    """P(alive), expected purchases, expected spend and discounted CLV with an interval.

    Parameters are those of ``[analytics]`` in prisme.toml; ``fit(summary)`` learns
    ``purchase_model_`` and ``spend_model_``; ``predict(summary)`` scores every party.
    """

    def __init__(
        self,
        model: str = "auto",
        horizon_months: int = 12,
        annual_discount_rate: float = 0.10,
        time_unit: str = "week",
        n_draws: int = 200,
        seed: int = 7,
        penalizer_coef: float = 0.0,
        n_jobs: int | None = None,
    ):
        self.model = model
        self.horizon_months = horizon_months
        self.annual_discount_rate = annual_discount_rate
        self.time_unit = time_unit
        self.n_draws = n_draws
        self.seed = seed
        self.penalizer_coef = penalizer_coef
        #: threads evaluating the interval's parameter draws (None: one per core); the
        #: result does not depend on it (each draw fills its own column)
        self.n_jobs = n_jobs

    @classmethod
    def from_settings(cls, analytics, **overrides) -> CustomerValue:
        """Build from ``settings.analytics`` (horizon, discount rate, time unit, seed)."""
        kw = dict(
            horizon_months=analytics.clv_horizon_months,
            annual_discount_rate=analytics.annual_discount_rate,
            time_unit=analytics.time_unit,
            seed=analytics.seed,
            n_draws=analytics.clv_interval_draws,
            model=getattr(analytics, "purchase_model", "auto"),
            penalizer_coef=getattr(analytics, "penalizer_coef", 0.0),
        )
        kw.update(overrides)
        return cls(**kw)

    # ------------------------------------------------------------------ fit
    def fit(self, summary: pd.DataFrame) -> CustomerValue:
        """Choose and fit the purchase model (see :meth:`_choose`) and the spend model.

        Learns ``purchase_model_`` (None when nobody bought twice), ``purchase_model_key_``,
        ``candidates_`` (per model tried: its BIC, or why it was not usable), ``spend_model_``
        and ``notes_`` — sentences saying what was done and why, for the build summary.
        """
        buyers = _buyers(summary)
        buyers = buyers[buyers["T"] > 0]
        if buyers.empty:
            raise ValueError("no party has a purchase before as_of: there is nothing to fit")
        table, _ = unique_histories(buyers)
        self.notes_: list[str] = []
        n = len(buyers)
        repeaters = int((buyers.frequency > 0).sum())
        self.repeat_share_ = repeaters / n
        self._choose(table, n, repeaters)
        self._fit_spend(buyers)
        self.n_parties_ = n
        self.n_unique_histories_ = len(table)
        return self

    def _usable(self, model, table: pd.DataFrame) -> str | None:
        """Why a fitted purchase model cannot be used (None when it can): its predictions
        must be finite for every history over the horizon, and its parameters must have a
        covariance to draw the CLV interval from."""
        try:
            alive = np.asarray(model.probability_alive(table), dtype=float)
            disc = self._discounted_purchases(model, table)
        except (ValueError, FloatingPointError, OverflowError) as exc:
            return f"its predictions fail ({exc})"
        bad = ~np.isfinite(alive) | ~np.isfinite(disc)
        if bad.any():
            return (f"its predictions are not finite for {int(bad.sum())} of {len(table)} "
                    "purchase histories (the parameters run to extreme values)")
        if not np.all(np.isfinite(model.log_covariance_)):
            return "its parameters' uncertainty cannot be computed (flat likelihood)"
        return None

    def _try(self, key: str, table: pd.DataFrame, n: int):
        """Fit one model; returns (model, BIC) or (None, reason)."""
        import warnings

        from prisme.analytics.models import ConvergenceWarning

        cls = _purchase_model_class(key)
        kwargs = {} if key == "repeat_rate" else {"penalizer_coef": self.penalizer_coef}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                with np.errstate(all="ignore"):
                    model = cls(**kwargs).fit(table, weights="weights")
        except (ValueError, RuntimeError) as exc:
            return None, str(exc).split(": ", 1)[-1]
        with np.errstate(all="ignore"):
            why = self._usable(model, table)
        if why is not None:
            return None, why
        k = len(model.param_names)
        return model, float(k * np.log(n) - 2.0 * model.log_likelihood_)

    def _choose(self, table: pd.DataFrame, n: int, repeaters: int) -> None:
        """The purchase model, by a stated criterion.

        * A model asked for by name is used when it fits and is usable (:meth:`_usable`);
          otherwise the note says why and "auto" chooses.
        * "auto" fits the models in which a one-time buyer's P(alive) falls with time
          (Pareto/NBD and the repeat-rate model) and keeps, among the usable ones, the one
          with the lowest BIC (k log n − 2 log L: the likelihood, less a charge for each
          parameter; Pareto/NBD's four parameters must buy more likelihood than the
          repeat-rate model's two).
        * Nobody bought twice: no model can tell the purchase rate from dropout; expected
          purchases and CLV are 0 (value = the first order) and P(alive) is left empty.
        """
        share = f"{repeaters / n:.1%} of the {n:,} buyers ({repeaters:,}) bought again"
        self.candidates_: dict[str, object] = {}
        asked = model_key(self.model)
        if repeaters == 0:
            self.purchase_model_ = None
            self.purchase_model_key_ = "none"
            self.notes_.append(
                f"nobody of the {n:,} buyers bought twice: no purchase model can tell how often "
                "customers buy from how soon they leave; expected purchases and CLV are 0 "
                "(value = the first order, already earned) and P(alive) is left empty")
            return
        if asked != "auto":
            model, result = self._try(asked, table, n)
            self.candidates_[asked] = result
            if model is not None:
                self.purchase_model_, self.purchase_model_key_ = model, asked
                self.notes_.append(f"{share}; purchase model {MODEL_NAMES[asked]} (as configured)")
                return
            self.notes_.append(f"{MODEL_NAMES[asked]} (configured) cannot be used: {result}")
        fitted = {}
        for key in AUTO_CANDIDATES:
            if key == asked:
                continue
            model, result = self._try(key, table, n)
            self.candidates_[key] = result
            if model is not None:
                fitted[key] = (model, result)
        if not fitted:
            raise ValueError("no purchase model could be fitted: " + "; ".join(
                f"{MODEL_NAMES[k]}: {v}" for k, v in self.candidates_.items()))
        key = min(fitted, key=lambda k: fitted[k][1])
        self.purchase_model_, self.purchase_model_key_ = fitted[key][0], key
        others = [f"{MODEL_NAMES[k]} " + (f"BIC {v:,.0f}" if isinstance(v, float) else
                                          f"not usable: {v}")
                  for k, v in self.candidates_.items() if k not in (key, asked)]
        self.notes_.append(
            f"{share}; purchase model {MODEL_NAMES[key]} (auto: lowest BIC "
            f"{fitted[key][1]:,.0f} among the models where a one-time buyer's P(alive) falls "
            f"with time{'; ' + '; '.join(others) if others else ''})")
        if repeaters / n < 0.05:
            self.notes_.append("so few repeat purchases: a customer's value is close to their "
                               "first order; expected purchases are small and uncertain")

    def _fit_spend(self, buyers: pd.DataFrame) -> None:
        """Gamma-Gamma on the repeat buyers with a positive mean value; with fewer than 20 of
        them, or a fit that fails, the mean value of an order over all buyers (the first
        order counts: it is all a one-time buyer shows), said in a note."""
        from prisme.analytics.models import GammaGamma

        repeat = buyers[(buyers.frequency > 0) & (buyers.monetary_value > 0)]
        reason = f"only {len(repeat)} repeat buyer(s) with a positive value"
        if len(repeat) >= 20:
            try:
                with np.errstate(all="ignore"):
                    self.spend_model_ = GammaGamma(penalizer_coef=self.penalizer_coef).fit(
                        repeat[["frequency", "monetary_value"]].reset_index(drop=True))
                return
            except (ValueError, RuntimeError) as exc:
                reason = f"Gamma-Gamma cannot be fitted ({exc})"
        self.spend_model_ = MeanOrderValue().fit(buyers)
        self.notes_.append(f"spend per order: {reason}; the mean order value of all buyers "
                           f"({self.spend_model_.params_['mean_order_value']:,.2f}) is used")

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
        if pm is None:  # nobody bought twice (see _choose): no repeat purchase expected
            zero = np.zeros(len(buyers))
            self.interval_note_ = None
            return pd.DataFrame({
                "party_id": buyers["party_id"].to_numpy(), "p_alive": np.full(len(buyers), None,
                                                                              dtype=object),
                "expected_purchases_12m": zero, "expected_purchases": zero,
                "expected_spend": spend, "clv": zero, "clv_low": zero, "clv_high": zero,
            }).astype({"p_alive": float})
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
            self.interval_note_ = None
            low, high = self._interval(table, codes, spend_in, disc)
        except ValueError as exc:  # no usable covariance: say so rather than invent a width
            low = high = np.full(len(codes), np.nan)
            self.interval_note_ = f"CLV interval not computed: {exc}"
        clv = out["clv"].to_numpy()
        out["clv_low"] = np.where(np.isnan(low), np.nan, np.minimum(low, clv))
        out["clv_high"] = np.where(np.isnan(high), np.nan, np.maximum(high, clv))
        return out

    #: values of one chunk of the interval's (parties × draws) matrix (~80 MB of float64)
    _chunk_cells = 10_000_000

    def _interval(self, table, codes, spend_in, disc) -> tuple[np.ndarray, np.ndarray]:
        """5th/95th percentile of CLV over joint parameter draws (vectorised over parties).

        Each draw k gives E_k[Y(H)] (one model call per draw on the unique histories) and the
        spend E_k[M]; its CLV is E_k[M] · E_k[Y(H)] · δ, where δ = discounted / undiscounted
        expected purchases of the point estimate. The draws move the level of a customer's
        expected purchases much more than their timing within the horizon, so δ is kept, and
        the interval costs one model evaluation per draw instead of one per month.

        A draw of the purchase model whose parameters leave the domain (0 or infinity once
        exponentiated: a nearly flat likelihood gives log-parameter variances of thousands) or
        whose predictions are not finite is unusable. When fewer than 90 % of the draws are
        usable the purchase parameters' uncertainty cannot be propagated: the level is held at
        the point estimate and the interval carries the spend's sampling error only; either
        way ``interval_note_`` says so. Never NaN.
        """
        pm, sm = self.purchase_model_, self.spend_model_
        p_draws = pm.sample_params(self.n_draws, seed=self.seed)
        try:  # a spend model without usable covariance is fixed
            s_draws = sm.sample_params(self.n_draws, seed=self.seed + 1)
        except (AttributeError, ValueError):
            s_draws = None
        horizon = self.horizon_months * self.month_length()
        point = np.asarray(pm.expected_purchases(table, horizon), dtype=float)
        delta = np.divide(disc, point, out=np.ones_like(disc), where=point > 0)
        level = np.empty((len(table), self.n_draws))
        usable = np.zeros(self.n_draws, dtype=bool)

        def draw(k: int) -> None:
            params = p_draws.iloc[k].to_numpy(dtype=float)
            if np.all(np.isfinite(params)) and np.all(params > 0):
                with np.errstate(all="ignore"):
                    level[:, k] = pm.with_params(**p_draws.iloc[k].to_dict()).expected_purchases(
                        table, horizon
                    )
                usable[k] = np.all(np.isfinite(level[:, k]))

        # scipy's special functions release the interpreter lock: the draws run side by side
        # (at 1M parties, 200 draws took 51 s on one core; bench/RESULTS.md)
        workers = max(1, min(int(self.n_jobs or os.cpu_count() or 1), self.n_draws))
        _each(draw, range(self.n_draws), workers)
        # the spend of each draw is evaluated per chunk of parties below, never as one
        # parties × draws matrix (1M parties × 200 draws: 1.6 GB, and as much again for a copy)
        spend_models = ([sm] * self.n_draws if s_draws is None else
                        [sm.with_params(**s_draws.iloc[k].to_dict())
                         for k in range(self.n_draws)])
        name = MODEL_NAMES.get(getattr(self, "purchase_model_key_", ""), type(pm).__name__)
        n_bad = int((~usable).sum())
        spend_kind = ("no spend uncertainty" if s_draws is None else
                      "the uncertainty of the spend per order only")
        if n_bad and usable.sum() < 0.9 * self.n_draws:
            level[:] = point[:, None]
            self.interval_note_ = (
                f"CLV interval: {n_bad} of {self.n_draws} parameter draws of the {name} fall "
                "outside its domain or give non-finite predictions (its parameters are barely "
                f"identified by these data), so the interval carries {spend_kind}, not the "
                "uncertainty of the expected purchases")
        elif n_bad:
            level[:, ~usable] = np.nan
            self.interval_note_ = (
                f"CLV interval: {n_bad} of {self.n_draws} parameter draws of the {name} fall "
                "outside its domain or give non-finite predictions and are left out")
        level *= delta[:, None]
        # a draw left out is NaN for every party: drop its column, so that the quantiles of
        # the rows without any other NaN run vectorised (numpy's nanpercentile along an axis
        # loops over the rows in Python as soon as a row holds a NaN: minutes at 1M parties)
        keep = ~np.isnan(level).all(axis=0) if n_bad else np.ones(self.n_draws, dtype=bool)
        level = level[:, keep]
        kept = [spend_models[k] for k in np.flatnonzero(keep)]
        low = np.empty(len(codes))
        high = np.empty(len(codes))
        step = max(1, self._chunk_cells // max(self.n_draws, 1))  # parties per chunk

        def chunk(start: int) -> None:
            sl = slice(start, start + step)
            part = spend_in.iloc[sl]
            spend = np.column_stack([np.asarray(m.expected_spend(part), dtype=float)
                                     for m in kept])
            clv = level[codes[sl]] * spend
            holes = np.isnan(clv).any(axis=1)
            lo, hi = np.percentile(clv, [5.0, 95.0], axis=1)  # NaN where a row has a hole
            if holes.any():  # the rows with a missing value of their own: numpy's slow path
                lo[holes], hi[holes] = np.nanpercentile(clv[holes], [5.0, 95.0], axis=1)
            low[sl], high[sl] = lo, hi

        # numpy's partition and scipy's gammaln release the lock too
        _each(chunk, range(0, len(codes), step), workers)
        return low, high


class MeanOrderValue:
    """The spend per order when Gamma-Gamma cannot be fitted (too few repeat buyers): the
    mean value of an order over all buyers, first orders included — the same for every
    customer. ``fit(buyers)`` reads ``revenue`` (or ``margin`` when ``monetary_basis`` says
    so) and ``orders`` when present, else the repeat buyers' ``monetary_value``."""

    def fit(self, buyers: pd.DataFrame) -> MeanOrderValue:
        basis = (str(buyers.monetary_basis.iloc[0]) if "monetary_basis" in buyers.columns
                 and len(buyers) else "revenue")
        column = "margin" if basis == "margin" and "margin" in buyers.columns else "revenue"
        if column in buyers.columns and "orders" in buyers.columns:
            orders = pd.to_numeric(buyers.orders, errors="coerce").to_numpy(dtype=float)
            total = pd.to_numeric(buyers[column], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(orders) & np.isfinite(total) & (orders > 0)
            value = float(total[ok].sum() / orders[ok].sum()) if ok.any() else 0.0
            se = _ratio_standard_error(total[ok], orders[ok])
        else:
            m = buyers.monetary_value.to_numpy(dtype=float)
            m = m[m > 0]
            value = float(m.mean()) if len(m) else 0.0
            se = float(m.std(ddof=1) / np.sqrt(len(m))) if len(m) > 1 else 0.0
        self.params_ = {"mean_order_value": max(value, 0.0) if np.isfinite(value) else 0.0}
        #: sampling error of the mean order value (0 when it cannot be estimated)
        self.standard_error_ = se if np.isfinite(se) else 0.0
        return self

    def sample_params(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` draws of the mean order value from the normal of its sampling error (held at
        >= 0), for the CLV interval."""
        if not hasattr(self, "params_"):
            raise RuntimeError("MeanOrderValue is not fitted yet: call fit(buyers) first")
        rng = np.random.default_rng(seed)
        draws = rng.normal(self.params_["mean_order_value"], self.standard_error_, size=n)
        return pd.DataFrame({"mean_order_value": np.maximum(draws, 0.0)})

    def with_params(self, **params: float) -> MeanOrderValue:
        """A copy carrying another mean order value (one ``sample_params`` draw)."""
        other = MeanOrderValue()
        other.params_ = {"mean_order_value": float(params["mean_order_value"])}
        other.standard_error_ = self.standard_error_
        return other

    def expected_spend(self, df: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise RuntimeError("MeanOrderValue is not fitted yet: call fit(buyers) first")
        return np.full(len(df), self.params_["mean_order_value"])


def _ratio_standard_error(total: np.ndarray, orders: np.ndarray) -> float:
    """Standard error of the ratio estimator sum(total) / sum(orders) over customers."""
    n = len(total)
    if n < 2 or orders.sum() <= 0:
        return 0.0
    ratio = total.sum() / orders.sum()
    resid = total - ratio * orders
    se = float(np.sqrt(np.sum(resid**2) / (n * (n - 1))) / orders.mean())
    return se if np.isfinite(se) else 0.0


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
