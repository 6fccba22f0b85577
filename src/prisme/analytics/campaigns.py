"""Campaigns and channels: did the contact change what customers did, and was it worth it?

Randomised control groups make the comparison causal: the control group shows what the treated
customers would have done anyway. Everything here compares a treated group with its control.

* :func:`lift` — one row per group of a customer-level table: the rate (0/1 outcome) or the mean
  (revenue) of the group, the absolute and relative lift over the control group with a
  confidence interval, the test — **two-proportion z test** for a rate (pooled standard error
  under H0; Wald interval for the difference), **Welch's t test** for a mean (Welch–Satterthwaite
  degrees of freedom) — and a p-value adjusted for the number of groups compared
  (**Holm**'s step-down by default, family-wise error; ``correction="bh"`` for
  Benjamini–Hochberg, false-discovery rate).
* :func:`qini` — the Qini curve and coefficient of an uplift score (Radcliffe 2007; the
  coefficient is the area between the model's curve and the random line, divided by the same
  area of the perfect ordering), and :func:`uplift_at_k`.
* :func:`pooled_difference` — several randomised campaigns of one channel pooled into one
  risk difference (Mantel–Haenszel weights ``n_t·n_c / (n_t + n_c)``), so campaigns with
  different baselines and control shares are compared within themselves, never across.
* In the warehouse (:func:`campaign_results`, :func:`channel_results`, :func:`build_campaign_marts`):
  per campaign and per channel — contacted, opened, clicked, responded, converted, revenue,
  margin, cost, cost per acquisition, ROI — counted in the engine (Ibis, any backend), then the
  tests on the compact per-group counts. ``mart_campaigns`` has one row per campaign,
  ``mart_channels`` one row per channel (``lift`` = conversion rate treated − control).

Every row carries a ``sentence`` a manager reads (English, for the command line and the API)
and its ``findings`` — the same facts as codes and figures (:mod:`prisme.analytics.findings`)
that :mod:`prisme.i18n.findings` says in the reader's language; a campaign without a control
group says plainly that its effect cannot be measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from prisme.analytics.findings import encode, finding

#: the corrections :func:`adjust_p` knows
CORRECTIONS = {"holm": "Holm (family-wise error)", "bh": "Benjamini-Hochberg (false discovery)"}


# ------------------------------------------------------------------ multiple testing
def adjust_p(p: np.ndarray | list[float], method: str = "holm") -> np.ndarray:
    """p-values adjusted for the number of tests: Holm's step-down (controls the chance of any
    false positive) or Benjamini–Hochberg (controls the share of false positives). NaN stays
    NaN and is not counted as a test."""
    if method not in CORRECTIONS:
        raise ValueError(f"correction {method!r} is not known; use one of {', '.join(CORRECTIONS)}")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


# ------------------------------------------------------------------------- the tests
@dataclass(frozen=True)
class Comparison:
    """One treated group against the control: estimate, interval, test."""

    value: float  #: rate or mean of the group
    control_value: float
    lift: float  #: value − control_value
    lift_low: float
    lift_high: float
    relative_lift: float  #: lift / control_value
    relative_low: float
    relative_high: float
    statistic: float
    p_value: float
    test: str


def compare_rates(x_t: float, n_t: float, x_c: float, n_c: float,
                  alpha: float = 0.05) -> Comparison:
    """Two-proportion z test of x_t/n_t against x_c/n_c.

    The test uses the pooled proportion under H0 (p_t = p_c); the interval of the difference is
    Wald's (unpooled); the relative lift's interval is the delta-method interval of the log
    risk ratio, exponentiated."""
    if n_t <= 0 or n_c <= 0:
        raise ValueError("each group needs at least one customer to compare rates")
    z = stats.norm.ppf(1 - alpha / 2)
    pt, pc = x_t / n_t, x_c / n_c
    diff = pt - pc
    se = np.sqrt(pt * (1 - pt) / n_t + pc * (1 - pc) / n_c)
    pool = (x_t + x_c) / (n_t + n_c)
    se0 = np.sqrt(pool * (1 - pool) * (1 / n_t + 1 / n_c))
    stat = diff / se0 if se0 > 0 else (0.0 if diff == 0 else np.inf * np.sign(diff))
    p = float(2 * stats.norm.sf(abs(stat))) if np.isfinite(stat) else 0.0
    if pc > 0 and pt > 0:
        rr = pt / pc
        se_log = np.sqrt((1 - pt) / x_t + (1 - pc) / x_c)
        rel = (rr - 1, rr * np.exp(-z * se_log) - 1, rr * np.exp(z * se_log) - 1)
    else:
        rel = (np.nan, np.nan, np.nan)
    return Comparison(pt, pc, diff, diff - z * se, diff + z * se, *rel, float(stat), p,
                      "two-proportion z")


def compare_means(mean_t: float, var_t: float, n_t: float, mean_c: float, var_c: float,
                  n_c: float, alpha: float = 0.05) -> Comparison:
    """Welch's t test of two means from their summary statistics (unequal variances);
    the relative lift's interval is the delta-method interval of the ratio of means."""
    if n_t < 2 or n_c < 2:
        raise ValueError("each group needs at least two customers to compare means")
    vt, vc = var_t / n_t, var_c / n_c
    se = np.sqrt(vt + vc)
    diff = mean_t - mean_c
    if se == 0:
        return Comparison(mean_t, mean_c, diff, diff, diff, np.nan, np.nan, np.nan,
                          0.0 if diff == 0 else np.inf, 1.0 if diff == 0 else 0.0, "Welch t")
    df = (vt + vc) ** 2 / (vt**2 / (n_t - 1) + vc**2 / (n_c - 1))
    t = diff / se
    p = float(2 * stats.t.sf(abs(t), df))
    q = stats.t.ppf(1 - alpha / 2, df)
    if mean_c > 0:
        ratio = mean_t / mean_c
        se_r = ratio * np.sqrt(vt / mean_t**2 + vc / mean_c**2) if mean_t > 0 else np.nan
        rel = (ratio - 1, ratio - 1 - q * se_r, ratio - 1 + q * se_r)
    else:
        rel = (np.nan, np.nan, np.nan)
    return Comparison(mean_t, mean_c, diff, diff - q * se, diff + q * se, *rel, float(t), p,
                      "Welch t")


