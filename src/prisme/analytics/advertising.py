"""Advertising effectiveness: how weekly revenue moves with each channel's ad spend.

The media-mix regression of Jin, Wang, Sun, Chan & Koehler (2017), "Bayesian Methods for Media
Mix Modeling with Carryover and Shape Effects" (Google), fitted by least squares:

    revenue_w = b0 + trend + season_w + Σ_c β_c · (1 − exp(−A_c,w / κ_c)) + ε_w
    A_c,w = S_c,w + θ_c · A_c,w−1          (geometric adstock of the spend S)

θ (carry-over from one week to the next) and κ (the adstock at which the channel gives 63% of
its maximum β) are chosen by a grid search, one channel at a time until nothing changes
(coordinate descent on the residual sum of squares, with every β ≥ 0 during the search: spend
is not allowed to lower revenue); β and their intervals come from the final
least-squares fit *given* θ and κ (the intervals do not include the uncertainty of θ and κ, so
they are narrower than the truth). Season: two yearly harmonics; trend: linear and quadratic.

**This is correlational.** Spend is not randomised: a channel bought more when demand is high
gets credit for the demand. Each sentence says so, unless ``experiment=True`` is passed (an
experiment such as a geo test backs the channel's numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prisme.analytics.findings import encode, finding

#: weekly carry-over searched; above 0.8 an adstock moves so slowly that it stands in for
#: the trend instead of the spend
THETAS = np.round(np.arange(0.0, 0.81, 0.1), 2)
KAPPAS = (0.25, 0.5, 1.0, 2.0, 4.0)  #: multiples of the channel's mean adstock
MIN_WEEKS = 26


def adstock(spend: np.ndarray, theta: float) -> np.ndarray:
    """Geometric adstock: A_w = S_w + θ·A_(w−1)."""
    out = np.empty(len(spend))
    acc = 0.0
    for i, s in enumerate(np.asarray(spend, dtype=float)):
        acc = s + theta * acc
        out[i] = acc
    return out


def _controls(n: int, week_of_year: np.ndarray) -> np.ndarray:
    t = np.arange(n) / max(n - 1, 1)
    ang = 2 * np.pi * week_of_year / 52.18
    return np.column_stack([np.ones(n), t, t**2, np.sin(ang), np.cos(ang), np.sin(2 * ang),
                            np.cos(2 * ang)])


@dataclass
class AdResponse:
    """Per channel (``table``) and the fit's ``r2``, ``weeks`` and ``note``."""

    table: pd.DataFrame
    r2: float
    weeks: int
    note: str


def fit_response(weekly: pd.DataFrame, *, revenue: str = "revenue", experiment: bool = False,
                 alpha: float = 0.05, sweeps: int = 3) -> AdResponse:
    """``weekly``: one row per week (column ``week``, a date), the outcome ``revenue`` and one
    spend column per channel named ``spend_<channel>``. Returns the response of each channel:
    ``adstock_decay`` θ, ``saturation_kappa`` κ, ``effect`` β (weekly revenue at saturation)
    and its interval, ``p_value``, ``spend``, ``contribution`` (revenue the fit attributes to
    the channel over the period), ``roas`` (contribution / spend), ``marginal_roas`` (revenue
    of one more euro at the current spend, carry-over included), ``sentence`` (English) and
    ``findings`` (its code and figures, said in the reader's language by
    ``prisme.i18n.findings``)."""
    import statsmodels.api as sm
    from scipy.optimize import lsq_linear

    spend_cols = [c for c in weekly.columns if c.startswith("spend_")]
    if not spend_cols:
        raise ValueError("advertising: no spend column (spend_<channel>) in the weekly table")
    w = weekly.sort_values("week").reset_index(drop=True)
    n = len(w)
    if n < MIN_WEEKS:
        raise ValueError(f"advertising: {n} weeks of spend and revenue; the response needs at "
                         f"least {MIN_WEEKS} (half a year, to tell the season from the spend)")
    y = w[revenue].to_numpy(float)
    S = {c[6:]: w[c].fillna(0).to_numpy(float) for c in spend_cols}
    for ch, s in S.items():
        if np.ptp(s) == 0:
            raise ValueError(f"advertising: the spend of {ch} never changes ({s[0]:g} every "
                             "week): its effect cannot be told apart from the baseline")
    woy = pd.to_datetime(w["week"]).dt.isocalendar().week.to_numpy(float)
    X0 = _controls(n, woy)
    chans = list(S)
    theta = {c: 0.5 for c in chans}
    kappa = {c: 1.0 for c in chans}

    def feature(c, th, k):
        a = adstock(S[c], th)
        scale = a.mean() * k
        return 1 - np.exp(-a / scale) if scale > 0 else np.zeros(n)

    lower = np.r_[np.full(X0.shape[1], -np.inf), np.zeros(len(chans))]
    scale_y = float(np.abs(y).mean()) or 1.0

    def rss(feats):
        # spend does not lower revenue: channel effects constrained ≥ 0 while searching
        X = np.column_stack([X0, *feats.values()])
        r = lsq_linear(X, y / scale_y, bounds=(lower, np.inf)).fun
        return float(r @ r)

    feats = {c: feature(c, theta[c], kappa[c]) for c in chans}
    for _ in range(sweeps):
        changed = False
        for c in chans:
            best = (rss(feats), theta[c], kappa[c])
            for th in THETAS:
                for k in KAPPAS:
                    trial = {**feats, c: feature(c, th, k)}
                    r = rss(trial)
                    if r < best[0] - 1e-9:
                        best = (r, th, k)
            if (best[1], best[2]) != (theta[c], kappa[c]):
                theta[c], kappa[c] = best[1], best[2]
                feats[c] = feature(c, theta[c], kappa[c])
                changed = True
        if not changed:
            break
    X = np.column_stack([X0, *feats.values()])
    fit = sm.OLS(y, X).fit()
    ci = np.asarray(fit.conf_int(alpha))
    rows = []
    k0 = X0.shape[1]
    for i, c in enumerate(chans):
        j = k0 + i
        beta = float(fit.params[j])
        a = adstock(S[c], theta[c])
        scale = a.mean() * kappa[c]
        contribution = float(beta * feats[c].sum())
        spend = float(S[c].sum())
        # d revenue / d spend at the mean adstock, over all the weeks the euro carries over
        marginal = beta * np.exp(-a.mean() / scale) / scale / (1 - theta[c])
        rows.append({"channel": c, "spend": spend, "adstock_decay": theta[c],
                     "saturation_kappa": float(scale), "effect": beta,
                     "effect_low": float(ci[j, 0]), "effect_high": float(ci[j, 1]),
                     "p_value": float(fit.pvalues[j]), "contribution": contribution,
                     "roas": contribution / spend if spend > 0 else np.nan,
                     "marginal_roas": float(marginal),
                     "evidence": "experiment" if experiment else "correlational"})
    table = pd.DataFrame(rows)
    table["sentence"] = [_sentence(r, alpha) for r in table.itertuples()]
    table["findings"] = [encode([_finding(r, alpha)]) for r in table.itertuples()]
    note = ("Experiment-backed." if experiment else
            "Correlational: spend was not randomised, so a channel bought when demand is high "
            "is credited with that demand. Test a channel (switch it off in some regions) "
            "before moving budget on these numbers alone.")
    return AdResponse(table, float(fit.rsquared), n, note)


