"""Forecasts of a monthly series (revenue, orders) with a backtest that says how far to trust them.

* :class:`SeasonalARIMA` — Box & Jenkins' seasonal ARIMA(p,d,q)(P,D,Q)[s], fitted by exact
  maximum likelihood (statsmodels' state-space ``SARIMAX``); ``log=True`` fits log(y) (the
  airline model of Box & Jenkins 1976, §9.2, is ``SeasonalARIMA((0,1,1), (0,1,1,12), log=True)``)
  and forecasts the median exp(mean of log y) with the interval exponentiated.
* :class:`ExponentialSmoothing` — Holt–Winters as the innovations state-space ETS model of
  Hyndman et al. (2008) (statsmodels ``ETSModel``), additive damped trend, additive or
  multiplicative season, with prediction intervals.
* :class:`SeasonalNaive` — next year's month = this year's month: the baseline any forecast
  must beat.
* :func:`backtest` — rolling-origin evaluation (Tashman 2000): refit on the history up to each
  origin, forecast ``horizon`` months, compare with what happened; MAPE and MASE (Hyndman &
  Koehler 2006, scaled by the in-sample seasonal-naive error).
* :func:`choose` — the candidate with the lowest backtest MASE, reported next to the baseline.

Every model has the scikit-learn shape: parameters in ``__init__``, ``fit(y)`` returns self,
learned values end in ``_`` (``params_`` with statsmodels' names: ``ma.L1``, ``ma.S.L12``,
``sigma2``, ``smoothing_level``…), ``predict(h)`` → DataFrame ``mean, lower, upper``. A series
too short for a model raises :class:`SeriesTooShort` saying how many observations it needs.
"""

from __future__ import annotations

import abc
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from prisme.analytics.findings import encode, finding


class SeriesTooShort(ValueError):
    """The series has fewer observations than the model needs (``n`` of ``needed``, when
    known)."""

    def __init__(self, message: str, n: int | None = None, needed: int | None = None) -> None:
        super().__init__(message)
        self.n, self.needed = n, needed


def _as_series(y) -> pd.Series:
    s = y.copy() if isinstance(y, pd.Series) else pd.Series(np.asarray(y, dtype=float))
    s = s.astype(float)
    if s.isna().any():
        raise ValueError(f"the series has {int(s.isna().sum())} missing values; fill or drop "
                         "them before forecasting (a month without sales is 0, not missing)")
    if isinstance(s.index, pd.DatetimeIndex) and s.index.freq is None:
        freq = pd.infer_freq(s.index) if len(s) > 2 else None
        if freq is not None:
            s.index = s.index.to_period(freq)
    return s


def _future_index(s: pd.Series, h: int):
    idx = s.index
    if isinstance(idx, pd.PeriodIndex):
        return pd.period_range(idx[-1] + 1, periods=h, freq=idx.freq)
    if isinstance(idx, pd.DatetimeIndex) and idx.freq is not None:
        return pd.date_range(idx[-1] + idx.freq, periods=h, freq=idx.freq)
    start = int(idx[-1]) + 1 if len(idx) and pd.api.types.is_integer_dtype(idx) else len(s)
    return pd.RangeIndex(start, start + h)