def _is_binary(s: pd.Series) -> bool:
    v = pd.unique(s.dropna())
    return len(v) <= 2 and set(np.asarray(v, dtype=float).tolist()) <= {0.0, 1.0}


def lift(df: pd.DataFrame, group: str, control, outcome: str, *, kind: str | None = None,
         alpha: float = 0.05, correction: str = "holm") -> pd.DataFrame:
    """Each group against the control group, on one outcome.

    ``df`` has one row per customer; ``group`` names the column holding each row's group (a
    campaign, a channel, ``"Mens E-Mail"``…), ``control`` the value of the control group,
    ``outcome`` the column measured (0/1 or booleans: a rate; anything else: a mean, such as
    revenue per customer — ``kind="rate"`` or ``"mean"`` forces the choice).

    Returns one row per group (the control first): ``group, n, value`` (rate or mean),
    ``control_value, lift, lift_low, lift_high`` (absolute, treated − control, with its
    ``1 − alpha`` interval), ``relative_lift, relative_low, relative_high``, ``statistic,
    p_value, p_adjusted`` (adjusted over the groups compared, ``correction``), ``test``,
    ``correction``, ``significant`` and ``sentence``.
    """
    for c in (group, outcome):
        if c not in df.columns:
            raise ValueError(f"lift: the table has no column {c!r} (columns: "
                             f"{', '.join(map(str, df.columns))})")
    data = df[[group, outcome]].copy()
    y = pd.to_numeric(data[outcome].map(lambda v: float(v) if isinstance(v, bool) else v),
                      errors="coerce")
    if y.isna().all():
        raise ValueError(f"lift: outcome {outcome!r} has no numeric value")
    data[outcome] = y
    data = data[y.notna()]
    groups = list(pd.unique(data[group]))
    if control not in groups:
        raise ValueError(f"lift: no row has {group} = {control!r}, the control group (groups: "
                         f"{', '.join(map(str, groups))}); without a control group the effect "
                         "cannot be measured")
    if kind is None:
        kind = "rate" if _is_binary(data[outcome]) else "mean"
    if kind not in ("rate", "mean"):
        raise ValueError(f"lift: kind must be 'rate' or 'mean', not {kind!r}")
    agg = data.groupby(group, sort=False)[outcome].agg(["count", "sum", "mean", "var"])
    c = agg.loc[control]
    rows = [{"group": control, "n": int(c["count"]), "value": float(c["mean"]),
             "control_value": float(c["mean"])}]
    for g in groups:
        if g == control:
            continue
        t = agg.loc[g]
        if kind == "rate":
            cmp = compare_rates(t["sum"], t["count"], c["sum"], c["count"], alpha)
        else:
            cmp = compare_means(t["mean"], t["var"], t["count"], c["mean"], c["var"],
                                c["count"], alpha)
        rows.append({"group": g, "n": int(t["count"]), **cmp.__dict__})
    out = pd.DataFrame(rows)
    for col in ("lift", "lift_low", "lift_high", "relative_lift", "relative_low",
                "relative_high", "statistic", "p_value"):
        if col not in out:
            out[col] = np.nan
    out["test"] = out.get("test", pd.Series(dtype=object))
    out["p_adjusted"] = adjust_p(out["p_value"].to_numpy(float), correction)
    out["correction"] = CORRECTIONS[correction]
    out["significant"] = out["p_adjusted"] < alpha
    out["sentence"] = [
        _sentence_vs_control(r, str(control), outcome, kind, alpha) for r in out.itertuples()
    ]
    cols = ["group", "n", "value", "control_value", "lift", "lift_low", "lift_high",
            "relative_lift", "relative_low", "relative_high", "statistic", "p_value",
            "p_adjusted", "test", "correction", "significant", "sentence"]
    return out[cols]


