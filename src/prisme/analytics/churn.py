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
    customer_summary,
    events_until,
    party_keys,
    party_orders,
    scores_as_of,
)
from prisme.analytics.rfm import rfm_table

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


def _payment_features(engine, day: _dt.date) -> ibis.Table | None:
    """Per party: invoices due by ``day``, how many were paid late or are still unpaid, the
    mean and worst days late. A payment after ``day`` is unknown as of ``day``."""
    s = events_until(engine, "fact_sales", day)
    if "is_cancelled" in s.columns:  # a cancelled line is not invoiced (core.active_sales)
        s = s.filter(~s.is_cancelled.fill_null(False))
    lit = ibis.literal(day)
    s = s.filter(s.source_customer_id.notnull() & s.due_at.notnull()
                 & ~s.is_return.fill_null(False) & (s.due_at.date() <= lit))
    keys = party_keys(engine)
    s = s.join(keys, [s.source == keys.source, s.source_customer_id == keys.source_customer_id])
    s = s.select(party_id=keys.party_id, source=s.source, order_id=s.order_id,
                 due=s.due_at.date(),
                 paid=ibis.cases((s.paid_at.date() <= lit, s.paid_at.date()),
                                 else_=ibis.null(dt.date)))
    inv = s.group_by(["party_id", "source", "order_id"]).aggregate(due=s.due.min(),
                                                                   paid=s.paid.max())
    late = _days(inv.paid.coalesce(lit), inv.due)
    inv = inv.mutate(days_late=ibis.cases((late > 0, late), else_=0.0),
                     unpaid=inv.paid.isnull())
    return inv.group_by("party_id").aggregate(
        invoices=inv.count(),
        late_invoice_share=(inv.days_late > 0).cast("float64").mean(),
        avg_days_late=inv.days_late.mean(),
        max_days_late=inv.days_late.max(),
        unpaid_overdue=inv.unpaid.cast("int64").sum(),
    )


def _contact_features(engine, day: _dt.date) -> list[ibis.Table]:
    lit = ibis.literal(day)
    parts = []
    calls = _interactions(engine, "fact_calls", day)
    if calls is not None:
        reason = calls.reason.lower().fill_null("")
        complaint = ibis.or_(*[reason.contains(w) for w in COMPLAINT_WORDS])
        recent = _days(lit, calls["at"].date()) <= 90
        parts.append(calls.group_by("party_id").aggregate(
            calls_90d=recent.cast("int64").sum(),
            complaints_365d=(complaint & (_days(lit, calls["at"].date()) <= 365))
            .cast("int64").sum(),
        ))
    web = _interactions(engine, "fact_web_sessions", day)
    if web is not None:
        parts.append(web.group_by("party_id").aggregate(
            web_sessions_90d=(_days(lit, web.started_at.date()) <= 90).cast("int64").sum()))
    contacts = _interactions(engine, "fact_campaign_contacts", day)
    if contacts is not None:
        treated = contacts.filter(contacts.group.lower() != "control")
        converted = treated.converted_at.notnull() & (treated.converted_at.date() <= lit)
        parts.append(treated.group_by("party_id").aggregate(
            campaign_contacts=treated.count(),
            campaign_conversions=converted.cast("int64").sum()))
    surveys = _interactions(engine, "fact_surveys", day)
    if surveys is not None:
        w = ibis.window(group_by="party_id", order_by=[ibis.desc("answered_at")])
        last = surveys.mutate(_n=ibis.row_number().over(w))
        last = last.filter(last._n == 0)
        parts.append(last.select(
            "party_id",
            last_sat_service=last.sat_service.cast("float64"),
            last_sat_product=last.sat_product.cast("float64"),
            last_nps=last.nps.cast("float64"),
            days_since_survey=_days(lit, last.answered_at.date()),
            last_survey_month=last.answered_at.month().cast("int64"),
        ))
    return parts


