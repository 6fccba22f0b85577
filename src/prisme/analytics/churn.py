"""Churn in the warehouse: who is leaving, as of a day, and why.

**The label** (behavioural churn, non-contractual): as of a cut-off day ``c``, a customer who
bought within ``churn_active_days`` before ``c`` has *left* when they make no purchase in
``(c, c + churn_horizon_days]``.

**The features** are computed in the engine (Ibis) only from what happened on or before ``c``
(event time): purchases and their rhythm (days since the last purchase, usual gap between
purchases), revenue, margin, returns, tenure, RFM scores; invoices (days paid late against the
due date — a payment made after ``c`` counts as *not paid yet*); web sessions, calls and
complaints; campaign contacts and conversions; the last survey scores; plus P(alive) of a
BG/NBD model fitted as of ``c`` (Fader, Hardie & Lee 2005). Adding later data to the warehouse
does not change the features of a past cut-off (tested).

**The model** (:class:`prisme.models.ChurnModel`) is trained on ``churn_cutoffs`` past
cut-offs, one horizon apart. Each version is first *evaluated* on a later, unseen period: it is
trained on cut-offs whose horizon ends before the evaluation cut-off ``now − horizon``, then
scored as of that day and compared with what happened in the following horizon (ROC-AUC,
PR-AUC, Brier score, expected calibration error, calibration curve and lift/gain by decile →
``churn_evaluation``, ``churn_calibration``, ``churn_lift``). The version that scores today is
then trained on the latest cut-offs (up to ``now − horizon``) and scores every active customer
as of now → ``churn_scores`` (``churn_probability``, ``churn_reasons``) and ``score_history``.

**P(alive) vs churn probability.** P(alive) (customer_360.p_alive) is the BG/NBD model's
belief that the customer has not *already* stopped buying, from their purchase rhythm alone.
``churn_probability`` is the calibrated probability that they make *no purchase in the next
horizon* (180 days by default), learnt from what happened to similar customers, with every
signal (payments, complaints, surveys…). A customer can be alive and still likely to make no
purchase in six months (a once-a-year buyer), so the two are shown side by side, each with what
it measures; P(alive) is one of the churn model's inputs.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

import prisme
from prisme.analytics.features import (
    _interactions,
    as_of_day,
    party_keys,
    party_orders,
    party_sales,
    scores_as_of,
)
from prisme.analytics.texts import join_runs

#: the customer_360 columns this module contributes
CUSTOMER_360_COLUMNS = {"churn_probability": dt.float64, "churn_reasons": dt.string}
#: the stored scores of the latest churn run
SCORES_TABLE = "churn_scores"
EVALUATION_TABLES = ("churn_evaluation", "churn_calibration", "churn_lift")
COMPLAINT_WORDS = ("complaint", "reclamation", "réclamation", "plainte", "litige")
#: columns of the feature table that are context for the sentences, not model inputs
CONTEXT = ("last_survey_month",)


def customer_360_part(engine, settings, as_of) -> ibis.Table | None:
    """churn_probability and churn_reasons per party scored as of ``as_of`` (None if none)."""
    return scores_as_of(engine, SCORES_TABLE, CUSTOMER_360_COLUMNS, as_of)


# ------------------------------------------------------------------------- features
def _days(later, earlier) -> ibis.Value:
    return later.delta(earlier, unit="day").cast("float64")


# All the cut-offs' features come from one pass over the sales (and one over each interaction
# fact): the sale lines until the last day are summed once into *order parts* (one row per
# order, its time and its invoice dates — an order whose lines have different times or due
# dates has a part per time and dates), then the parts are joined to the table of cut-off days
# (a part counts as of every day on or after its own) and summed per (day, order), then per
# (day, party). The features of a day are exactly those computed from that day's data alone
# (the no-leakage test and the one-day-at-a-time test hold it).


def _cutoff_table(days) -> ibis.Table:
    days = sorted({as_of_day(d) for d in days})
    return ibis.memtable(pd.DataFrame({"as_of": pd.Series(days, dtype=object)})).cast(
        {"as_of": "date"})


def _keep(scratch, name: str, expr: ibis.Table) -> ibis.Table:
    """``expr`` stored as a scratch table (read by several queries), or left an expression."""
    return expr if scratch is None else scratch.keep(name, expr)


def _sale_parts(engine, last_day: _dt.date, keys) -> tuple[ibis.Table, bool]:
    """Order parts of the sale lines until ``last_day`` (see the notes above) and whether the
    sales carry invoice due dates."""
    has_due = "due_at" in engine.table("fact_sales").columns
    s = party_sales(engine, as_of=last_day, keys=keys,
                    extra=("due_at", "paid_at") if has_due else ())
    if has_due:  # an invoice line: due, not a return (a cancelled line is not sold at all)
        invoice = s.due_at.notnull() & ~s.is_return
        due = ibis.cases((invoice, s.due_at.date()), else_=ibis.null(dt.date))
        paid = ibis.cases((invoice, s.paid_at.date()), else_=ibis.null(dt.date))
    else:
        invoice, due, paid = ibis.literal(False), ibis.null(dt.date), ibis.null(dt.date)
    s = s.mutate(invoice=invoice, due_day=due, paid_day=paid)
    positive = s.revenue > 0
    parts = s.group_by(["party_id", "source", "order_id", "ordered_at", "invoice", "due_day",
                        "paid_day"]).aggregate(
        net_revenue=s.revenue.sum(), net_cost=s.cost.sum(), lines=s.count(),
        cost_lines=s.cost.count(), has_return=s.is_return.any(),
        gross=s.revenue.sum(where=positive), returned=s.revenue.sum(where=~positive),
        return_lines=s.is_return.cast("int64").sum())
    return parts, has_due


def _party_sales_by_day(parts: ibis.Table, cut: ibis.Table) -> ibis.Table:
    """Per (as_of, party) with an order until that day: the purchase summary (first and last
    purchase day, purchase days), RFM's values and the revenue, margin and returns."""
    p = parts.join(cut, parts.ordered_at.date() <= cut.as_of)
    o = p.group_by(["as_of", "party_id", "source", "order_id"]).aggregate(
        ordered_at=p.ordered_at.min(), net_revenue=p.net_revenue.sum(),
        net_cost=p.net_cost.sum(), lines=p.lines.sum(), cost_lines=p.cost_lines.sum(),
        has_return=p.has_return.any(), gross=p.gross.sum(), returned=p.returned.sum(),
        return_lines=p.return_lines.sum())
    # party_orders' definitions, per day
    margin = ibis.cases((o.cost_lines == o.lines, o.net_revenue - o.net_cost),
                        else_=ibis.null(o.net_revenue.type()))
    o = o.mutate(order_day=o.ordered_at.date(), net_margin=margin,
                 is_purchase=(o.net_revenue > 0) | ((o.net_revenue == 0) & ~o.has_return))
    return o.group_by(["as_of", "party_id"]).aggregate(
        first_purchase_day=o.order_day.min(where=o.is_purchase),
        last_purchase_day=o.order_day.max(where=o.is_purchase),
        purchase_days=o.order_day.nunique(where=o.is_purchase),
        purchases_n=o.is_purchase.cast("int64").sum(),
        last_order_day=o.order_day.max(),
        revenue=o.net_revenue.sum(),
        margin_known=o.net_margin.count() == o.count(),
        margin_sum=o.net_margin.sum(),
        gross=o.gross.sum(), returned=o.returned.sum(), return_lines=o.return_lines.sum(),
    )