class Forecaster(BaseEstimator, abc.ABC):
    """Shared shape: ``fit(y)``, ``predict(h)`` → ``mean, lower, upper``; ``min_length``."""

    alpha: float = 0.05
    log: bool = False

    @abc.abstractmethod
    def min_length(self) -> int:
        """The shortest series the model can be fitted on."""

    def _check(self, s: pd.Series) -> None:
        need = self.min_length()
        if len(s) < need:
            raise SeriesTooShort(
                f"{type(self).__name__}: the series has {len(s)} observations; this model needs "
                f"at least {need} ({self._why_length()}). Forecast a longer history or use "
                "SeasonalNaive.", n=len(s), needed=need)
        if self.log and (s <= 0).any():
            raise ValueError(f"{type(self).__name__}(log=True): the series has values ≤ 0 "
                             f"(first at {s.index[int(np.argmax((s <= 0).to_numpy()))]}); "
                             "use log=False")

    def _why_length(self) -> str:
        return "its parameters need data to be estimated"

    def fit(self, y) -> Forecaster:
        s = _as_series(y)
        self._check(s)
        self.y_ = s
        z = np.log(s) if self.log else s
        # one BLAS thread: these are small problems, and threads fighting over a busy
        # machine's cores made a 36-point SARIMAX fit ten times slower
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")
            self._fit(z)
        return self

    def predict(self, h: int) -> pd.DataFrame:
        if not hasattr(self, "y_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(y)")
        if int(h) < 1:
            raise ValueError("predict(h): h is the number of periods ahead, at least 1")
        with threadpool_limits(1):
            mean, lower, upper = self._predict(int(h))
        out = pd.DataFrame({"mean": mean, "lower": lower, "upper": upper},
                           index=_future_index(self.y_, int(h)))
        return np.exp(out) if self.log else out

    @abc.abstractmethod
    def _fit(self, z: pd.Series) -> None:
        """Fit on the (transformed) series."""

    @abc.abstractmethod
    def _predict(self, h: int):
        """Mean, lower and upper for the next ``h`` periods (transformed scale)."""


class SeasonalARIMA(Forecaster):
    """Seasonal ARIMA(p,d,q)(P,D,Q)[s] by exact maximum likelihood (Box & Jenkins 1976; the
    state-space form of Durbin & Koopman 2012 as implemented by statsmodels' ``SARIMAX``).

    ``params_`` uses statsmodels' names (``ar.L1``, ``ma.L1``, ``ar.S.L12``, ``ma.S.L12``,
    ``sigma2``); ``log_likelihood_``, ``aic_``. On AirPassengers,
    ``SeasonalARIMA((0,1,1), (0,1,1,12), log=True)`` gives ma.L1 = −0.402, ma.S.L12 = −0.557,
    σ² = 0.001348, log-likelihood 244.7 (Box & Jenkins' airline model)."""

    def __init__(self, order=(0, 1, 1), seasonal_order=(0, 1, 1, 12), log: bool = False,
                 alpha: float = 0.05):
        self.order = order
        self.seasonal_order = seasonal_order
        self.log = log
        self.alpha = alpha

    def min_length(self) -> int:
        p, d, q = self.order
        P, D, Q, s = self.seasonal_order
        return d + D * s + p + q + P + Q + 10

    def _why_length(self) -> str:
        return "the differencing uses up d + D·s observations, and ten more are needed to estimate the p + q + P + Q coefficients"

    def _fit(self, z: pd.Series) -> None:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        model = SARIMAX(z.to_numpy(), order=tuple(self.order),
                        seasonal_order=tuple(self.seasonal_order))
        self.result_ = model.fit(disp=0)
        self.params_ = dict(zip(model.param_names, map(float, self.result_.params), strict=True))
        self.log_likelihood_ = float(self.result_.llf)
        self.aic_ = float(self.result_.aic)

    def _predict(self, h: int):
        f = self.result_.get_forecast(h)
        ci = np.asarray(f.conf_int(alpha=self.alpha))
        return np.asarray(f.predicted_mean), ci[:, 0], ci[:, 1]