def _amount(v: float, kind: str) -> str:
    return f"{100 * v:.1f} points" if kind == "rate" else f"{v:,.2f}"


def _sentence_vs_control(r, control: str, outcome: str, kind: str, alpha: float) -> str:
    if str(r.group) == control:
        what = f"{100 * r.value:.2f}%" if kind == "rate" else f"{r.value:,.2f} on average"
        return f"{control} (control): {outcome} {what} over {r.n:,} customers."
    return effect_sentence(str(r.group), control, r.lift, r.lift_low, r.lift_high,
                           r.p_adjusted, what=outcome, kind=kind, alpha=alpha)


def effect_sentence(name: str, control: str, diff: float, low: float, high: float,
                    p_adjusted: float, *, what: str = "conversion", kind: str = "rate",
                    alpha: float = 0.05) -> str:
    """"e-mail beats no contact by 2.1 points of conversion, ±0.6" — or says it is not
    significantly different (after the correction)."""
    if not np.isfinite(diff):
        return f"{name}: the effect on {what} cannot be measured."
    half = (high - low) / 2
    pm = f"±{100 * half:.1f}" if kind == "rate" else f"±{half:,.2f}"
    if p_adjusted < alpha and diff > 0:
        return (f"{name} beats {control} by {_amount(diff, kind)} of {what}, {pm} "
                f"(adjusted p = {p_adjusted:.2g}).")
    if p_adjusted < alpha and diff < 0:
        return (f"{name} does worse than {control} by {_amount(-diff, kind)} of {what}, {pm} "
                f"(adjusted p = {p_adjusted:.2g}): contacting these customers costs sales.")
    return (f"{name} is not significantly better than {control} on {what} "
            f"({_amount(diff, kind)}, {pm}; adjusted p = {p_adjusted:.2g}).")