def _rfm_scores(g: ibis.Table) -> ibis.Table:
    """r_score, f_score, m_score per (as_of, party) — :mod:`prisme.analytics.rfm`'s quintiles
    of every party with an order until that day, per day."""
    last = g.last_purchase_day.coalesce(g.last_order_day)
    v = g.select("as_of", "party_id", frequency=g.purchases_n, monetary=g.revenue,
                 recency_days=g.as_of.delta(last, unit="day").cast("int64"))
    n = v.party_id.count().over(ibis.window(group_by="as_of"))

    def quintile(order_by):
        rank = ibis.rank().over(ibis.window(group_by="as_of", order_by=order_by))
        return (1 + (rank * 5 / n).floor()).cast("int64")

    return v.select("as_of", "party_id", r_score=quintile(ibis.desc("recency_days")),
                    f_score=quintile(v.frequency), m_score=quintile(v.monetary))


def _payment_features(parts: ibis.Table, cut: ibis.Table) -> ibis.Table:
    """Per (as_of, party): invoices due by that day, how many were paid late or are still
    unpaid, the mean and worst days late. A payment after the day is unknown as of it."""
    p = parts.join(cut, parts.ordered_at.date() <= cut.as_of)
    p = p.filter(p.invoice & (p.due_day <= p.as_of))
    paid = ibis.cases((p.paid_day <= p.as_of, p.paid_day), else_=ibis.null(dt.date))
    inv = p.group_by(["as_of", "party_id", "source", "order_id"]).aggregate(
        due=p.due_day.min(), paid=paid.max())
    late = _days(inv.paid.coalesce(inv.as_of), inv.due)
    inv = inv.mutate(days_late=ibis.cases((late > 0, late), else_=0.0),
                     unpaid=inv.paid.isnull())
    return inv.group_by(["as_of", "party_id"]).aggregate(
        invoices=inv.count(),
        late_invoice_share=(inv.days_late > 0).cast("float64").mean(),
        avg_days_late=inv.days_late.mean(),
        max_days_late=inv.days_late.max(),
        unpaid_overdue=inv.unpaid.cast("int64").sum(),
    )


def _by_day(engine, table: str, when: str, last_day, cut, keys, within: int | None = None):
    """An interaction fact until ``last_day`` with its party, joined to the cut-off days it
    counts for (its day on or before the cut-off; ``within``: at most that many days
    before)."""
    f = _interactions(engine, table, last_day, keys=keys)
    if f is None:
        return None
    day = f[when].date()
    cond = [day <= cut.as_of]
    if within is not None:  # older rows count for nothing: left out early
        cond.append(cut.as_of.delta(day, unit="day") <= within)
    return f.join(cut, cond)


