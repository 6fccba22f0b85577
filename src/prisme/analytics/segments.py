"""Segment tables: what each RFM segment and each behavioural cluster weighs and is worth.

One row per segment, computed in the engine from ``customer_360``:

* ``customers``, ``customer_share`` — how many parties, and their share of all buyers;
* ``revenue``, ``revenue_share``, ``margin`` — net revenue and margin over the history;
* ``clv_12m`` (total) and ``clv_12m_mean`` — discounted expected value (see :mod:`clv`);
* ``p_alive_mean`` — mean probability that a customer is still active;
* ``churn_risk`` — **mean (1 − P(alive))**, the share of the segment's customers the purchase
  model believes have already stopped buying. It is not the supervised churn score (that
  fills ``customer_360.churn_probability`` in a later stage).
"""

from __future__ import annotations

import ibis

#: what churn_risk means, for tables, charts and the API
CHURN_RISK_DEFINITION = "mean (1 − P(alive)) of the segment's customers (BG/NBD or Pareto/NBD)"


def segment_table(c360: ibis.Table, by: str, *extra: str) -> ibis.Table:
    """Size, revenue, margin, CLV and churn risk per value of ``by`` (parties with a value)."""
    t = c360.filter(c360[by].notnull())
    total_customers = t.count().as_scalar()
    total_revenue = t.revenue.sum().as_scalar()
    g = t.group_by([by, *extra]).aggregate(
        customers=t.count(),
        revenue=t.revenue.sum(),
        margin=t.margin.sum(),
        clv_12m=t.clv_12m.sum(),
        clv_12m_mean=t.clv_12m.mean(),
        p_alive_mean=t.p_alive.mean(),
        churn_risk=(1 - t.p_alive).mean(),
    )
    return g.mutate(
        customer_share=g.customers.cast("float64") / total_customers,
        revenue_share=(g.revenue.cast("float64") / total_revenue.cast("float64")),
    ).order_by([ibis.desc("customers"), by])


def rfm_segments_mart(c360: ibis.Table) -> ibis.Table:
    """``mart_rfm_segments``: one row per named RFM segment."""
    return segment_table(c360, "rfm_segment")


def clusters_mart(c360: ibis.Table) -> ibis.Table:
    """``mart_clusters``: one row per behavioural cluster, with its label in words."""
    return segment_table(c360, "cluster", "cluster_label")


#: French names of the RFM segments (the data keep the English public names)
SEGMENT_FR = {
    "champions": "champions", "loyal": "fidèles", "potential loyalist": "fidèles en devenir",
    "new": "nouveaux", "promising": "prometteurs", "need attention": "à surveiller",
    "about to sleep": "en sommeil proche", "at risk": "à risque",
    "cannot lose them": "à ne pas perdre", "hibernating": "en hibernation", "lost": "perdus",
}


def segment_name(name, lang: str = "en") -> str:
    """A segment's name for a reader of ``lang`` (``en``, ``fr``); the data keep the English public name."""
    return SEGMENT_FR.get(str(name), str(name)) if lang == "fr" else str(name)


def describe_segments(table, name: str = "rfm_segment", top: int = 3,
                      lang: str = "en") -> list[str]:
    """Sentences a manager reads: the segments that carry the most value, and the most at risk.

    ``table`` is a fetched segment mart (pandas) — ``mart_rfm_segments`` or ``mart_clusters``;
    ``lang``: ``en`` or ``fr`` (segment names translated, numbers as that language writes them).
    """
    if len(table) == 0:
        return []
    fr = lang == "fr"
    label = "cluster_label" if name == "cluster" and "cluster_label" in table else name

    def named(v) -> str:
        if label == "cluster_label":
            from prisme.analytics.clusters import cluster_label_name

            return cluster_label_name(v, lang)
        return segment_name(v, lang) if label == "rfm_segment" else str(v)

    def pct(v: float) -> str:
        return f"{v:.0%}".replace("%", "\u00a0%") if fr else f"{v:.0%}"

    def num(v: float) -> str:
        return f"{v:,.0f}".replace(",", "\u202f") if fr else f"{v:,.0f}"

    t = table.assign(revenue_share=table.revenue_share.fillna(0.0))
    out = []
    for row in t.sort_values("revenue_share", ascending=False).head(top).itertuples():
        risk = row.churn_risk == row.churn_risk
        if fr:
            out.append(f"{named(getattr(row, label))} : {pct(row.customer_share)} des clients, "
                       f"{pct(row.revenue_share)} du chiffre d'affaires"
                       + (f", risque d'attrition {pct(row.churn_risk)}" if risk else ""))
        else:
            out.append(f"{named(getattr(row, label))}: {pct(row.customer_share)} of customers, "
                       f"{pct(row.revenue_share)} of revenue"
                       + (f", churn risk {pct(row.churn_risk)}" if risk else ""))
    risky = t.dropna(subset=["churn_risk", "clv_12m"])
    risky = risky[risky.churn_risk >= 0.5]
    if len(risky):
        worst = risky.sort_values("clv_12m", ascending=False).iloc[0]
        out.append(
            f"le plus de valeur en danger : {named(worst[label])} ({num(worst.customers)} "
            f"clients, valeur à 12 mois {num(worst.clv_12m)}, {pct(worst.churn_risk)} "
            "probablement déjà partis)" if fr else
            f"most value at risk: {named(worst[label])} ({num(worst.customers)} customers, "
            f"12-month value {num(worst.clv_12m)}, {pct(worst.churn_risk)} likely already gone)"
        )
    return out