# ---------------------------------------------------------------------- pooling
def pooled_difference(x_t, n_t, x_c, n_c, alpha: float = 0.05) -> dict:
    """Risk difference treated − control pooled over strata (campaigns) with Mantel–Haenszel
    weights ``w = n_t·n_c/(n_t+n_c)``; variance Σ w²·(p_t q_t/n_t + p_c q_c/n_c) / (Σ w)²;
    z test of the pooled difference. Strata without both groups are left out."""
    x_t, n_t, x_c, n_c = (np.asarray(v, dtype=float) for v in (x_t, n_t, x_c, n_c))
    ok = (n_t > 0) & (n_c > 0)
    if not ok.any():
        return {"lift": np.nan, "lift_low": np.nan, "lift_high": np.nan, "p_value": np.nan,
                "statistic": np.nan}
    x_t, n_t, x_c, n_c = x_t[ok], n_t[ok], x_c[ok], n_c[ok]
    pt, pc = x_t / n_t, x_c / n_c
    w = n_t * n_c / (n_t + n_c)
    diff = float((w * (pt - pc)).sum() / w.sum())
    var = float((w**2 * (pt * (1 - pt) / n_t + pc * (1 - pc) / n_c)).sum()) / w.sum() ** 2
    se = np.sqrt(var)
    # under H0 each stratum's rates are equal: pooled rate per stratum
    p0 = (x_t + x_c) / (n_t + n_c)
    se0 = np.sqrt(float((w**2 * p0 * (1 - p0) * (1 / n_t + 1 / n_c)).sum())) / w.sum()
    z = stats.norm.ppf(1 - alpha / 2)
    stat = diff / se0 if se0 > 0 else 0.0
    return {"lift": diff, "lift_low": diff - z * se, "lift_high": diff + z * se,
            "p_value": float(2 * stats.norm.sf(abs(stat))), "statistic": float(stat)}


# ---------------------------------------------------------------------------- Qini
@dataclass
class QiniResult:
    """``coefficient`` (area over random / area of the perfect ordering over random),
    ``auc`` (area between the model's curve and the random line, per customer),
    ``curve`` (share targeted → incremental responses), and ``perfect_auc``."""

    coefficient: float
    auc: float
    perfect_auc: float
    curve: pd.DataFrame

    def __float__(self) -> float:
        return float(self.coefficient)


def _qini_curve(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-score, kind="stable")
    y, t = y[order], t[order]
    nt = np.cumsum(t)
    nc = np.cumsum(1 - t)
    yt = np.cumsum(y * t)
    yc = np.cumsum(y * (1 - t))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = yt - np.where(nc > 0, yc * nt / nc, 0.0)
    share = np.arange(1, len(y) + 1) / len(y)
    return np.concatenate([[0.0], share]), np.concatenate([[0.0], q])


def qini(y, treatment, uplift) -> QiniResult:
    """The Qini curve of an uplift score and its coefficient (Radcliffe 2007).

    Customers are sorted by decreasing ``uplift``; at each share φ targeted, the curve is the
    incremental number of responders ``Y_t(φ) − Y_c(φ)·N_t(φ)/N_c(φ)``. The random line joins
    (0, 0) to (1, Q(1)). The coefficient is the area between the curve and the random line,
    divided by the same area of the *perfect* ordering (treated responders first, then
    non-responders, control responders last): 1 is a perfect model, 0 random, < 0 worse."""
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment, dtype=float)
    s = np.asarray(uplift, dtype=float)
    if not (len(y) == len(t) == len(s)):
        raise ValueError("qini: y, treatment and uplift must have the same length")
    if set(np.unique(t)) != {0.0, 1.0}:
        raise ValueError("qini: treatment must hold both 1 (treated) and 0 (control) rows")
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("qini: y must be a 0/1 response")
    x, q = _qini_curve(y, t, np.nan_to_num(s, nan=-np.inf))
    random_area = q[-1] / 2
    auc = np.trapezoid(q, x) - random_area
    perfect = np.where(t == 1, y, -y)  # treated responders first, control responders last
    px, pq = _qini_curve(y, t, perfect + 1e-9 * (1 - t) * (y == 0))
    perfect_auc = np.trapezoid(pq, px) - random_area
    coef = auc / perfect_auc if perfect_auc > 0 else np.nan
    n = len(y)
    curve = pd.DataFrame({"share_targeted": x, "incremental_responses": q,
                          "random": x * q[-1]})
    return QiniResult(float(coef), float(auc / n), float(perfect_auc / n), curve)


def uplift_at_k(y, treatment, uplift, k: float = 0.3) -> float:
    """Response rate of the treated minus that of the control among the top ``k`` share of
    customers by ``uplift`` (each group ranked within itself, as in scikit-uplift)."""
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment, dtype=int)
    s = np.asarray(uplift, dtype=float)
    if not 0 < k <= 1:
        raise ValueError("uplift_at_k: k is a share of customers in (0, 1]")
    rates = []
    for g in (1, 0):
        ys, ss = y[t == g], s[t == g]
        if len(ys) == 0:
            raise ValueError("uplift_at_k: both treated and control rows are needed")
        top = np.argsort(-ss, kind="stable")[: max(1, int(np.ceil(k * len(ys))))]
        rates.append(ys[top].mean())
    return float(rates[0] - rates[1])


