"""Calibration / holdout evaluation of the purchase models, as of a cut-off day.

The check of Fader, Hardie & Lee (2005, §4, Figures 2–4): fit the model on what was known at the
cut-off (the calibration period), predict each customer's repeat purchases in the following
period (the holdout), and compare with what happened:

* ``by_frequency`` — mean holdout purchases, actual vs predicted (conditional expectation,
  BG/NBD eq. 10), by number of repeat purchases in calibration (0, 1, …, 6, 7+);
* ``tracking`` — week by week, cumulative repeat purchases of the calibration cohort, actual vs
  expected (Σ over customers of the unconditional E[X(t − s_i)], eq. 7, s_i = first purchase);
* ``errors`` — per-customer MAE, RMSE and correlation, the MAE of the binned means, total
  holdout purchases actual vs predicted, and the mean absolute percentage error of the
  cumulative tracking curve over the holdout weeks.

Everything heavy (the calibration summary, holdout counts, weekly repeat purchases) is computed
in the engine; only per-party rows come back for the model.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from prisme.analytics.clv import _purchase_model_class, unique_histories
from prisme.analytics.features import TIME_UNITS, as_of_day, party_orders, purchase_summary

#: calibration frequency bins of the published holdout table
MAX_BIN = 7


@dataclass
class HoldoutReport:
    """The result of :func:`calibration_holdout` (data frames, plus charts on demand)."""

    cutoff: _dt.date
    end: _dt.date
    time_unit: str
    model: str
    params: dict
    customers: pd.DataFrame
    by_frequency: pd.DataFrame
    tracking: pd.DataFrame
    errors: dict = field(default_factory=dict)

    def sentence(self) -> str:
        e = self.errors
        return (
            f"Fitted on purchases up to {self.cutoff}, the {self.model} model predicted "
            f"{e['predicted_total']:,.0f} repeat purchases from {self.cutoff} to {self.end}; "
            f"{e['actual_total']:,.0f} happened ({e['total_ratio']:.1%} of actual). "
            f"Per customer the typical error is {e['mae']:.2f} purchases "
            f"(correlation {e['correlation']:.2f})."
        )

    def figure(self):
        """Plotly figure: the holdout table (left) and the cumulative tracking curve (right)."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(
            rows=1,
            cols=2,
            subplot_titles=(
                "Mean holdout purchases by calibration frequency",
                "Cumulative repeat purchases",
            ),
        )
        b = self.by_frequency
        fig.add_trace(go.Bar(x=b.calibration_frequency, y=b.actual, name="actual"), 1, 1)
        fig.add_trace(
            go.Scatter(x=b.calibration_frequency, y=b.predicted, name=self.model, mode="lines+markers"),
            1,
            1,
        )
        t = self.tracking
        fig.add_trace(go.Scatter(x=t.week_start, y=t.actual_cumulative, name="actual (cum.)"), 1, 2)
        fig.add_trace(
            go.Scatter(
                x=t.week_start, y=t.expected_cumulative, name="expected (cum.)", line_dash="dash"
            ),
            1,
            2,
        )
        cut = pd.Timestamp(self.cutoff)
        fig.add_shape(
            type="line", x0=cut, x1=cut, y0=0, y1=1, yref="y2 domain", xref="x2",
            line={"dash": "dot", "color": "grey"},
        )
        fig.update_layout(title=self.sentence(), title_font_size=12, height=450)
        return fig

    def to_html(self) -> str:
        """A standalone HTML page; the Plotly JS is embedded from the installed package."""
        return self.figure().to_html(include_plotlyjs=True, full_html=True)


def _bin_label(freq: pd.Series) -> pd.Series:
    return freq.clip(upper=MAX_BIN).astype(int).map(
        lambda f: f"{MAX_BIN}+" if f >= MAX_BIN else str(f)
    )


