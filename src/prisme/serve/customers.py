"""Customer search and the 360° card, read through the user's :class:`Reader`."""

from __future__ import annotations

import ibis
import pandas as pd

from prisme.access.rights import Forbidden, may_search_personal

#: fields of the golden record shown on the card, in order
CARD_FIELDS = ("kind", "first_name", "last_name", "company", "email", "phone", "address_line",
               "postal_code", "city", "country", "gender", "birth_date", "branch", "advisor",
               "created_at", "updated_at")
CONSENTS = ("consent_email", "consent_phone", "consent_post")
SEARCH_COLUMNS = ("party_id", "first_name", "last_name", "company", "email", "phone", "city",
                  "branch", "advisor", "rfm_segment", "clv_12m")
_ACCENTS = str.maketrans("àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸŒÆ",
                         "aaaaaaceeeeiiiinooooouuuuyyoaaaaaaaceeeeiiiinooooouuuuyyoa")


def fold(text: str) -> str:
    """Lower case without accents (the same folding the engine applies to the columns)."""
    return text.translate(_ACCENTS).lower()


def _fold_expr(col):
    """Accent- and case-folded text, in the engine (portable: ``translate`` of Ibis)."""
    src = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ"
    dst = "aaaaaaceeeeiiiinooooouuuuyyoa"
    return col.lower().translate(src, dst)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def search(reader, q: str, page: int = 1, page_size: int = 20) -> dict:
    """Customers whose id, name, e-mail or phone match ``q`` (accent- and case-insensitive):
    ``{items, total, page, page_size}``. An analyst without the personal-data grant searches
    by customer id only."""
    c = reader.table("customer_360")
    q = (q or "").strip()
    page = max(1, int(page))
    page_size = min(max(1, int(page_size)), 200)
    if q:
        words = [fold(w) for w in q.split() if w]
        conds = [c.party_id.upper() == q.upper()]
        if may_search_personal(reader.user):
            name = _fold_expr(c.first_name.fill_null("").concat(
                ibis.literal(" "), c.last_name.fill_null(""), ibis.literal(" "),
                c.company.fill_null("")))
            conds.append(ibis.and_(*[name.contains(w) for w in words]))
            if "@" in q:
                conds.append(c.email.lower() == q.lower())
            digits = _digits(q)
            if len(digits) >= 6:
                tail = digits[-9:]
                conds.append(c.phone.fill_null("").contains(tail))
        c = c.filter(ibis.or_(*conds))
    total = int(reader.scalar(c.count()) or 0)
    rows = reader.df(c.order_by("party_id").select(*SEARCH_COLUMNS)
                     .limit(page_size, offset=(page - 1) * page_size))
    items = _records(rows)
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: _plain(v) for k, v in rec.items()})
    return out


def _plain(v):
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    try:
        from decimal import Decimal
        if isinstance(v, Decimal):
            return float(v)
    except ImportError:  # pragma: no cover
        pass
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


class NotFound(LookupError):
    pass


def card(reader, party_id: str, timeline_limit: int = 200) -> dict:
    """The 360° card of one customer, or :class:`Forbidden` / :class:`NotFound`.

    A party outside the user's rights is refused (not reported as missing) only when it exists,
    so an advisor cannot probe ids; the refusal is audited by the caller.
    """
    c = reader.table("customer_360")
    row = reader.df(c.filter(c.party_id == party_id).limit(1))
    if row.empty:
        raw = reader.engine.table("customer_360")
        exists = int(reader.engine.scalar(raw.filter(raw.party_id == party_id).count()) or 0)
        if exists:
            raise Forbidden(f"customer {party_id} is outside your portfolio "
                            f"({_scope(reader.user)})")
        raise NotFound(f"no customer {party_id}")
    r = {k: _plain(v) for k, v in row.iloc[0].to_dict().items()}
    sources = {}
    if reader.has("dim_party"):
        dp = reader.table("dim_party")
        cols = [f"{f}_source" for f in (*CARD_FIELDS, *CONSENTS) if f"{f}_source" in dp.columns]
        extra = [x for x in ("record_count",) if x in dp.columns]
        s = reader.df(dp.filter(dp.party_id == party_id).select(*cols, *extra).limit(1))
        if len(s):
            sources = {k[:-7]: _plain(v) for k, v in s.iloc[0].to_dict().items()
                       if k.endswith("_source")}
            if extra:
                r["record_count"] = _plain(s.iloc[0]["record_count"])
    golden = [{"field": f, "value": r.get(f), "source": sources.get(f)} for f in CARD_FIELDS
              if f in r]
    consent = [{"field": f, "value": r.get(f), "source": sources.get(f)} for f in CONSENTS
               if f in r]
    records = reader.df(reader.party_records(party_id))
    return {
        "party_id": party_id,
        "golden_record": golden,
        "consent": consent,
        "source_records": _records(records),
        "value": {k: r.get(k) for k in ("revenue", "margin", "orders", "first_purchase_at",
                                         "last_purchase_at", "recency_days", "p_alive",
                                         "expected_purchases_12m", "clv_12m", "clv_12m_low",
                                         "clv_12m_high", "clv_horizon_months", "as_of")},
        "segment": {"rfm_segment": r.get("rfm_segment"), "rfm_score": r.get("rfm_score"),
                    "cluster": r.get("cluster"), "cluster_label": r.get("cluster_label")},
        "churn": {"churn_probability": r.get("churn_probability"),
                  "risk_from_p_alive": None if r.get("p_alive") is None else 1 - r["p_alive"],
                  "churn_reasons": _split(r.get("churn_reasons"))},
        "next_best_offers": _split(r.get("next_best_offers")),
        "timeline": timeline(reader, party_id, timeline_limit),
    }