class ExponentialSmoothing(Forecaster):
    """Holt–Winters exponential smoothing as the ETS state-space model (Hyndman, Koehler, Ord &
    Snyder 2008): error ``"add"``, trend ``"add"`` (damped by default) or None, season
    ``"add"``, ``"mul"`` or None of ``seasonal_periods``; maximum likelihood, with prediction
    intervals from the model. ``params_``: ``smoothing_level``, ``smoothing_trend``,
    ``smoothing_seasonal``, ``damping_trend``, initial states (statsmodels' names)."""

    def __init__(self, trend: str | None = "add", damped: bool = True,
                 seasonal: str | None = "add", seasonal_periods: int = 12, log: bool = False,
                 alpha: float = 0.05):
        self.trend = trend
        self.damped = damped
        self.seasonal = seasonal
        self.seasonal_periods = seasonal_periods
        self.log = log
        self.alpha = alpha

    def min_length(self) -> int:
        return 2 * self.seasonal_periods + 2 if self.seasonal else 6

    def _why_length(self) -> str:
        return ("two full seasons to separate the season from the trend" if self.seasonal
                else "a level and a trend to estimate")

    def _check(self, s: pd.Series) -> None:
        super()._check(s)
        if self.seasonal == "mul" and not self.log and (s <= 0).any():
            raise ValueError("ExponentialSmoothing(seasonal='mul') needs a positive series; "
                             "use seasonal='add'")

    def _fit(self, z: pd.Series) -> None:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        model = ETSModel(pd.Series(z.to_numpy()), error="add", trend=self.trend,
                         damped_trend=bool(self.damped and self.trend),
                         seasonal=self.seasonal,
                         seasonal_periods=self.seasonal_periods if self.seasonal else None)
        self.result_ = model.fit(disp=0)
        self.params_ = dict(zip(model.param_names, map(float, self.result_.params), strict=True))
        self.log_likelihood_ = float(self.result_.llf)
        self.aic_ = float(self.result_.aic)

    def _predict(self, h: int):
        n = len(self.y_)
        f = self.result_.get_prediction(start=n, end=n + h - 1).summary_frame(alpha=self.alpha)
        return f["mean"].to_numpy(), f["pi_lower"].to_numpy(), f["pi_upper"].to_numpy()


