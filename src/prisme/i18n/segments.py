"""The segment tables in sentences a manager reads, in their language (the choice of what
to say is :func:`prisme.analytics.segments.segment_highlights`)."""

from __future__ import annotations

from prisme.analytics.segments import segment_highlights
from prisme.i18n import formats
from prisme.i18n.names import cluster_label_name, segment_name


def segment_sentences(table, name: str = "rfm_segment", top: int = 3,
                      lang: str = "en", currency: str | None = None) -> list[str]:
    """The segments that carry the most value, and the one with the most value at risk.

    ``table`` is a fetched segment mart (pandas) — ``mart_rfm_segments`` or
    ``mart_clusters``; names, numbers and money as ``lang`` (``en``, ``fr``) writes them."""
    h = segment_highlights(table, name, top)
    label = h["label"]
    fr = lang == "fr"

    def named(v) -> str:
        if label == "cluster_label":
            return cluster_label_name(v, lang)
        return segment_name(v, lang) if label == "rfm_segment" else str(v)

    def pct(v) -> str:
        return formats.percent(v, lang)

    out = []
    for row in h["top"]:
        risk = row["churn_risk"] == row["churn_risk"]
        if fr:
            out.append(f"{named(row[label])} : {pct(row['customer_share'])} des clients, "
                       f"{pct(row['revenue_share'])} du chiffre d'affaires"
                       + (f", risque d'attrition {pct(row['churn_risk'])}" if risk else ""))
        else:
            out.append(f"{named(row[label])}: {pct(row['customer_share'])} of customers, "
                       f"{pct(row['revenue_share'])} of revenue"
                       + (f", churn risk {pct(row['churn_risk'])}" if risk else ""))
    w = h["at_risk"]
    if w is not None:
        n, value = formats.number(w["customers"], lang), formats.money(w["clv_12m"], lang,
                                                                       currency)
        out.append(
            f"le plus de valeur en danger : {named(w[label])} ({n} clients, valeur à 12 mois "
            f"{value}, {pct(w['churn_risk'])} probablement déjà partis)" if fr else
            f"most value at risk: {named(w[label])} ({n} customers, 12-month value {value}, "
            f"{pct(w['churn_risk'])} likely already gone)")
    return out
