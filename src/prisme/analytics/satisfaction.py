"""Satisfaction drivers: which survey items (product, service, company) go with recommendation
(NPS) and with customers leaving.

* **Key-driver regression** — NPS answer (0–10) on the standardised items (ordinary least
  squares): each coefficient is the change of the NPS answer for one standard deviation more
  of the item, the others held fixed, with its interval (Johnson & Gustafsson 2000, ch. 7).
  The items are correlated, so the coefficients share the credit; the correlation of each item
  with NPS is given beside them.
* **Churn drivers** — a logistic regression of "left within ``horizon_days`` after the answer"
  (no purchase in that window) on the standardised items: odds ratio per standard deviation with
  its interval. Only answers old enough to have seen the whole window count.
* **Exploratory factor analysis** (statsmodels ``Factor``, principal axis, one factor per
  eigenvalue above 1 of the correlation matrix): do the items measure one overall feeling or
  separate ones.
* :func:`driver_sentences` — what a manager reads (English); :func:`driver_findings` — the
  same facts as codes and figures, said in the reader's language by ``prisme.i18n.findings``.
* :func:`customer_360_part` — each customer's survey answers in ``customer_360`` (a
  contributor of :data:`prisme.analytics.marts.CONTRIBUTORS`): the number of answers, the
  date and scores of the last one, the mean NPS answer and mean satisfaction, as of the
  build's day, computed in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from prisme.analytics.findings import finding

ITEMS = ("sat_product", "sat_service", "sat_company")
#: the columns this module contributes to customer_360 (see prisme.analytics.marts)
CUSTOMER_360_COLUMNS = {
    "surveys": "int64",  # answers until as_of
    "last_survey_date": "date",  # the day of the last answer
    "last_nps": "float64",  # 0–10, the last answer's
    "last_sat_product": "float64",
    "last_sat_service": "float64",
    "last_sat_company": "float64",
    "mean_nps": "float64",  # over every answer until as_of
    "mean_satisfaction": "float64",  # mean of the satisfaction items over every answer
}
LABELS = {"sat_product": "product satisfaction", "sat_service": "service satisfaction",
          "sat_company": "satisfaction with the company", "nps": "recommendation (NPS)"}
MIN_ANSWERS = 30


@dataclass
class Drivers:
    """``nps`` (one row per item: standardised effect, interval, p-value, correlation),
    ``churn`` (odds ratio per SD, interval, p-value; empty if no churn label), ``loadings``
    (item × factor), ``variance_explained``, ``answers``, ``nps_score`` (% promoters −
    % detractors), ``sentences`` and ``notes``."""

    nps: pd.DataFrame
    churn: pd.DataFrame
    loadings: pd.DataFrame
    variance_explained: float
    answers: int
    nps_score: float
    sentences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)


def _usable_items(df: pd.DataFrame, items) -> list[str]:
    out = []
    for c in items:
        if c not in df.columns:
            continue
        v = pd.to_numeric(df[c], errors="coerce")
        if v.notna().sum() >= MIN_ANSWERS and v.std() > 0:
            out.append(c)
    return out


def drivers(df: pd.DataFrame, *, items=ITEMS, outcome: str = "nps", churned: str | None = None,
            alpha: float = 0.05) -> Drivers:
    """Key drivers of ``outcome`` (and of ``churned``, a 0/1 column, when given) among
    ``items``. ``df`` has one row per survey answer."""
    import statsmodels.api as sm

    if outcome not in df.columns:
        raise ValueError(f"satisfaction: no {outcome!r} column among the survey answers")
    use = _usable_items(df, items)
    dropped = [c for c in items if c not in use]
    notes = [f"{c}: left out (missing, constant or fewer than {MIN_ANSWERS} answers)"
             for c in dropped if c in df.columns]
    if not use:
        raise ValueError("satisfaction: no survey item varies over enough answers "
                         f"(at least {MIN_ANSWERS} answers with different scores are needed)")
    data = df[[*use, outcome] + ([churned] if churned else [])].apply(pd.to_numeric,
                                                                      errors="coerce")
    d = data.dropna(subset=[*use, outcome])
    if len(d) < MIN_ANSWERS:
        raise ValueError(f"satisfaction: {len(d)} complete answers; at least {MIN_ANSWERS} "
                         "are needed to say which item matters")
    if d[outcome].std() == 0:
        raise ValueError(f"satisfaction: every answer gives {outcome} = {d[outcome].iloc[0]:g}; "
                         "nothing to explain")
    Z = (d[use] - d[use].mean()) / d[use].std()
    X = sm.add_constant(Z)
    ols = sm.OLS(d[outcome], X).fit()
    ci = ols.conf_int(alpha)
    nps = pd.DataFrame({
        "item": use, "effect_per_sd": ols.params[use].to_numpy(),
        "effect_low": ci.loc[use, 0].to_numpy(), "effect_high": ci.loc[use, 1].to_numpy(),
        "p_value": ols.pvalues[use].to_numpy(),
        "correlation": [float(d[c].corr(d[outcome])) for c in use],
    })
    churn = pd.DataFrame(columns=["item", "odds_ratio_per_sd", "odds_low", "odds_high",
                                  "p_value"])
    if churned:
        c = d.dropna(subset=[churned])
        if c[churned].nunique() < 2:
            notes.append(f"churn drivers not computed: every answer has {churned} = "
                         f"{c[churned].iloc[0] if len(c) else 'nothing'} (one class)")
        elif len(c) >= MIN_ANSWERS:
            Zc = sm.add_constant((c[use] - c[use].mean()) / c[use].std())
            lg = sm.Logit(c[churned].astype(float), Zc).fit(disp=0)
            lci = np.exp(lg.conf_int(alpha))
            churn = pd.DataFrame({"item": use,
                                  "odds_ratio_per_sd": np.exp(lg.params[use]).to_numpy(),
                                  "odds_low": lci.loc[use, 0].to_numpy(),
                                  "odds_high": lci.loc[use, 1].to_numpy(),
                                  "p_value": lg.pvalues[use].to_numpy()})
    loadings, explained = _factors(d[use])
    nps_values = d[outcome]
    score = float(100 * ((nps_values >= 9).mean() - (nps_values <= 6).mean()))
    out = Drivers(nps, churn, loadings, explained, len(d), score, notes=notes)
    out.sentences = driver_sentences(out, alpha)
    out.findings = driver_findings(out, alpha)
    return out


def _factors(items: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    from statsmodels.multivariate.factor import Factor

    corr = np.corrcoef(items.to_numpy(float), rowvar=False)
    eig = np.linalg.eigvalsh(np.atleast_2d(corr))
    k = max(1, int((eig > 1).sum()))
    if items.shape[1] < 2:
        return pd.DataFrame({"factor_1": [1.0]}, index=items.columns), 1.0
    fa = Factor(items.to_numpy(float), n_factor=min(k, items.shape[1] - 1), method="pa").fit()
    L = np.asarray(fa.loadings)
    if L.sum() < 0:
        L = -L
    loadings = pd.DataFrame(L, index=items.columns,
                            columns=[f"factor_{i + 1}" for i in range(L.shape[1])])
    explained = float((L**2).sum() / items.shape[1])
    return loadings, explained


def driver_sentences(d: Drivers, alpha: float = 0.05) -> list[str]:
    n = d.nps.sort_values("effect_per_sd", ascending=False)
    top = n.iloc[0]
    out = [f"Over {d.answers:,} survey answers the NPS is {d.nps_score:+.0f}. "
           f"{LABELS.get(top['item'], top['item']).capitalize()} goes with recommendation most: "
           f"one standard deviation more, {top['effect_per_sd']:+.2f} points of NPS answer "
           f"(±{(top['effect_high'] - top['effect_low']) / 2:.2f})."]
    weak = n[n.p_value >= alpha]
    if len(weak):
        out.append("No clear link once the others are known: "
                   + ", ".join(LABELS.get(i, i) for i in weak["item"]) + ".")
    if len(d.churn):
        c = d.churn.sort_values("odds_ratio_per_sd")
        best = c.iloc[0]
        if best["p_value"] < alpha and best["odds_ratio_per_sd"] < 1:
            out.append(f"Customers one standard deviation more satisfied with "
                       f"{LABELS.get(best['item'], best['item']).replace(' satisfaction', '')}"
                       f" are {100 * (1 - best['odds_ratio_per_sd']):.0f}% less likely to leave "
                       f"(odds ratio {best['odds_ratio_per_sd']:.2f}, "
                       f"{best['odds_low']:.2f}–{best['odds_high']:.2f}).")
        else:
            out.append("No survey item clearly predicts who leaves.")
    if d.loadings.shape[1] == 1 and d.variance_explained > 0.5:
        out.append(f"The items move together (one factor carries "
                   f"{100 * d.variance_explained:.0f}% of their variance): customers judge the "
                   "company as a whole, so fixing the weakest point lifts every score.")
    elif d.loadings.shape[1] > 1:
        out.append(f"The items measure {d.loadings.shape[1]} distinct feelings; treat them "
                   "separately.")
    return out


def driver_findings(d: Drivers, alpha: float = 0.05) -> list[dict]:
    """The facts of :func:`driver_sentences` as codes and figures (``mart_satisfaction
    .findings``, said in the reader's language by ``prisme.i18n.findings``); items by their
    code (``sat_service``…)."""
    n = d.nps.sort_values("effect_per_sd", ascending=False)
    top = n.iloc[0]
    out = [finding("nps_driver", answers=d.answers, nps=d.nps_score, item=top["item"],
                   effect=top["effect_per_sd"], low=top["effect_low"],
                   high=top["effect_high"])]
    weak = n[n.p_value >= alpha]
    if len(weak):
        out.append(finding("no_clear_link", items=list(weak["item"])))
    if len(d.churn):
        c = d.churn.sort_values("odds_ratio_per_sd")
        best = c.iloc[0]
        if best["p_value"] < alpha and best["odds_ratio_per_sd"] < 1:
            out.append(finding("churn_driver", item=best["item"],
                               odds=best["odds_ratio_per_sd"], low=best["odds_low"],
                               high=best["odds_high"]))
        else:
            out.append(finding("no_churn_driver"))
    if d.loadings.shape[1] == 1 and d.variance_explained > 0.5:
        out.append(finding("one_factor", share=d.variance_explained))
    elif d.loadings.shape[1] > 1:
        out.append(finding("factors", n=d.loadings.shape[1]))
    return out


def survey_table(engine, *, horizon_days: int = 180, as_of=None) -> pd.DataFrame:
    """Survey answers with their items, NPS, and ``churned`` — no purchase in the
    ``horizon_days`` after the answer (NULL when the answer is too recent to know), from the
    warehouse (Ibis: surveys joined to their party, the party's purchase days)."""
    import ibis

    from prisme.analytics.features import _interactions, party_orders

    day = as_of
    if day is None:
        s = engine.table("fact_sales")
        day = engine.scalar(s.ordered_at.max())
    day = pd.Timestamp(day)
    sv = _interactions(engine, "fact_surveys", day)
    if sv is None:
        raise ValueError("satisfaction: no survey loaded (fact_surveys)")
    o = party_orders(engine, as_of=day)
    o = o.filter(o.is_purchase)
    j = sv.left_join(o, [sv.party_id == o.party_id, o.ordered_at > sv.answered_at,
                         o.ordered_at <= sv.answered_at + ibis.interval(days=horizon_days)])
    g = j.group_by([sv.party_id, sv.answered_at]).aggregate(
        **{c: j[c].max() for c in (*ITEMS, "nps")}, purchases=j.order_id.count())
    limit = (day - pd.Timedelta(days=horizon_days)).to_pydatetime()
    g = g.mutate(churned=ibis.cases((g.answered_at <= limit, (g.purchases == 0).cast("int64")),
                                    else_=ibis.null("int64")))
    return engine.to_pandas(g)


def customer_360_part(engine, settings, as_of):
    """Per party, its survey answers until ``as_of`` (answers linked to the party through
    ``party_map``, see ``features._interactions``): how many, the last one's date and
    scores, the mean NPS answer and the mean of the satisfaction items. None when no
    survey was ever loaded. Computed in the engine."""
    import ibis

    from prisme.analytics.features import _interactions

    sv = _interactions(engine, "fact_surveys", as_of)
    if sv is None:
        return None
    last_first = ibis.window(group_by="party_id",
                             order_by=[ibis.desc("answered_at"), "sat_product", "sat_service",
                                       "sat_company", "nps"])
    ranked = sv.mutate(_n=ibis.row_number().over(last_first))
    last = ranked.filter(ranked._n == 0).select(
        "party_id", last_survey_date=ranked.answered_at.date(), last_nps=ranked.nps,
        **{f"last_{c}": ranked[c] for c in ITEMS})
    items = [sv[c].cast("float64") for c in ITEMS]
    answered = sum((i.notnull().cast("int64") for i in items[1:]),
                   items[0].notnull().cast("int64"))
    total = sum((i.fill_null(0.0) for i in items[1:]), items[0].fill_null(0.0))
    per_answer = sv.mutate(_sat=ibis.cases((answered > 0, total / answered), else_=ibis.null("float64")))
    agg = per_answer.group_by("party_id").aggregate(
        surveys=per_answer.count(), mean_nps=per_answer.nps.cast("float64").mean(),
        mean_satisfaction=per_answer._sat.mean())
    return agg.join(last, "party_id").select("party_id", *CUSTOMER_360_COLUMNS)