def churn_features(engine, as_of, *, active_days: int = 365) -> ibis.Table:
    """One row per party who bought within ``active_days`` before ``as_of`` (and not after
    it), with the churn features as of that day (an engine expression; see the module notes).
    """
    day = as_of_day(as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        s = customer_summary(engine, as_of=day, time_unit="day", use_margin=False)
    s = s.filter(s.frequency.notnull())
    since_last = s["T"] - s.recency
    s = s.filter(since_last <= active_days)
    base = s.select(
        "party_id",
        days_since_last_purchase=since_last,
        usual_gap_days=ibis.cases((s.frequency > 0, s.recency / s.frequency),
                                  else_=ibis.null(dt.float64)),
        purchases=(s.frequency + 1).cast("int64"),
        tenure_days=s["T"],
        revenue=s.revenue.cast("float64"),
        margin=s.margin.cast("float64"),
        average_basket=s.revenue.cast("float64") / (s.frequency + 1),
        return_rate=s.return_rate.cast("float64"),
        return_lines=s.return_lines,
        frequency=s.frequency, recency=s.recency, T=s["T"],
    )
    rfm = rfm_table(engine, as_of=day).select("party_id", "r_score", "f_score", "m_score")
    out = base.left_join(rfm, "party_id").drop("party_id_right")
    parts = []
    if "due_at" in engine.table("fact_sales").columns:
        parts.append(_payment_features(engine, day))
    parts.extend(_contact_features(engine, day))
    for part in parts:
        out = out.left_join(part, "party_id").drop("party_id_right")
    zero = [c for c in ("calls_90d", "complaints_365d", "web_sessions_90d", "campaign_contacts",
                        "campaign_conversions") if c in out.columns]
    out = out.mutate(**{c: out[c].fill_null(0) for c in zero})
    return out.mutate(as_of=ibis.literal(day))


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


def feature_frame(engine, as_of, *, active_days: int, notes: list[str]) -> pd.DataFrame:
    """The features as of a day, fetched (one row per active party), P(alive) added."""
    frame = engine.to_pandas(churn_features(engine, as_of, active_days=active_days))
    frame = frame.sort_values("party_id", kind="stable").reset_index(drop=True)
    return _with_p_alive(frame, notes)


def training_frame(engine, cutoffs, *, horizon_days: int, active_days: int,
                   notes: list[str], cache: dict | None = None) -> pd.DataFrame:
    """Features and labels of every cut-off, stacked (``cache``: cut-off → frame, reused
    between the evaluation and the final model, which share cut-offs)."""
    cache = {} if cache is None else cache
    frames = []
    for c in cutoffs:
        if c not in cache:
            f = feature_frame(engine, c, active_days=active_days, notes=notes)
            labels = engine.to_pandas(churn_labels(engine, c, horizon_days))
            cache[c] = f.merge(labels, on="party_id", how="inner")
        frames.append(cache[c])
    return pd.concat(frames, ignore_index=True)


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
    joined = ex.groupby("row", sort=False).reason.agg(lambda r: "[" + ",".join(r) + "]")
    out: list[str | None] = [None] * len(frame)
    for row, text in zip(joined.index.tolist(), joined.tolist(), strict=True):
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
    first = party_orders(engine, as_of=now)
    first_day = engine.scalar(first.order_day.min())
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
    frames: dict = {}
    try:
        train = training_frame(engine, train_eval, horizon_days=horizon,
                               active_days=a.churn_active_days, notes=notes, cache=frames)
        model, cols = _fit(train, notes, a.seed, settings.engine.threads,
                           a.churn_training_rows)
        test = training_frame(engine, [evaluation_day], horizon_days=horizon,
                              active_days=a.churn_active_days, notes=notes, cache=frames)
        p = model.predict_proba(test[["party_id", *cols]])[:, 1]
        metrics, calib, lift = evaluate(test.churned.astype(int).to_numpy(), p)
        if progress:
            progress("churn: training", 1, 3)
        train = training_frame(engine, train_now, horizon_days=horizon,
                               active_days=a.churn_active_days, notes=notes, cache=frames)
        model, cols = _fit(train, notes, a.seed, settings.engine.threads,
                           a.churn_training_rows)
    except ValueError as exc:
        notes.append(f"churn not scored: {exc}")
        return result
    frames.clear()  # the cut-offs' frames (~1 GB at 1M customers): not needed to score
    del train, test
    result.metrics, result.evaluated_as_of = metrics, evaluation_day
    result.trained_on = [d.isoformat() for d in train_now]
    if progress:
        progress("churn: scoring", 2, 3)
    current = feature_frame(engine, now, active_days=a.churn_active_days, notes=[])
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