def _contact_features(engine, last_day, cut, keys) -> list[ibis.Table]:
    parts = []
    calls = _by_day(engine, "fact_calls", "at", last_day, cut, keys, within=365)
    if calls is not None:
        reason = calls.reason.lower().fill_null("")
        complaint = ibis.or_(*[reason.contains(w) for w in COMPLAINT_WORDS])
        ago = _days(calls.as_of, calls["at"].date())
        parts.append(calls.group_by(["as_of", "party_id"]).aggregate(
            calls_90d=(ago <= 90).cast("int64").sum(),
            complaints_365d=(complaint & (ago <= 365)).cast("int64").sum(),
        ))
    web = _by_day(engine, "fact_web_sessions", "started_at", last_day, cut, keys, within=90)
    if web is not None:
        parts.append(web.group_by(["as_of", "party_id"]).aggregate(
            web_sessions_90d=(_days(web.as_of, web.started_at.date()) <= 90)
            .cast("int64").sum()))
    contacts = _by_day(engine, "fact_campaign_contacts", "contacted_at", last_day, cut, keys)
    if contacts is not None:
        treated = contacts.filter(contacts.group.lower() != "control")
        converted = treated.converted_at.notnull() & (
            treated.converted_at.date() <= treated.as_of)
        parts.append(treated.group_by(["as_of", "party_id"]).aggregate(
            campaign_contacts=treated.count(),
            campaign_conversions=converted.cast("int64").sum()))
    surveys = _by_day(engine, "fact_surveys", "answered_at", last_day, cut, keys)
    if surveys is not None:
        w = ibis.window(group_by=["as_of", "party_id"], order_by=[ibis.desc("answered_at")])
        last = surveys.mutate(_n=ibis.row_number().over(w))
        last = last.filter(last._n == 0)
        parts.append(last.select(
            "as_of", "party_id",
            last_sat_service=last.sat_service.cast("float64"),
            last_sat_product=last.sat_product.cast("float64"),
            last_nps=last.nps.cast("float64"),
            days_since_survey=_days(last.as_of, last.answered_at.date()),
            last_survey_month=last.answered_at.month().cast("int64"),
        ))
    return parts


def churn_feature_days(engine, days, *, active_days: int = 365, horizon_days: int | None = None,
                       labelled=(), scratch=None) -> ibis.Table:
    """The churn features of every day in ``days`` (an engine expression, one row per
    ``(as_of, party_id)`` of a party who bought within ``active_days`` before that day and
    not after it), computed in one pass (see the notes above).

    With ``horizon_days``, the column ``churned`` is the label of each day in ``labelled``
    (:func:`churn_labels`; ``day + horizon_days`` must be in ``days``), NULL on the other
    days. ``scratch`` (a :class:`prisme.analytics.basket._Scratch`) stores the intermediate
    tables read by several queries; the caller drops them once it has fetched the result.
    """
    days = sorted({as_of_day(d) for d in days})
    last_day = days[-1]
    cut = _cutoff_table(days)
    keys = _keep(scratch, "keys", party_keys(engine))
    parts, has_due = _sale_parts(engine, last_day, keys)
    parts = _keep(scratch, "parts", parts)
    g = _keep(scratch, "parties", _party_sales_by_day(parts, cut))
    # customer_summary's definitions (features.purchase_summary, _order_features,
    # _line_features), per day
    frequency = (g.purchase_days - 1).cast("int64")
    recency = g.last_purchase_day.delta(g.first_purchase_day, unit="day").cast("float64")
    tenure = g.as_of.delta(g.first_purchase_day, unit="day").cast("float64")
    since_last = tenure - recency
    gross = g.gross.cast("float64").fill_null(0.0)
    returned = (-g.returned).cast("float64").fill_null(0.0)
    return_rate = ibis.cases((gross > 0, (returned / gross).clip(upper=1.0)),
                             (returned > 0, 1.0), else_=0.0)
    s = g.filter(g.first_purchase_day.notnull() & (since_last <= active_days))
    revenue = s.revenue.cast("float64")
    base = s.select(
        "as_of", "party_id",
        days_since_last_purchase=since_last,
        usual_gap_days=ibis.cases((frequency > 0, recency / frequency),
                                  else_=ibis.null(dt.float64)),
        purchases=(frequency + 1).cast("int64"),
        tenure_days=tenure,
        revenue=revenue,
        margin=ibis.cases((s.margin_known, s.margin_sum),
                          else_=ibis.null(s.margin_sum.type())).cast("float64"),
        average_basket=revenue / (frequency + 1),
        return_rate=return_rate.cast("float64"),
        return_lines=s.return_lines.cast("int64"),
        frequency=frequency, recency=recency, T=tenure,
    )
    parts_ = [_rfm_scores(g)]
    if has_due:
        parts_.append(_payment_features(parts, cut))
    parts_.extend(_contact_features(engine, last_day, cut, keys))
    out = base
    for part in parts_:
        out = out.left_join(part, ["as_of", "party_id"]).drop("as_of_right", "party_id_right")
    zero = [c for c in ("calls_90d", "complaints_365d", "web_sessions_90d", "campaign_contacts",
                        "campaign_conversions") if c in out.columns]
    out = out.mutate(**{c: out[c].fill_null(0) for c in zero})
    if horizon_days is not None:
        labels = _labels(g, labelled, horizon_days)
        out = out.left_join(labels, ["as_of", "party_id"]).drop("as_of_right", "party_id_right")
    return out.select(*[c for c in out.columns if c not in ("as_of", "churned")], "as_of",
                      *(["churned"] if horizon_days is not None else []))