# ------------------------------------------------------------------- in the warehouse
#: group labels that mean "held out, not contacted" (compared trimmed and lower-cased)
CONTROL_LABELS = ("control", "controle", "contrôle", "témoin", "temoin", "holdout", "hold-out",
                  "hold out", "no contact", "c", "0", "false")
NO_CONTACT = "no contact"

CAMPAIGN_COLUMNS = [
    "campaign_id", "name", "channel", "started_at", "cost", "contacted", "control_size",
    "opened", "clicked", "responded", "converted", "revenue", "margin", "open_rate",
    "click_rate", "response_rate", "conversion_rate", "control_conversion_rate", "lift",
    "lift_low", "lift_high", "relative_lift", "p_value", "p_adjusted", "revenue_lift",
    "revenue_lift_low", "revenue_lift_high", "revenue_p_value", "incremental_conversions",
    "incremental_revenue", "incremental_margin", "cost_per_acquisition",
    "cost_per_incremental_conversion", "roi", "roi_gross", "has_control", "sentence",
    "findings",
]
CHANNEL_COLUMNS = [
    "channel", "campaigns", "campaigns_with_control", "contacted", "control_size", "opened",
    "clicked", "responded", "converted", "revenue", "margin", "cost", "conversion_rate",
    "control_conversion_rate", "lift", "lift_low", "lift_high", "p_value", "p_adjusted",
    "incremental_conversions", "incremental_revenue", "incremental_margin",
    "cost_per_acquisition", "cost_per_incremental_conversion", "roi", "roi_gross", "sentence",
    "findings",
]


def contact_counts(engine) -> pd.DataFrame:
    """Per (campaign, group): contacts, opened, clicked, responded, converted, revenue and its
    sum of squares — counted in the engine (Ibis), one small row per group."""
    import ibis

    c = engine.table("fact_campaign_contacts")
    label = c["group"].strip().lower()
    is_control = label.isin(list(CONTROL_LABELS)).fill_null(False)
    rev = c.response_revenue.cast("float64").fill_null(0.0)
    t = c.mutate(is_control=is_control, _rev=rev,
                 _conv=c.converted_at.notnull().cast("int64"))
    agg = t.group_by(["campaign_id", "is_control"]).aggregate(
        n=t.count(),
        opened=t.opened.cast("int64").sum().fill_null(0),
        clicked=t.clicked.cast("int64").sum().fill_null(0),
        responded=(t.responded.fill_null(False) | t.converted_at.notnull())
        .cast("int64").sum().fill_null(0),
        converted=t._conv.sum().fill_null(0),
        revenue=t._rev.sum().fill_null(0.0),
        revenue_sq=(t._rev * t._rev).sum().fill_null(0.0),
    )
    del ibis
    return engine.to_pandas(agg)


def margin_rate(engine) -> float | None:
    """Share of revenue left after product cost, over the sales lines whose cost is known
    (None when no cost is known: margins are then not stated)."""
    if not engine.has_table("fact_sales"):
        return None
    from prisme.warehouse.core import active_sales

    s = active_sales(engine)  # cancelled lines left out
    s = s.filter(s.cost.notnull() & ~s.is_return.fill_null(False))
    r = engine.to_pandas(s.aggregate(revenue=s.revenue.cast("float64").sum(),
                                     cost=s.cost.cast("float64").sum()))
    rev, cost = r["revenue"].iloc[0], r["cost"].iloc[0]
    if rev is None or pd.isna(rev) or rev <= 0:
        return None
    return float((rev - cost) / rev)


def _campaign_table(engine) -> pd.DataFrame:
    cols = ["campaign_id", "name", "channel", "started_at", "cost"]
    if not engine.has_table("dim_campaign"):
        return pd.DataFrame(columns=cols)
    d = engine.table("dim_campaign")
    if "is_current" in d.columns:
        d = d.filter(d.is_current)
    d = d.select(*cols[:4], cost=d.cost.cast("float64"))
    return engine.to_pandas(d).drop_duplicates("campaign_id", keep="last")