def _scope(user) -> str:
    from prisme.access.rights import scope_text

    return scope_text(user)


def _split(text) -> list[str]:
    if not text:
        return []
    if isinstance(text, list):
        return [str(x) for x in text]
    import re

    return [p.strip() for p in re.split(r"[;|]\s*|,\s+(?=[A-Z])", str(text)) if p.strip()]


def timeline(reader, party_id: str, limit: int = 200) -> list[dict]:
    """Purchases (one line per order), calls, web visits, campaign contacts and surveys,
    newest first."""
    parts = []
    if reader.has("fact_sales"):
        s = reader.facts_of("fact_sales", party_id)
        if "is_cancelled" in s.columns:
            s = s.filter(~s.is_cancelled.fill_null(False))
        o = s.group_by(["order_id", "channel"]).aggregate(
            at=s.ordered_at.min(), amount=s.revenue.cast("float64").sum(), lines=s.count())
        parts.append(("purchase", o, lambda r: f"order {r['order_id']} · {r['lines']} line(s) · "
                                               f"{r['channel'] or ''}"))
    if reader.has("fact_calls"):
        c = reader.facts_of("fact_calls", party_id)
        parts.append(("call", c.select(at=c["at"], direction=c.direction, reason=c.reason,
                                       outcome=c.outcome),
                      lambda r: " · ".join(str(x) for x in (r["direction"], r["reason"],
                                                            r["outcome"]) if x)))
    if reader.has("fact_web_sessions"):
        w = reader.facts_of("fact_web_sessions", party_id)
        parts.append(("web", w.select(at=w.started_at, page=w.landing_page, clicks=w.clicks,
                                      device=w.device),
                      lambda r: " · ".join(str(x) for x in (r["page"], r["device"],
                                                            f"{r['clicks']} clicks"
                                                            if r["clicks"] is not None else None)
                                           if x)))
    if reader.has("fact_campaign_contacts"):
        k = reader.facts_of("fact_campaign_contacts", party_id)
        if reader.has("dim_campaign"):
            d = reader.table("dim_campaign").select("campaign_id", campaign="name",
                                                    campaign_channel="channel")
            k = k.left_join(d, "campaign_id").drop("campaign_id_right")
            name = k.campaign
        else:
            name = k.campaign_id
        parts.append(("campaign", k.select(at=k.contacted_at, name=name, group=k.group,
                                           responded=k.responded),
                      lambda r: f"{r['name']} · {r['group']}" +
                      (" · responded" if r["responded"] else "")))
    if reader.has("fact_surveys"):
        v = reader.facts_of("fact_surveys", party_id)
        parts.append(("survey", v.select(at=v.answered_at, nps=v.nps, comment=v.comment),
                      lambda r: f"NPS {r['nps']:.0f}" if r["nps"] is not None else "" +
                      (f" · {r['comment']}" if r["comment"] else "")))
    events = []
    for kind, expr, describe in parts:
        df = reader.df(expr.order_by(ibis.desc("at")).limit(limit))
        for rec in df.to_dict(orient="records"):
            rec = {k: _plain(v) for k, v in rec.items()}
            events.append({"at": rec["at"], "kind": kind, "what": describe(rec),
                           "amount": rec.get("amount")})
    events.sort(key=lambda e: e["at"] or "", reverse=True)
    return events[:limit]