def _labels(g: ibis.Table, cutoffs, horizon_days: int) -> ibis.Table:
    """(as_of, party_id, churned) of each cut-off, from the parties' purchases as of the end
    of its horizon (which is in ``g``): :func:`churn_labels`' definition."""
    pairs = pd.DataFrame({"as_of": pd.Series([as_of_day(c) for c in cutoffs], dtype=object)})
    pairs["end"] = [c + _dt.timedelta(days=int(horizon_days)) for c in pairs.as_of]
    pairs = ibis.memtable(pairs).cast({"as_of": "date", "end": "date"})
    j = g.join(pairs, g.as_of == pairs.end)
    j = j.filter(j.first_purchase_day <= j.as_of_right)
    return j.select(as_of=j.as_of_right, party_id=j.party_id,
                    churned=~(j.last_purchase_day > j.as_of_right))


def churn_features(engine, as_of, *, active_days: int = 365) -> ibis.Table:
    """One row per party who bought within ``active_days`` before ``as_of`` (and not after
    it), with the churn features as of that day (an engine expression; see the module notes).
    """
    return churn_feature_days(engine, [as_of], active_days=active_days)


def churn_labels(engine, cutoff, horizon_days: int) -> ibis.Table:
    """party_id, ``churned`` (no purchase in (cutoff, cutoff + horizon]) for every party who
    bought on or before the cut-off."""
    c = as_of_day(cutoff)
    end = c + _dt.timedelta(days=int(horizon_days))
    o = party_orders(engine, as_of=end)
    o = o.filter(o.is_purchase)
    before = o.filter(o.order_day <= ibis.literal(c)).select("party_id").distinct()
    after = o.filter(o.order_day > ibis.literal(c)).select("party_id").distinct()
    j = before.left_join(after, before.party_id == after.party_id)
    return j.select(party_id=before.party_id, churned=after.party_id.isnull())