def _stats(g: pd.DataFrame) -> dict:
    """Treated vs control of one campaign (or a stratum) from its per-group counts."""
    t = g[~g.is_control]
    c = g[g.is_control]
    nt = float(t.n.sum())
    out = {"contacted": int(nt), "control_size": int(c.n.sum()),
           **{k: int(t[k].sum()) for k in ("opened", "clicked", "responded", "converted")},
           "revenue": float(t.revenue.sum())}
    out["xt"], out["xc"], out["nc"] = float(t.converted.sum()), float(c.converted.sum()), \
        float(c.n.sum())
    out["rt"], out["rc"] = float(t.revenue.sum()), float(c.revenue.sum())
    out["qt"], out["qc"] = float(t.revenue_sq.sum()), float(c.revenue_sq.sum())
    return out


def _var(total: float, squares: float, n: float) -> float:
    return max((squares - total**2 / n) / (n - 1), 0.0) if n > 1 else np.nan


def campaign_results(counts: pd.DataFrame, campaigns: pd.DataFrame, margin: float | None,
                     *, alpha: float = 0.05, correction: str = "holm") -> pd.DataFrame:
    """One row per campaign (``CAMPAIGN_COLUMNS``) from :func:`contact_counts` and the
    campaign dimension. Conversion lift by the two-proportion z test, revenue per contact by
    Welch's t; p-values adjusted over the campaigns that have a control group."""
    rows = []
    meta = campaigns.set_index("campaign_id") if len(campaigns) else None
    for cid, g in counts.groupby("campaign_id", sort=True):
        s = _stats(g)
        m = meta.loc[cid] if meta is not None and cid in meta.index else None
        row = {"campaign_id": cid,
               "name": None if m is None else m["name"],
               "channel": None if m is None else m["channel"],
               "started_at": None if m is None else m["started_at"],
               "cost": None if m is None or pd.isna(m["cost"]) else float(m["cost"]),
               **{k: s[k] for k in ("contacted", "control_size", "opened", "clicked",
                                    "responded", "converted", "revenue")}}
        nt, nc = s["contacted"], s["control_size"]
        row["margin"] = s["revenue"] * margin if margin is not None else np.nan
        for k, v in (("open_rate", "opened"), ("click_rate", "clicked"),
                     ("response_rate", "responded"), ("conversion_rate", "converted")):
            row[k] = s[v] / nt if nt else np.nan
        row["has_control"] = bool(nc > 0 and nt > 0)
        row["control_conversion_rate"] = s["xc"] / nc if nc else np.nan
        if row["has_control"]:
            r = compare_rates(s["xt"], nt, s["xc"], nc, alpha)
            row.update(lift=r.lift, lift_low=r.lift_low, lift_high=r.lift_high,
                       relative_lift=r.relative_lift, p_value=r.p_value)
            if nt > 1 and nc > 1:
                m2 = compare_means(s["rt"] / nt, _var(s["rt"], s["qt"], nt), nt,
                                   s["rc"] / nc, _var(s["rc"], s["qc"], nc), nc, alpha)
                row.update(revenue_lift=m2.lift, revenue_lift_low=m2.lift_low,
                           revenue_lift_high=m2.lift_high, revenue_p_value=m2.p_value)
            row["incremental_conversions"] = r.lift * nt
            row["incremental_revenue"] = (s["rt"] / nt - s["rc"] / nc) * nt
            if margin is not None:
                row["incremental_margin"] = row["incremental_revenue"] * margin
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=CAMPAIGN_COLUMNS)
    out["p_adjusted"] = adjust_p(out["p_value"].to_numpy(float), correction)
    _money(out, margin)
    out["has_control"] = out["has_control"].fillna(False).astype(bool)
    out["sentence"] = [_campaign_sentence(r, alpha) for r in out.itertuples()]
    out["findings"] = [encode(_campaign_findings(r, alpha)) for r in out.itertuples()]
    return out