class SeasonalNaive(Forecaster):
    """ŷ(t+h) = y(t+h−k·s), the same month last year; the interval widens with the number of
    seasons ahead k (σ of the seasonal differences × √k, Hyndman & Athanasopoulos §5.5)."""

    def __init__(self, seasonal_periods: int = 12, log: bool = False, alpha: float = 0.05):
        self.seasonal_periods = seasonal_periods
        self.log = log
        self.alpha = alpha

    def min_length(self) -> int:
        return self.seasonal_periods + 1

    def _why_length(self) -> str:
        return "one full season to repeat, and one more observation to measure its error"

    def _fit(self, z: pd.Series) -> None:
        s = self.seasonal_periods
        v = z.to_numpy()
        self.last_season_ = v[-s:]
        diffs = v[s:] - v[:-s]
        self.sigma_ = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else 0.0
        self.params_ = {"sigma": self.sigma_}

    def _predict(self, h: int):
        from scipy import stats

        s = self.seasonal_periods
        i = np.arange(h)
        mean = self.last_season_[i % s]
        half = stats.norm.ppf(1 - self.alpha / 2) * self.sigma_ * np.sqrt(i // s + 1)
        return mean, mean - half, mean + half


# -------------------------------------------------------------------------- backtest
@dataclass
class Backtest:
    """Rolling-origin errors of one model: ``mape`` (%), ``mase``, ``folds`` (origins used)
    and the per-point ``errors`` (origin, step, actual, forecast)."""

    model: str
    mape: float
    mase: float
    folds: int
    errors: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _scale(train: np.ndarray, s: int) -> float:
    """MASE denominator: in-sample mean absolute error of the seasonal naive (naive if the
    training set is shorter than a season plus one)."""
    lag = s if len(train) > s else 1
    d = np.abs(train[lag:] - train[:-lag])
    return float(d.mean()) if len(d) and d.mean() > 0 else np.nan


def backtest(model: Forecaster, y, *, horizon: int = 3, folds: int = 4,
             seasonal_periods: int = 12, name: str | None = None) -> Backtest:
    """Refit ``model`` at ``folds`` origins (the last one leaving ``horizon`` observations) and
    score its forecasts. Origins whose history is too short for the model are skipped; with
    none left, :class:`SeriesTooShort`."""
    s = _as_series(y).reset_index(drop=True)
    n = len(s)
    rows = []
    from sklearn.base import clone

    for k in range(folds):
        origin = n - horizon - k
        if origin < max(model.min_length(), 2):
            break
        train = s.iloc[:origin]
        fc = clone(model).fit(train).predict(horizon)["mean"].to_numpy()
        actual = s.iloc[origin:origin + horizon].to_numpy()
        scale = _scale(train.to_numpy(), seasonal_periods)
        for step, (a, f) in enumerate(zip(actual, fc, strict=True), start=1):
            rows.append({"origin": origin, "step": step, "actual": a, "forecast": f,
                         "scaled_error": abs(a - f) / scale if scale == scale else np.nan})
    label = name or type(model).__name__
    if not rows:
        raise SeriesTooShort(f"backtest of {label}: {n} observations leave no origin with the "
                             f"{model.min_length()} the model needs plus {horizon} to check",
                             n=n, needed=model.min_length() + horizon)
    e = pd.DataFrame(rows)
    nz = e["actual"] != 0
    mape = float((np.abs(e.actual - e.forecast)[nz] / np.abs(e.actual[nz])).mean() * 100) \
        if nz.any() else np.nan
    return Backtest(label, mape, float(e["scaled_error"].mean()), int(e["origin"].nunique()), e)


def candidates(seasonal_periods: int = 12, positive: bool = True) -> dict[str, Forecaster]:
    """The models :func:`choose` compares (seasonal naive is the baseline)."""
    s = seasonal_periods
    out: dict[str, Forecaster] = {
        "seasonal naive": SeasonalNaive(s),
        "ETS(A,Ad,A)": ExponentialSmoothing("add", True, "add", s),
        "ARIMA(0,1,1)(0,1,1)": SeasonalARIMA((0, 1, 1), (0, 1, 1, s)),
    }
    if positive:
        out["ETS(A,Ad,A) on log"] = ExponentialSmoothing("add", True, "add", s, log=True)
        out["airline (log)"] = SeasonalARIMA((0, 1, 1), (0, 1, 1, s), log=True)
    return out


@dataclass
class Choice:
    """What :func:`choose` picked: the fitted ``model`` (named ``name``), its ``backtest`` and
    the ``baseline``'s (seasonal naive), every candidate's backtest, and notes."""

    name: str
    model: Forecaster
    backtest: Backtest
    baseline: Backtest
    scores: dict[str, Backtest]
    notes: list[str]

    def sentence(self, what: str = "the series") -> str:
        b, base = self.backtest, self.baseline
        better = (b.mase < base.mase) if np.isfinite(b.mase) and np.isfinite(base.mase) else False
        tail = ("better than repeating last year" if better else
                "no better than repeating last year: read it as a rough guide")
        return (f"{what}: {self.name} was off by {b.mape:.1f}% on average over the last "
                f"{b.folds} backtest origins (MASE {b.mase:.2f}; repeating last year: "
                f"{base.mape:.1f}%, MASE {base.mase:.2f}) — {tail}.")


    def finding(self) -> dict:
        """The facts of :meth:`sentence` as a code and its figures (``prisme.i18n.findings``)."""
        b, base = self.backtest, self.baseline
        better = (b.mase < base.mase) if np.isfinite(b.mase) and np.isfinite(base.mase) else False
        return finding("backtest", model=self.name, mape=b.mape, mase=b.mase,
                       base_mape=base.mape, base_mase=base.mase, folds=b.folds,
                       better=bool(better))


def choose(y, *, horizon: int = 3, folds: int = 4, seasonal_periods: int = 12) -> Choice:
    """Backtest every candidate and fit the one with the lowest MASE on the whole series."""
    s = _as_series(y)
    baseline_model = SeasonalNaive(seasonal_periods)
    if len(s) < baseline_model.min_length() + horizon:
        raise SeriesTooShort(
            f"the series has {len(s)} observations; forecasting with a backtest needs at least "
            f"{baseline_model.min_length() + horizon} (one season of {seasonal_periods}, one "
            f"more, and {horizon} to check the forecast against)",
            n=len(s), needed=baseline_model.min_length() + horizon)
    scores, notes = {}, []
    for name, m in candidates(seasonal_periods, positive=bool((s > 0).all())).items():
        try:
            scores[name] = backtest(m, s, horizon=horizon, folds=folds,
                                    seasonal_periods=seasonal_periods, name=name)
        except SeriesTooShort:
            notes.append(f"{name} not tried: {len(s)} observations are too few for it")
        except (ValueError, np.linalg.LinAlgError) as exc:
            notes.append(f"{name} failed: {exc}")
    base = scores["seasonal naive"]
    finite = {k: v for k, v in scores.items() if np.isfinite(v.mase)}
    best = min(finite, key=lambda k: finite[k].mase) if finite else "seasonal naive"
    model = candidates(seasonal_periods)[best].fit(s)
    return Choice(best, model, scores[best], base, scores, notes)


# ------------------------------------------------------------------- in the warehouse
def _sales(engine):
    """Sales lines without cancelled ones when the warehouse knows cancellations."""
    try:
        from prisme.warehouse.core import active_sales  # type: ignore[attr-defined]
    except ImportError:
        return engine.table("fact_sales")
    return active_sales(engine)


def monthly_series(engine, *, as_of=None) -> pd.DataFrame:
    """Monthly net revenue and orders, in total, by RFM segment (``customer_360``) and by sales
    channel — computed in the engine (Ibis); one row per (dimension, member, month).

    Returns count as negative revenue whatever their sign; an order counts once, in the month
    of its first line, if it is not a return. Incomplete first and last months are left out
    (a forecast of a half month is wrong by half)."""
    import ibis

    from prisme.analytics.features import as_of_day, party_keys

    s = _sales(engine)
    if as_of is not None:
        stamp = pd.Timestamp(as_of_day(as_of)) + pd.Timedelta(days=1)
        s = s.filter(s.ordered_at < stamp.to_pydatetime())
    is_return = s.is_return.fill_null(False)
    revenue = ibis.cases((is_return & (s.revenue > 0), -s.revenue), else_=s.revenue)
    s = s.mutate(_rev=revenue.cast("float64"), _ret=is_return,
                 month=s.ordered_at.truncate("M").date(),
                 channel_=s.channel.fill_null("unknown"))
    segment = None
    if engine.has_table("customer_360") and "rfm_segment" in engine.table("customer_360").columns:
        keys = party_keys(engine)
        c = engine.table("customer_360").select("party_id", "rfm_segment")
        k = keys.join(c, keys.party_id == c.party_id).select(
            keys.source, keys.source_customer_id, c.rfm_segment)
        s = s.left_join(k, [s.source == k.source, s.source_customer_id == k.source_customer_id])
        s = s.select(*[c for c in s.columns if not c.endswith("_right")])
        segment = s.rfm_segment.fill_null(
            ibis.cases((s.source_customer_id.isnull(), "anonymous"), else_="no segment"))
    parts = [("total", ibis.literal("all")), ("channel", s.channel_)]
    if segment is not None:
        parts.append(("segment", segment))
    frames = []
    for dim, member in parts:
        t = s.mutate(member=member)
        orders = t.filter(~t._ret).group_by(["member", "month"]).aggregate(
            orders=t.filter(~t._ret).order_id.nunique())
        rev = t.group_by(["member", "month"]).aggregate(revenue=t._rev.sum())
        j = rev.left_join(orders, [rev.member == orders.member, rev.month == orders.month])
        j = j.select(rev.member, rev.month, rev.revenue, orders=j.orders.fill_null(0))
        frames.append(engine.to_pandas(j).assign(dimension=dim))
    df = pd.concat(frames, ignore_index=True)
    if df.empty:
        return df
    df["month"] = pd.to_datetime(df["month"]).dt.to_period("M")
    # bounds: the first and last days with a sale decide whether the end months are complete
    days = engine.to_pandas(s.aggregate(first=s.ordered_at.min(), last=s.ordered_at.max()))
    first, last = pd.Timestamp(days["first"].iloc[0]), pd.Timestamp(days["last"].iloc[0])
    lo = first.to_period("M") + (0 if first.day <= 3 else 1)
    hi = last.to_period("M") - (0 if last.day >= last.days_in_month - 1 else 1)
    return df[(df.month >= lo) & (df.month <= hi)].reset_index(drop=True)


def forecast_table(monthly: pd.DataFrame, *, horizon: int = 6, backtest_horizon: int = 3,
                   folds: int = 3, top: int = 6) -> tuple[pd.DataFrame, list[str]]:
    """``mart_forecasts`` rows: per series (revenue, orders) × (total, channel, segment) ×
    member, the actual months and ``horizon`` forecast months with the chosen model, its
    backtest error (MAPE, MASE) next to the seasonal naive's, and a sentence.

    The totals get the full choice (:func:`choose`); a breakdown series (the ``top`` members
    by revenue of each dimension) compares the seasonal naive with the model chosen for its
    total, to keep the build quick. A series too short to forecast keeps its actual months and
    says why."""
    rows, notes = [], []
    if monthly.empty:
        return pd.DataFrame(), ["forecasts: no complete month of sales; mart_forecasts not built"]
    chosen: dict[str, str] = {}
    order = {"total": 0, "channel": 1, "segment": 2}
    keep = (monthly.groupby(["dimension", "member"])["revenue"].sum().reset_index()
            .sort_values("revenue", ascending=False).groupby("dimension").head(top))
    keys = sorted(zip(keep.dimension, keep.member, strict=True),
                  key=lambda k: (order.get(k[0], 9), str(k[1])))
    months = pd.period_range(monthly.month.min(), monthly.month.max(), freq="M")
    for series in ("revenue", "orders"):
        for dim, member in keys:
            part = monthly[(monthly.dimension == dim) & (monthly.member == member)]
            y = part.set_index("month")[series].reindex(months, fill_value=0.0).astype(float)
            label = series if dim == "total" else f"{series} of {dim} {member}"
            base = {"series": series, "dimension": dim, "member": str(member)}
            rows.extend({**base, "month": m.to_timestamp().date(), "kind": "actual",
                         "value": float(v)} for m, v in y.items())
            try:
                if dim == "total":
                    c = choose(y, horizon=backtest_horizon, folds=folds)
                    chosen[series] = c.name
                else:
                    c = _choose_among(y, ["seasonal naive", chosen.get(series, "seasonal naive")],
                                      backtest_horizon, folds)
            except SeriesTooShort as exc:
                rows[-1]["sentence"] = f"{label}: no forecast — {exc}"
                rows[-1]["findings"] = encode([finding(
                    "too_short", n=exc.n if exc.n is not None else len(y), needed=exc.needed)])
                notes.append(f"{label}: no forecast — {exc}")
                continue
            f = c.model.predict(horizon)
            if series == "orders" or (y >= 0).all():
                f = f.clip(lower=0)
            sentence = c.sentence(label)
            found = encode([c.finding()])
            for m, r in f.iterrows():
                rows.append({**base, "month": m.to_timestamp().date(), "kind": "forecast",
                             "value": r["mean"], "lower": r["lower"], "upper": r["upper"],
                             "model": c.name, "mape": c.backtest.mape, "mase": c.backtest.mase,
                             "baseline_mape": c.baseline.mape, "baseline_mase": c.baseline.mase,
                             "backtest_folds": c.backtest.folds, "sentence": sentence,
                             "findings": found})
    out = pd.DataFrame(rows)
    for col in ("lower", "upper", "model", "mape", "mase", "baseline_mape", "baseline_mase",
                "backtest_folds", "sentence", "findings"):
        if col not in out:
            out[col] = None
    return out, notes


def _choose_among(y: pd.Series, names: list[str], horizon: int, folds: int) -> Choice:
    cands = candidates(positive=bool((y > 0).all()))
    scores = {}
    for name in dict.fromkeys(names):
        if name in cands:
            try:
                scores[name] = backtest(cands[name], y, horizon=horizon, folds=folds, name=name)
            except SeriesTooShort:
                if name == "seasonal naive":
                    raise
    base = scores["seasonal naive"]
    best = min(scores, key=lambda k: scores[k].mase if np.isfinite(scores[k].mase) else np.inf)
    return Choice(best, cands[best].fit(y), scores[best], base, scores, [])
