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


def segment_highlights(table, name: str = "rfm_segment", top: int = 3) -> dict:
    """What a manager should read first in a fetched segment mart (pandas,
    ``mart_rfm_segments`` or ``mart_clusters``), as data: ``label`` (the column naming the
    segments: ``cluster_label`` for clusters when present), ``top`` (the ``top`` segments
    carrying the most revenue, as records) and ``at_risk`` (the segment with the most
    12-month value among those whose churn risk is at least 50 %, or None)."""
    label = "cluster_label" if name == "cluster" and "cluster_label" in table else name
    if len(table) == 0:
        return {"label": label, "top": [], "at_risk": None}
    t = table.assign(revenue_share=table.revenue_share.fillna(0.0))
    best = t.sort_values("revenue_share", ascending=False).head(top)
    risky = t.dropna(subset=["churn_risk", "clv_12m"])
    risky = risky[risky.churn_risk >= 0.5]
    worst = risky.sort_values("clv_12m", ascending=False).iloc[0].to_dict() if len(risky) \
        else None
    return {"label": label, "top": best.to_dict("records"), "at_risk": worst}


def describe_segments(table, name: str = "rfm_segment", top: int = 3) -> list[str]:
    """The build summary's sentences (English, like every summary line of the stages): the
    segments that carry the most value, and the most at risk. Pages and reports say them in
    the reader's language with :func:`prisme.i18n.segments.segment_sentences`."""
    h = segment_highlights(table, name, top)
    label = h["label"]
    out = []
    for row in h["top"]:
        risk = row["churn_risk"] == row["churn_risk"]
        out.append(f"{row[label]}: {row['customer_share']:.0%} of customers, "
                   f"{row['revenue_share']:.0%} of revenue"
                   + (f", churn risk {row['churn_risk']:.0%}" if risk else ""))
    w = h["at_risk"]
    if w is not None:
        out.append(f"most value at risk: {w[label]} ({w['customers']:,.0f} customers, "
                   f"12-month value {w['clv_12m']:,.0f}, {w['churn_risk']:.0%} likely already "
                   "gone)")
    return out