def _money(out: pd.DataFrame, margin: float | None) -> None:
    """Cost per acquisition and ROI: on margin when product costs are known, else revenue."""
    gain = out["incremental_margin"] if margin is not None else out["incremental_revenue"]
    gross = out["margin"] if margin is not None else out["revenue"]
    cost = out["cost"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cost_per_acquisition"] = np.where(out["converted"] > 0, cost / out["converted"],
                                               np.nan)
        out["cost_per_incremental_conversion"] = np.where(
            out["incremental_conversions"] > 0, cost / out["incremental_conversions"], np.nan)
        out["roi"] = np.where(cost > 0, (gain.astype(float) - cost) / cost, np.nan)
        out["roi_gross"] = np.where(cost > 0, (gross.astype(float) - cost) / cost, np.nan)


def _campaign_sentence(r, alpha: float) -> str:
    name = f"{r.campaign_id}" + (f" ({r.name})" if isinstance(r.name, str) else "")
    resp = (f"{r.contacted:,} contacted, {r.converted:,} converted "
            f"({100 * r.conversion_rate:.1f}%)" if r.contacted else "no contact recorded")
    if not r.has_control:
        return (f"{name}: {resp}. It had no control group, so its effect cannot be measured: "
                "these customers might have bought anyway.")
    eff = effect_sentence(name, NO_CONTACT, r.lift, r.lift_low, r.lift_high, r.p_adjusted,
                          alpha=alpha)
    return f"{eff} {resp}.{_roi_words(r.roi, r.p_adjusted, alpha)}"


def effect_finding(diff: float, low: float, high: float, p_adjusted: float,
                   alpha: float = 0.05, **subject) -> dict:
    """What :func:`effect_sentence` says, as a code and its figures (``prisme.i18n.findings``):
    ``beats``, ``worse``, ``not_significant`` or ``not_measurable``; ``subject`` names what
    was measured (``campaign`` and ``name``, or ``channel``)."""
    if diff is None or not np.isfinite(diff):
        return finding("not_measurable", **subject)
    if p_adjusted < alpha and diff > 0:
        code = "beats"
    elif p_adjusted < alpha and diff < 0:
        code = "worse"
    else:
        code = "not_significant"
    return finding(code, **subject, lift=diff, low=low, high=high, p=p_adjusted)


def _campaign_findings(r, alpha: float) -> list[dict]:
    """A campaign's result as codes and figures (the facts of :func:`_campaign_sentence`)."""
    who = {"campaign": r.campaign_id, "name": r.name if isinstance(r.name, str) else None}
    counts = {"contacted": r.contacted, "converted": r.converted,
              "rate": r.conversion_rate}
    if not r.has_control:
        return [finding("no_control", **who, **counts)]
    out = [effect_finding(r.lift, r.lift_low, r.lift_high, r.p_adjusted, alpha, **who),
           finding("responses", **counts) if r.contacted else finding("no_contact_recorded")]
    if not pd.isna(r.roi):
        out.append(finding("roi", roi=r.roi, established=bool(r.p_adjusted < alpha)))
    return out


def _channel_findings(r, alpha: float) -> list[dict]:
    """A channel's result as codes and figures (the facts of :func:`_channel_sentence`)."""
    if not r.campaigns_with_control:
        return [finding("channel_no_control", channel=r.channel, contacted=r.contacted,
                        campaigns=r.campaigns)]
    out = [effect_finding(r.lift, r.lift_low, r.lift_high, r.p_adjusted, alpha,
                          channel=r.channel)]
    if not pd.isna(r.roi):
        out.append(finding("roi", roi=r.roi, established=bool(r.p_adjusted < alpha)))
    if r.campaigns_with_control < r.campaigns:
        out.append(finding("left_out", without_control=r.campaigns - r.campaigns_with_control,
                           campaigns=r.campaigns))
    return out


def _roi_words(roi: float, p_adjusted: float, alpha: float) -> str:
    if pd.isna(roi):
        return ""
    if p_adjusted < alpha:
        return f" Return on its cost: {100 * roi:+.0f}%."
    return (f" Return on its cost at the measured lift: {100 * roi:+.0f}%, but that lift is not "
            "established.")