def frequency_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration-frequency bin."""
    c = customers.assign(bin=customers.frequency.clip(upper=MAX_BIN).astype(int))
    g = c.groupby("bin").agg(
        customers=("party_id", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    g = g.reset_index()
    g.insert(0, "calibration_frequency", _bin_label(g.pop("bin")))
    return g


def _holdout_counts(engine, cutoff, end) -> ibis.Table:
    o = party_orders(engine, as_of=end)
    o = o.filter(o.is_purchase & (o.order_day > ibis.literal(cutoff)))
    return o.group_by("party_id").aggregate(actual=o.order_day.nunique().cast("int64"))


def _weekly_repeats(engine, end, parties: ibis.Table, start: _dt.date) -> pd.DataFrame:
    """Repeat purchase days per week since ``start`` (in the engine)."""
    o = party_orders(engine, as_of=end)
    o = o.filter(o.is_purchase)
    days = o.select("party_id", "order_day").distinct()
    days = days.join(parties, "party_id")
    w = ibis.window(group_by="party_id")
    days = days.mutate(first=days.order_day.min().over(w))
    rep = days.filter(days.order_day > days.first)
    rep = rep.mutate(week=(rep.order_day.delta(ibis.literal(start), unit="day") / 7).floor())
    return engine.to_pandas(rep.group_by("week").aggregate(repeats=rep.count()))


def _tracking(engine, model, cal: pd.DataFrame, cutoff, end, unit: float) -> pd.DataFrame:
    first = pd.to_datetime(cal.first_day).dt.date
    start = min(first)
    weeks = int(np.ceil(((end - start).days + 1) / 7))
    parties = ibis.memtable(cal[["party_id"]])
    actual = _weekly_repeats(engine, end, parties, start).set_index("week").repeats
    actual = actual.reindex(range(weeks), fill_value=0).astype(float)
    # expected: customers grouped by first-purchase day, E[X(t - s)] for t at each week's end
    offsets = pd.Series([(d - start).days for d in first]).value_counts()
    ends = (np.arange(weeks) + 1) * 7.0
    exp = np.zeros(weeks)
    for s, n in offsets.items():
        t = np.clip(ends - s, 0.0, None) / unit
        exp += n * np.asarray(model.expected_purchases_unconditional(t), dtype=float)
    week_start = [start + _dt.timedelta(days=7 * w) for w in range(weeks)]
    cum = actual.cumsum().to_numpy()
    return pd.DataFrame(
        {
            "week": np.arange(1, weeks + 1),
            "week_start": pd.to_datetime(week_start),
            "actual": actual.to_numpy(),
            "expected": np.diff(exp, prepend=0.0),
            "actual_cumulative": cum,
            "expected_cumulative": exp,
            "holdout": [d > cutoff for d in week_start],
        }
    )


def _errors(customers: pd.DataFrame, table: pd.DataFrame, tracking: pd.DataFrame) -> dict:
    a, p = customers.actual.to_numpy(float), customers.predicted.to_numpy(float)
    h = tracking[tracking.holdout & (tracking.actual_cumulative > 0)]
    return {
        "customers": len(customers),
        "mae": float(np.mean(np.abs(a - p))),
        "rmse": float(np.sqrt(np.mean((a - p) ** 2))),
        "correlation": float(np.corrcoef(a, p)[0, 1]) if len(a) > 1 else float("nan"),
        "binned_mae": float(np.mean(np.abs(table.actual - table.predicted))),
        "actual_total": float(a.sum()),
        "predicted_total": float(p.sum()),
        "total_ratio": float(p.sum() / a.sum()) if a.sum() else float("nan"),
        "tracking_mape": float(
            np.mean(np.abs(h.expected_cumulative - h.actual_cumulative) / h.actual_cumulative)
        )
        if len(h)
        else float("nan"),
    }


def calibration_holdout(
    engine,
    *,
    cutoff,
    end=None,
    time_unit: str = "week",
    model: str = "bg_nbd",
    penalizer_coef: float = 0.0,
) -> HoldoutReport:
    """Fit ``model`` on purchases up to ``cutoff`` and test it on (cutoff, end].

    ``end`` defaults to the last sale day. Customers are those with a purchase on or before the
    cut-off (the calibration cohort); their holdout purchases are counted per distinct day, like
    their calibration repeat purchases.
    """
    cutoff = as_of_day(cutoff)
    if end is None:
        from prisme.warehouse.core import active_sales

        s = active_sales(engine)
        end = engine.scalar(s.ordered_at.max())
    end = as_of_day(end)
    if end <= cutoff:
        raise ValueError(f"the holdout end {end} must be after the cut-off {cutoff}")
    unit = TIME_UNITS[time_unit]
    summary = purchase_summary(engine, as_of=cutoff, time_unit=time_unit)
    g = party_orders(engine, as_of=cutoff)
    firsts = g.filter(g.is_purchase).group_by("party_id").aggregate(first_day=g.order_day.min())
    cal_expr = summary.join(firsts, "party_id").left_join(
        _holdout_counts(engine, cutoff, end), "party_id"
    )
    cal = engine.to_pandas(cal_expr.drop("party_id_right"))
    cal = cal[cal["T"] > 0].sort_values("party_id").reset_index(drop=True)
    cal["actual"] = cal.actual.fillna(0).astype(float)
    table, codes = unique_histories(cal)
    fitted = _purchase_model_class(model)(penalizer_coef=penalizer_coef).fit(
        table, weights="weights"
    )
    duration = (end - cutoff).days / unit
    cal["predicted"] = np.asarray(fitted.expected_purchases(table, duration), dtype=float)[codes]
    customers = cal[["party_id", "frequency", "recency", "T", "actual", "predicted"]]
    by_freq = frequency_table(customers)
    tracking = _tracking(engine, fitted, cal, cutoff, end, unit)
    return HoldoutReport(
        cutoff=cutoff,
        end=end,
        time_unit=time_unit,
        model=model,
        params=dict(fitted.params_),
        customers=customers,
        by_frequency=by_freq,
        tracking=tracking,
        errors=_errors(customers, by_freq, tracking),
    )