def _sentence(r, alpha: float) -> str:
    tail = "" if r.evidence == "experiment" else " (correlational, not a tested effect)"
    if r.p_value >= alpha:
        return (f"{r.channel}: no clear link between its spend and revenue (p = {r.p_value:.2g})"
                f"{tail}.")
    return (f"{r.channel}: each euro spent goes with {r.roas:.2f} euros of revenue on average "
            f"and {r.marginal_roas:.2f} for one more euro at the current level; its effect "
            f"carries {100 * r.adstock_decay:.0f}% into the next week{tail}.")


def _finding(r, alpha: float) -> dict:
    """The facts of :func:`_sentence` as a code and its figures (``prisme.i18n.findings``)."""
    tested = r.evidence == "experiment"
    if r.p_value >= alpha:
        return finding("ad_no_clear_link", channel=r.channel, p=r.p_value, tested=tested)
    return finding("ad_response", channel=r.channel, roas=r.roas, marginal_roas=r.marginal_roas,
                   carry=r.adstock_decay, tested=tested)


def weekly_table(engine, *, as_of=None, sales_channel: str | None = None) -> pd.DataFrame:
    """Weekly revenue (anonymous sales included, returns negative; only the sales of
    ``sales_channel`` when given, e.g. ``"web"`` where online ads act) and spend per ad
    channel, from ``fact_sales`` and ``fact_ad_spend`` in the engine; complete weeks only."""
    import ibis

    from prisme.analytics.forecast import _sales

    a = engine.table("fact_ad_spend")
    s = _sales(engine)
    if as_of is not None:
        stamp = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        s = s.filter(s.ordered_at < stamp.to_pydatetime())
        a = a.filter(a.date < stamp.date())
    if sales_channel is not None:
        s = s.filter(s.channel.strip().lower() == sales_channel.lower())
    is_return = s.is_return.fill_null(False)
    rev = ibis.cases((is_return & (s.revenue > 0), -s.revenue), else_=s.revenue)
    s = s.mutate(week=s.ordered_at.truncate("W").date(), _rev=rev.cast("float64"))
    r = engine.to_pandas(s.group_by("week").aggregate(revenue=s._rev.sum(),
                                                      first=s.ordered_at.min(),
                                                      last=s.ordered_at.max()))
    a = a.mutate(week=a.date.cast("timestamp").truncate("W").date(),
                 channel_=a.channel.fill_null("unknown"))
    sp = engine.to_pandas(a.group_by(["week", "channel_"]).aggregate(
        spend=a.spend.cast("float64").sum(), days=a.date.nunique()))
    if r.empty or sp.empty:
        return pd.DataFrame()
    wide = sp.pivot_table(index="week", columns="channel_", values="spend", aggfunc="sum")
    wide.columns = [f"spend_{c}" for c in wide.columns]
    full_days = sp.groupby("week")["days"].max()
    out = r.set_index("week")[["revenue"]].join(wide, how="inner")
    out = out[full_days.reindex(out.index).fillna(0) >= 7]
    # first and last weeks of the sales may be partial
    out = out.sort_index().iloc[1:-1]
    return out.fillna(0.0).reset_index().rename(columns={"index": "week"})