def channel_results(counts: pd.DataFrame, campaigns: pd.DataFrame, margin: float | None,
                    *, alpha: float = 0.05, correction: str = "holm") -> pd.DataFrame:
    """One row per channel (``CHANNEL_COLUMNS``): totals over its campaigns; ``lift`` is the
    conversion rate treated − control pooled over the campaigns that have a control group
    (:func:`pooled_difference`); p-values adjusted over the channels."""
    ch = campaigns.set_index("campaign_id")["channel"] if len(campaigns) else pd.Series()
    c = counts.assign(channel=counts.campaign_id.map(ch).fillna("unknown"))
    cost = campaigns.groupby("channel")["cost"].sum(min_count=1) if len(campaigns) else None
    rows = []
    for name, g in c.groupby("channel", sort=True):
        s = _stats(g)
        per = g.groupby("campaign_id")
        strata = pd.DataFrame({
            "x_t": per.apply(lambda d: d.loc[~d.is_control, "converted"].sum()),
            "n_t": per.apply(lambda d: d.loc[~d.is_control, "n"].sum()),
            "x_c": per.apply(lambda d: d.loc[d.is_control, "converted"].sum()),
            "n_c": per.apply(lambda d: d.loc[d.is_control, "n"].sum()),
            "r_t": per.apply(lambda d: d.loc[~d.is_control, "revenue"].sum()),
            "r_c": per.apply(lambda d: d.loc[d.is_control, "revenue"].sum()),
        })
        ok = (strata.n_t > 0) & (strata.n_c > 0)
        pooled = pooled_difference(strata.x_t, strata.n_t, strata.x_c, strata.n_c, alpha)
        row = {"channel": name, "campaigns": len(strata), "campaigns_with_control": int(ok.sum()),
               **{k: s[k] for k in ("contacted", "control_size", "opened", "clicked",
                                    "responded", "converted", "revenue")},
               "cost": float(cost.get(name, np.nan)) if cost is not None else np.nan}
        row["margin"] = s["revenue"] * margin if margin is not None else np.nan
        row["conversion_rate"] = s["converted"] / s["contacted"] if s["contacted"] else np.nan
        row["control_conversion_rate"] = s["xc"] / s["nc"] if s["nc"] else np.nan
        row.update({k: pooled[k] for k in ("lift", "lift_low", "lift_high", "p_value")})
        if ok.any():
            st = strata[ok]
            nt = st.n_t.sum()
            row["incremental_conversions"] = pooled["lift"] * nt
            row["incremental_revenue"] = float((st.r_t - st.r_c * st.n_t / st.n_c).sum())
            if margin is not None:
                row["incremental_margin"] = row["incremental_revenue"] * margin
            # costs of the campaigns without a control cannot be set against a measured gain
            measured = st.index
            cc = campaigns[campaigns.campaign_id.isin(measured)]["cost"].sum(min_count=1) \
                if len(campaigns) else np.nan
            row["_measured_cost"] = cc
        rows.append(row)
    out = pd.DataFrame(rows)
    out = out.reindex(columns=[*CHANNEL_COLUMNS, "_measured_cost"])
    out["p_adjusted"] = adjust_p(out["p_value"].to_numpy(float), correction)
    measured_cost = out.pop("_measured_cost")
    _money(out, margin)
    gain = out["incremental_margin"] if margin is not None else out["incremental_revenue"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["roi"] = np.where(measured_cost > 0, (gain - measured_cost) / measured_cost, np.nan)
    out["sentence"] = [_channel_sentence(r, alpha) for r in out.itertuples()]
    out["findings"] = [encode(_channel_findings(r, alpha)) for r in out.itertuples()]
    return out


def _channel_sentence(r, alpha: float) -> str:
    if not r.campaigns_with_control:
        return (f"{r.channel}: {r.contacted:,} contacted over {r.campaigns} campaign(s), none "
                "with a control group: its effect cannot be measured.")
    s = effect_sentence(str(r.channel), NO_CONTACT, r.lift, r.lift_low, r.lift_high,
                        r.p_adjusted, alpha=alpha)
    s += _roi_words(r.roi, r.p_adjusted, alpha)
    if r.campaigns_with_control < r.campaigns:
        s += (f" ({r.campaigns - r.campaigns_with_control} of its {r.campaigns} campaigns had "
              "no control group and are left out of the lift.)")
    return s
