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

Every row carries a ``sentence`` a manager reads, and a campaign without a control group says
plainly that its effect cannot be measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

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