def _with_p_alive(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """P(alive) of a BG/NBD model fitted on this cut-off's customers (weeks)."""
    from prisme.analytics.models import BetaGeo

    df = pd.DataFrame({"frequency": frame.frequency.astype(float),
                       "recency": frame.recency.astype(float) / 7.0,
                       "T": frame["T"].astype(float) / 7.0})
    new = df["T"] <= 0  # first purchase on the cut-off day: just acquired, alive
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = BetaGeo().fit(df[~new])
        p = np.ones(len(df))
        p[~new.to_numpy()] = model.probability_alive(df[~new])
        frame["p_alive"] = p
    except (ValueError, RuntimeError) as exc:
        frame["p_alive"] = np.nan  # missing for the model, same columns at every cut-off
        notes.append(f"P(alive) unknown as of {frame.as_of.iloc[0] if len(frame) else '?'}: "
                     f"{exc}")
    return frame.drop(columns=["frequency", "recency", "T"])


def _fetched(engine, expr: ibis.Table, notes: list[str], labelled: bool = False
             ) -> pd.DataFrame:
    """A day's features fetched, in party order, P(alive) added; ``labelled``: only the rows
    that have a label (``churned``: the party had bought by the cut-off), as last column."""
    frame = engine.to_pandas(expr)
    frame = frame.sort_values("party_id", kind="stable").reset_index(drop=True)
    frame = _with_p_alive(frame, notes)
    if "churned" in frame.columns:
        churned = frame.pop("churned")
        if labelled:
            frame["churned"] = churned
            frame = frame[churned.notna().to_numpy()].reset_index(drop=True)
            frame["churned"] = frame.churned.astype(bool)
    return frame


def feature_frame(engine, as_of, *, active_days: int, notes: list[str]) -> pd.DataFrame:
    """The features as of a day, fetched (one row per active party), P(alive) added."""
    return _fetched(engine, churn_features(engine, as_of, active_days=active_days), notes)


def training_frame(engine, cutoffs, *, horizon_days: int, active_days: int,
                   notes: list[str], cache: dict | None = None) -> pd.DataFrame:
    """Features and labels of every cut-off, stacked (``cache``: cut-off → frame, reused
    between calls that share cut-offs)."""
    cache = {} if cache is None else cache
    todo = [as_of_day(c) for c in cutoffs if as_of_day(c) not in cache]
    if todo:
        ends = [c + _dt.timedelta(days=int(horizon_days)) for c in todo]
        t = churn_feature_days(engine, [*todo, *ends], active_days=active_days,
                               horizon_days=horizon_days, labelled=todo)
        for c in todo:
            cache[c] = _fetched(engine, t.filter(t.as_of == ibis.literal(c)), notes,
                                labelled=True)
    return pd.concat([cache[as_of_day(c)] for c in cutoffs], ignore_index=True)


class _Frames:
    """The churn frames of one scoring run: every day's features and labels computed in one
    engine pass into a scratch table, then fetched a day at a time (and forgotten as soon as
    the run no longer needs them)."""

    def __init__(self, engine, days, *, active_days: int, horizon_days: int, labelled,
                 notes: list[str]) -> None:
        from prisme.analytics.basket import _Scratch

        self.engine, self.notes = engine, notes
        self.labelled = {as_of_day(d) for d in labelled}
        self.scratch = _Scratch(engine)
        self.cache: dict[_dt.date, pd.DataFrame] = {}
        work = _Scratch(engine)  # the intermediate tables, dropped once the features are kept
        try:
            expr = churn_feature_days(engine, days, active_days=active_days,
                                      horizon_days=horizon_days, labelled=labelled,
                                      scratch=work)
            self.table = self.scratch.keep("churn_features", expr)
        finally:
            work.drop()

    def get(self, day: _dt.date) -> pd.DataFrame:
        if day not in self.cache:
            t = self.table
            self.cache[day] = _fetched(self.engine, t.filter(t.as_of == ibis.literal(day)),
                                       self.notes, labelled=day in self.labelled)
        return self.cache[day]

    def forget(self, *days) -> None:
        for d in days:
            self.cache.pop(d, None)

    def training(self, cutoffs, max_rows: int | None, seed: int) -> pd.DataFrame:
        """The cut-offs' rows stacked (cut-off then party order), at most ``max_rows`` of
        them (:func:`_sample`'s rows, taken without stacking the whole frames first)."""
        frames = [self.get(c) for c in cutoffs]
        sizes = [len(f) for f in frames]
        churned = np.concatenate([f.churned.to_numpy() for f in frames]) if frames else \
            np.array([], dtype=bool)
        if max_rows is None or len(churned) <= max_rows:
            return pd.concat(frames, ignore_index=True)
        keep = _sample(pd.DataFrame({"churned": churned}), max_rows, seed,
                       self.notes).index.to_numpy()
        starts = np.cumsum([0, *sizes])
        out = []
        for f, lo, hi in zip(frames, starts[:-1], starts[1:], strict=True):
            mine = keep[(keep >= lo) & (keep < hi)]
            out.append(f.iloc[mine - lo].set_axis(mine, axis=0))
        return pd.concat(out)

    def drop(self) -> None:
        self.cache.clear()
        self.scratch.drop()


# ------------------------------------------------------------------------ reasons
# A reason is stored as a code and its figures (a JSON object; a customer's reasons: a JSON
# array, see prisme.i18n.reasons for the codes and their sentences in English and French):
# the warehouse holds no sentence in any language.
def _figure(v) -> str:
    """A reason's figure as JSON: null when unknown, an integer when whole, else 3 decimals."""
    if v is None or v != v:  # None or NaN
        return "null"
    if isinstance(v, int | np.integer):
        return str(int(v))
    v = round(float(v), 3)
    return str(int(v)) if v.is_integer() else repr(v)


def _code(code: str, **figures) -> str:
    """One reason as compact JSON: ``{"code":"…","figure":value,…}`` (written by hand: a
    million customers have three reasons each)."""
    return '{"code":"' + code + '"' + "".join(
        f',"{k}":{_figure(v)}' for k, v in figures.items()) + "}"


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _whole_days(v) -> int | None:
    return None if _missing(v) else int(round(float(v)))


def _month_of(row) -> int | None:
    m = row.get("last_survey_month")
    return None if _missing(m) else int(m)


def _rated(code: str, column: str):
    def say(row):
        v = row.get(column)
        return None if _missing(v) else _code(code, score=round(float(v)), month=_month_of(row))
    return say


def _known(column: str, say):
    """``say(row)``, or no reason when the customer's value is not known."""
    def guarded(row):
        return None if _missing(row.get(column)) else say(row)
    return guarded


def _no_purchase(r):
    return _code("no_purchase", days=_whole_days(r.days_since_last_purchase),
                 usual_days=_whole_days(r.get("usual_gap_days")))


#: the column a reason needs, when it is not the feature's own (the buying rhythm)
_NEEDS = {"usual_gap_days": "days_since_last_purchase", "r_score": "days_since_last_purchase"}
DESCRIBE = {f: _known(_NEEDS.get(f, f), say) for f, say in {
    "days_since_last_purchase": _no_purchase,
    "usual_gap_days": _no_purchase,
    "purchases": lambda r: _code("purchases", n=int(r.purchases)),
    "last_sat_service": _rated("rated_service", "last_sat_service"),
    "last_sat_product": _rated("rated_products", "last_sat_product"),
    "last_nps": _rated("rated_recommend", "last_nps"),
    "avg_days_late": lambda r: _code("pays_late", days=_whole_days(r.avg_days_late)),
    "max_days_late": lambda r: _code("paid_late_max", days=_whole_days(r.max_days_late)),
    "late_invoice_share": lambda r: _code("late_invoices", share=r.late_invoice_share),
    "unpaid_overdue": lambda r: _code("unpaid_overdue", n=int(r.unpaid_overdue)),
    "complaints_365d": lambda r: _code("complaints", n=int(r.complaints_365d)),
    "calls_90d": lambda r: _code("calls", n=int(r.calls_90d)),
    "return_rate": lambda r: _code("returns", share=r.return_rate),
    # "may have stopped buying" with a P(alive) of 94 % contradicts itself: no reason
    "p_alive": lambda r: _code("p_alive", p=r.p_alive) if r.p_alive < 0.5 else None,
    "tenure_days": lambda r: _code("tenure", days=_whole_days(r.tenure_days)),
    "web_sessions_90d": lambda r: _code("web_visits", n=int(r.web_sessions_90d)),
    "campaign_conversions": lambda r: _code("campaigns", answered=int(r.campaign_conversions),
                                            contacted=int(r.get("campaign_contacts") or 0)),
    "r_score": _no_purchase,
    "f_score": lambda r: _code("frequency_score", score=int(r.f_score)),
    "m_score": lambda r: _code("monetary_score", score=int(r.m_score)),
    "revenue": lambda r: _code("revenue", amount=round(float(r.revenue), 2)),
    "margin": lambda r: _code("margin", amount=round(float(r.margin), 2)),
    "average_basket": lambda r: _code("basket", amount=round(float(r.average_basket), 2)),
}.items()}


# --------------------------------------------------------------------- evaluation
def evaluate(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[dict, pd.DataFrame,
                                                                      pd.DataFrame]:
    """Metrics, calibration curve (deciles of predicted risk) and lift/gain by decile."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    decile = np.empty(len(p), dtype=int)
    decile[order] = np.arange(len(p)) * bins // len(p) + 1
    base = y.mean()
    lift_rows = []
    cum = 0
    for d in range(1, bins + 1):
        sel = decile == d
        cum += int(y[sel].sum())
        lift_rows.append({"decile": d, "customers": int(sel.sum()), "churners": int(y[sel].sum()),
                          "churn_rate": float(y[sel].mean()), "mean_probability":
                          float(p[sel].mean()), "lift": float(y[sel].mean() / base),
                          "cumulative_gain": cum / max(int(y.sum()), 1)})
    lift = pd.DataFrame(lift_rows)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    calib = pd.DataFrame([{"bin": b + 1, "predicted": float(p[idx == b].mean()),
                           "observed": float(y[idx == b].mean()),
                           "customers": int((idx == b).sum())}
                          for b in range(bins) if (idx == b).any()])
    ece = float((calib.customers * (calib.predicted - calib.observed).abs()).sum() / len(p))
    metrics = {"roc_auc": float(roc_auc_score(y, p)),
               "pr_auc": float(average_precision_score(y, p)),
               "brier": float(brier_score_loss(y, p)),
               "calibration_error": ece,
               "base_rate": float(base),
               "top_decile_lift": float(lift.lift.iloc[0]),
               "customers": float(len(y))}
    return metrics, calib, lift


# ---------------------------------------------------------------------------- stage
@dataclass
class ChurnSummary:
    as_of: _dt.date | None
    version: str = ""
    horizon_days: int = 180
    scored: int = 0
    trained_on: list[str] = field(default_factory=list)
    evaluated_as_of: _dt.date | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"churn: {self.scored:,} active customers scored as of {self.as_of} "
               f"(no purchase within {self.horizon_days} days)"]
        m = self.metrics
        if m:
            out.append(
                f"churn model checked on the {self.horizon_days} days after "
                f"{self.evaluated_as_of} (unseen): ROC-AUC {m['roc_auc']:.3f}, PR-AUC "
                f"{m['pr_auc']:.3f} (base rate {m['base_rate']:.1%}), top decile "
                f"{m['top_decile_lift']:.1f}× the average churn rate, calibration error "
                f"{m['calibration_error']:.3f}")
            out.append(
                f"the 10 % of customers it ranks riskiest hold {m['top_decile_lift'] / 10:.0%}"
                " of the customers who then left: call them first")
        out.extend(self.notes)
        return out


def _cutoffs(now: _dt.date, horizon: int, k: int) -> list[_dt.date]:
    """``k`` cut-offs whose horizon ends by ``now``, one horizon apart, oldest first."""
    last = now - _dt.timedelta(days=horizon)
    return [last - _dt.timedelta(days=horizon * i) for i in range(k - 1, -1, -1)]


def _usable(frame: pd.DataFrame, notes: list[str]) -> list[str]:
    """Feature columns that vary (a blank or constant column explains nothing)."""
    cols = []
    for c in frame.columns:
        if c in ("party_id", "as_of", "churned", *CONTEXT):
            continue
        v = frame[c]
        if v.notna().sum() == 0 or v.nunique(dropna=True) <= 1 and v.notna().all():
            notes.append(f"churn feature {c} left out: the same value for every customer")
            continue
        cols.append(c)
    return cols


def _sample(train: pd.DataFrame, max_rows: int, seed: int, notes: list[str]) -> pd.DataFrame:
    """At most ``max_rows`` rows, the same share of each label (seeded: the same rows on
    every run and engine, the frame being in cut-off then ``party_id`` order)."""
    if len(train) <= max_rows:
        return train
    share = max_rows / len(train)
    kept = train.groupby("churned", group_keys=False, sort=True).sample(
        frac=share, random_state=seed)
    notes.append(f"churn model fitted on a sample of {len(kept):,} of the {len(train):,} "
                 f"(customer, cut-off) rows, the same share of leavers "
                 f"([analytics] churn_training_rows)")
    return kept.sort_index()


def _fit(train: pd.DataFrame, notes: list[str], seed: int, threads: int | None = None,
         max_rows: int | None = None):
    from prisme.analytics.models import ChurnModel

    if max_rows is not None:
        train = _sample(train, max_rows, seed, notes)
    cols = _usable(train, notes)
    model = ChurnModel(describe=DESCRIBE, random_state=seed, n_jobs=threads).fit(
        train[["party_id", *cols]], train.churned.astype(int))
    return model, cols


#: features that say *that* a customer is drifting away (their buying rhythm), as opposed to
#: the drivers that say *why* (service, products, payments, complaints…)
SYMPTOMS = {"days_since_last_purchase", "usual_gap_days", "p_alive", "r_score", "f_score",
            "m_score", "purchases", "tenure_days", "revenue", "margin", "average_basket"}


#: when a driver's value is a reason at all (a rating of 9/10 or no late payment is not, even
#: if the trees give it a positive weight for this customer)
ADVERSE = {
    "last_sat_service": lambda v: v <= 6, "last_sat_product": lambda v: v <= 6,
    "last_nps": lambda v: v <= 6, "avg_days_late": lambda v: v >= 1,
    "max_days_late": lambda v: v >= 5, "late_invoice_share": lambda v: v > 0,
    "unpaid_overdue": lambda v: v > 0, "complaints_365d": lambda v: v > 0,
    "calls_90d": lambda v: v > 0, "return_rate": lambda v: v >= 0.05,
}


def _adverse(features: pd.Series, values: pd.Series) -> np.ndarray:
    """Per candidate reason: is its value a reason at all (``ADVERSE``; a feature without a
    test never is)."""
    out = np.zeros(len(features), dtype=bool)
    f = features.to_numpy()
    for feature, test in ADVERSE.items():
        sel = f == feature
        if sel.any():
            v = pd.to_numeric(pd.Series(values.to_numpy()[sel]), errors="coerce").to_numpy(
                dtype=float)
            with np.errstate(invalid="ignore"):
                out[sel] = ~np.isnan(v) & np.asarray(test(v), dtype=bool)
    return out


def _reasons(model, frame: pd.DataFrame, cols: list[str], *, symptoms: int = 1,
             drivers: int = 2, min_contribution: float = 0.02) -> list[str | None]:
    """Per customer: the strongest symptom and the strongest drivers pushing the risk up
    (each at least ``min_contribution`` in log-odds), in words, drivers after the symptom.
    An advisor needs the *why* even when the buying rhythm weighs more in the score."""

    def pick(ex: pd.DataFrame) -> np.ndarray:
        symptom = ex.feature.isin(SYMPTOMS).to_numpy()
        eligible = symptom | _adverse(ex.feature, ex.value)
        # candidates come in rank order per row: the first `symptoms` symptoms and the first
        # `drivers` drivers of each row are kept
        nth = (pd.DataFrame({"row": ex.row.to_numpy(), "symptom": symptom})[eligible]
               .groupby(["row", "symptom"], sort=False).cumcount().to_numpy())
        keep = np.zeros(len(ex), dtype=bool)
        keep[np.flatnonzero(eligible)] = nth < np.where(symptom[eligible], symptoms, drivers)
        return keep

    ctx = frame[[c for c in CONTEXT if c in frame.columns]]
    ex = model.explain(frame[["party_id", *cols]], top=len(cols), context=ctx,
                       min_contribution=min_contribution, keep=pick)
    ex = ex.assign(symptom=ex.feature.isin(SYMPTOMS))
    # symptom first, then the drivers, each in rank order
    ex = ex.sort_values(["row", "symptom", "rank"], ascending=[True, False, True], kind="stable")
    # a reason without a code (the model's plain fallback sentence) is not stored
    ex = ex[ex.reason.notna() & ex.reason.astype(str).str.startswith("{")]
    ex = ex.drop_duplicates(["row", "reason"])
    rows, joined = join_runs(ex.row.to_numpy(dtype=object), ex.reason.astype(str).tolist(),
                             ",", prefix="[", suffix="]")
    out: list[str | None] = [None] * len(frame)
    for row, text in zip(rows, joined, strict=True):
        out[int(row)] = text
    return out


def _replace_rows(engine, table: str, df: pd.DataFrame, version: str) -> None:
    """Keep the other versions' rows of ``table`` and write this version's."""
    new = ibis.memtable(df)
    if engine.has_table(table):
        old = engine.table(table)
        old = old.filter(old.version != version)
        new = old.union(new.cast(old.schema()))
        df_all = engine.to_pandas(new)
        engine.create_table(table, ibis.memtable(df_all).cast(old.schema()), overwrite=True)
    else:
        engine.create_table(table, new)


def score_churn(engine, settings, *, as_of=None, progress=None) -> ChurnSummary:
    """Train, evaluate on a later unseen period, score as of now and store (module notes)."""
    from prisme.analytics.marts import last_sale_day

    a = settings.analytics
    horizon = int(a.churn_horizon_days)
    k = max(int(a.churn_cutoffs), 1)
    now = as_of_day(as_of) if as_of is not None else last_sale_day(engine)
    result = ChurnSummary(as_of=now, horizon_days=horizon)
    if now is None:
        result.notes.append("churn not scored: no sale in the warehouse")
        return result
    version = f"lightgbm-h{horizon}/prisme-{prisme.__version__}/{now.isoformat()}"
    result.version = version
    evaluation_day = now - _dt.timedelta(days=horizon)
    train_eval = _cutoffs(evaluation_day, horizon, k)
    train_now = _cutoffs(now, horizon, k)
    # the first order's day (party_orders' first order_day: its first line's), without
    # grouping the lines into orders
    lines = party_sales(engine, as_of=now)
    first_day = engine.scalar(lines.ordered_at.min().date())
    if first_day is None or as_of_day(first_day) > train_eval[0] - _dt.timedelta(days=30):
        oldest = train_eval[0] - _dt.timedelta(days=30)
        result.notes.append(
            f"churn not scored: the sales history starts on {first_day}; training on {k} "
            f"cut-offs {horizon} days apart and checking on an unseen period needs sales "
            f"from {oldest} (lower [analytics] churn_horizon_days or churn_cutoffs)")
        return result
    notes = result.notes
    if progress:
        progress("churn: evaluation", 0, 3)
    # every day's features and labels in one engine pass (see the notes above churn_features)
    labelled = sorted({*train_eval, evaluation_day, *train_now})
    frames = None
    try:
        try:
            frames = _Frames(engine, [*labelled, now], active_days=a.churn_active_days,
                             horizon_days=horizon, labelled=labelled, notes=notes)
            train = frames.training(train_eval, a.churn_training_rows, a.seed)
            model, cols = _fit(train, notes, a.seed, settings.engine.threads)
            del train
            frames.forget(*(set(train_eval) - set(train_now) - {evaluation_day}))
            test = frames.get(evaluation_day)
            p = model.predict_proba(test[["party_id", *cols]])[:, 1]
            metrics, calib, lift = evaluate(test.churned.astype(int).to_numpy(), p)
            del test, p
            if progress:
                progress("churn: training", 1, 3)
            train = frames.training(train_now, a.churn_training_rows, a.seed)
            model, cols = _fit(train, notes, a.seed, settings.engine.threads)
            del train
        except ValueError as exc:
            notes.append(f"churn not scored: {exc}")
            return result
        frames.forget(*labelled)  # the cut-offs' frames: not needed to score
        result.metrics, result.evaluated_as_of = metrics, evaluation_day
        result.trained_on = [d.isoformat() for d in train_now]
        if progress:
            progress("churn: scoring", 2, 3)
        current = frames.get(now)
    finally:
        if frames is not None:
            frames.drop()
    prob = model.predict_proba(current[["party_id", *cols]])[:, 1]
    scores = pd.DataFrame({"party_id": current.party_id.astype(str), "as_of": now,
                           "churn_probability": prob.astype(float),
                           "churn_reasons": _reasons(model, current, cols),
                           "version": version})
    meta = {"version": version, "trained_until": train_eval[-1], "evaluated_as_of":
            evaluation_day, "horizon_days": horizon}
    ev = pd.DataFrame([{**meta, "metric": m, "value": v} for m, v in metrics.items()])
    _store(engine, scores, ev, calib.assign(**meta), lift.assign(**meta), version, now)
    result.scored = len(scores)
    return result


SCORES_SCHEMA = ibis.schema({"party_id": dt.string, "as_of": dt.date,
                             "churn_probability": dt.float64, "churn_reasons": dt.string,
                             "version": dt.string})


def _store(engine, scores, ev, calib, lift, version: str, now: _dt.date) -> None:
    from prisme.analytics.marts import _append_history

    engine.create_table(SCORES_TABLE + "__building",
                        ibis.memtable(scores).cast(SCORES_SCHEMA), overwrite=True)
    for name, df in zip(EVALUATION_TABLES, (ev, calib, lift), strict=True):
        _replace_rows(engine, name, df, version)
    with engine.transaction():
        engine.drop_table(SCORES_TABLE, force=True)
        engine.rename_table(SCORES_TABLE + "__building", SCORES_TABLE)
        built = engine.table(SCORES_TABLE)
        history = built.select(party_id=built.party_id,
                               model=ibis.literal("churn_probability"), version=built.version,
                               as_of=built.as_of, value=built.churn_probability)
        _append_history(engine, history, now)


__all__ = ["CUSTOMER_360_COLUMNS", "ChurnSummary", "churn_features", "churn_labels",
           "customer_360_part", "evaluate", "score_churn"]
