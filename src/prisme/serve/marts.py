"""The tables the application reads most, laid out for reading: built by ``prisme build``.

* ``mart_cube_sales`` — one row per sale line with everything the cube cuts it by: the buyer's
  ``party_id``, the order, the day, the channel, the product category, signed revenue and cost
  (returns negative, cost from ``dim_product.unit_cost`` when the line has none — the
  definitions of :func:`prisme.analytics.features.party_sales`) and the buyer's RFM segment,
  cluster, branch, advisor and region from ``customer_360``. A cube query is then one scan
  and one grouping, with no join.
* ``mart_cube_rollup`` — the sale lines pre-aggregated for the cube: for each time level
  (no time, year, quarter, month) × with or without the channel × with or without the product
  category (16 grouping sets), one row per combination of those labels and the buyer's RFM
  segment, cluster, branch, advisor and region, with revenue and margin (sums, which roll up)
  and the distinct orders and buying customers *of that combination* (counted from the lines:
  a distinct count of months does not add up to the quarter's, so each level and each
  with/without is stored, and :mod:`prisme.serve.cube` sums a distinct count only across the
  buyer's attributes, which split customers and orders without overlap, else reads the lines);
* ``mart_card_sources`` — which source won each field of each golden record (the
  ``<field>_source`` columns of ``dim_party``), sorted by ``party_id`` for the card;
* ``mart_search`` — each customer's name and company folded (accents off, lower case), e-mail
  and phone, so that a search is a scan of ready keys;
* ``mart_timeline`` — every event of every customer (purchases by order, calls, web visits,
  campaign contacts, surveys), sorted by ``party_id`` so that a card reads a few row groups.

Both are built under temporary names and swapped in in one transaction, after the marts. When
they are missing (a warehouse built before this stage), the application computes the same
expressions on the fly (:func:`cube_sales`, :func:`timeline`).
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.datatypes as dt

CUBE_SALES = "mart_cube_sales"
CUBE_ROLLUP = "mart_cube_rollup"
TIMELINE = "mart_timeline"
CARD_SOURCES = "mart_card_sources"
SEARCH = "mart_search"
SERVING_MARTS = (CUBE_SALES, CUBE_ROLLUP, TIMELINE, CARD_SOURCES, SEARCH)
#: time levels of the roll-up, coarsest first ("all": no time; days stay at the line level)
ROLLUP_LEVELS = ("all", "year", "quarter", "month")
#: the label that stands for a missing value in the cube's answers
UNKNOWN = "(unknown)"
_FAR = _dt.date(9999, 12, 31)
#: customer attributes copied onto every sale line (cube dimension → customer_360 column)
PARTY_ATTRIBUTES = {"rfm_segment": "rfm_segment", "cluster": "cluster_label",
                    "branch": "branch", "advisor": "advisor", "region": "country"}


def cube_sales(engine) -> ibis.Table:
    """Sale lines of identified customers with the cube's dimensions (see module doc)."""
    from prisme.analytics.features import party_sales

    s = party_sales(engine, as_of=_FAR)
    c = engine.table("customer_360").select(
        "party_id", **{f"c_{k}": v for k, v in PARTY_ATTRIBUTES.items()})
    s = s.left_join(c, "party_id")
    return s.select(
        "party_id",
        order_key=s.source.concat(ibis.literal("\x1f"), s.order_id),
        ordered_at=s.ordered_at,
        channel=s.channel,
        category=s.category,
        revenue=s.revenue.cast("float64"),
        cost=s.cost.cast("float64"),
        **{k: s[f"c_{k}"].cast("string") for k in PARTY_ATTRIBUTES},
    )


_EVENT = {"party_id": dt.string, "at": dt.timestamp, "kind": dt.string, "ref": dt.string,
          "detail": dt.string, "flag": dt.boolean, "amount": dt.float64}


def _text(*parts) -> ibis.Value:
    vals = [p.cast("string") for p in parts]
    out = vals[0].fill_null("")
    for v in vals[1:]:
        out = out.concat(ibis.cases((v.isnull() | (v == ""), ""),
                                    else_=ibis.literal(" · ").concat(v)))
    return out


def timeline(engine) -> ibis.Table:
    """Every event of every identified customer (see module doc), one schema for all kinds."""
    from prisme.analytics.features import _interactions, party_sales

    parts = []
    s = party_sales(engine, as_of=_FAR)
    o = s.group_by(["party_id", "source", "order_id"]).aggregate(
        at=s.ordered_at.min(), channel=s.channel.max(), lines=s.count(),
        amount=s.revenue.cast("float64").sum(), returned=s.is_return.any())
    parts.append(o.select("party_id", "at", kind=ibis.literal("purchase"), ref=o.order_id,
                          detail=_text(o.channel, o.lines.cast("string") + " line(s)"),
                          flag=o.returned, amount=o.amount))
    c = _interactions(engine, "fact_calls", _FAR)
    if c is not None:
        parts.append(c.select("party_id", at=c["at"], kind=ibis.literal("call"), ref=c.call_id,
                              detail=_text(c.direction, c.reason, c.outcome),
                              flag=ibis.null(dt.boolean), amount=ibis.null(dt.float64)))
    w = _interactions(engine, "fact_web_sessions", _FAR)
    if w is not None:
        parts.append(w.select("party_id", at=w.started_at, kind=ibis.literal("web"),
                              ref=w.session_id,
                              detail=_text(w.landing_page, w.device,
                                           w.clicks.cast("string") + " clicks"),
                              flag=ibis.null(dt.boolean), amount=ibis.null(dt.float64)))
    k = _interactions(engine, "fact_campaign_contacts", _FAR)
    if k is not None:
        name = k.campaign_id
        if engine.has_table("dim_campaign"):
            d = engine.table("dim_campaign")
            if "is_current" in d.columns:
                d = d.filter(d.is_current)
            d = d.select("campaign_id", campaign_name="name", campaign_channel="channel")
            k = k.left_join(d, "campaign_id")
            name = k.campaign_name.fill_null(k.campaign_id)
            detail = _text(name, k.campaign_channel, k.group)
        else:
            detail = _text(name, k.group)
        parts.append(k.select("party_id", at=k.contacted_at, kind=ibis.literal("campaign"),
                              ref=k.campaign_id, detail=detail, flag=k.responded,
                              amount=k.response_revenue.cast("float64")))
    v = _interactions(engine, "fact_surveys", _FAR)
    if v is not None:
        parts.append(v.select("party_id", at=v.answered_at, kind=ibis.literal("survey"),
                              ref=ibis.null(dt.string),
                              detail=_text("NPS " + v.nps.cast("int64").cast("string"),
                                           v.comment),
                              flag=ibis.null(dt.boolean), amount=ibis.null(dt.float64)))
    schema = ibis.schema(_EVENT)
    return ibis.union(*[p.cast(schema) for p in parts])


def card_sources(engine) -> ibis.Table:
    """``party_id``, ``record_count``, the ``<field>_source`` columns of the golden record and
    ``source_records``, the party's source records (``source``, ``source_customer_id``, in no
    particular order) from ``party_map`` — which is sorted by source record, so that a card
    reads them here, sorted by ``party_id``, rather than scan ``party_map``."""
    d = engine.table("dim_party")
    if "is_current" in d.columns:
        d = d.filter(d.is_current)
    cols = [c for c in d.columns if c.endswith("_source") or c == "record_count"]
    out = d.select("party_id", *cols)
    if not engine.has_table("party_map"):
        return out
    pm = engine.table("party_map")
    recs = pm.group_by("party_id").aggregate(source_records=ibis.struct(
        {"source": pm.source, "source_customer_id": pm.source_customer_id}).collect())
    return out.left_join(recs, out.party_id == recs.party_id).select(
        *[out[c] for c in out.columns], recs.source_records)


def search_index(engine) -> ibis.Table:
    """``party_id``, the customer's branch and advisor (for the rights) and the search keys."""
    c = engine.table("customer_360")
    text = c.first_name.fill_null("").concat(" ", c.last_name.fill_null(""), " ",
                                             c.company.fill_null(""))
    from prisme.warehouse.conform import fold

    return c.select("party_id", "branch", "advisor", search_text=fold(text),
                    email_key=c.email.lower(), phone_key=c.phone)


def _time_label(ts, level: str):
    if level == "year":
        return ts.year().cast("string")
    if level == "quarter":
        return ts.year().cast("string").concat(ibis.literal("-Q"), ts.quarter().cast("string"))
    if level == "month":
        return ts.strftime("%Y-%m")
    return ts.strftime("%Y-%m-%d")


def cube_rollup(sales: ibis.Table) -> ibis.Table:
    """The grouping sets of ``mart_cube_rollup`` (see module doc) over ``sales``, rows shaped
    like ``mart_cube_sales``."""
    s = sales.mutate(
        margin_=sales.revenue.cast("float64") - sales.cost.cast("float64").fill_null(0),
        **{lvl: _time_label(sales.ordered_at, lvl).fill_null(UNKNOWN)
           for lvl in ROLLUP_LEVELS[1:]},
        channel_=sales.channel.cast("string").fill_null(UNKNOWN),
        category_=sales.category.cast("string").fill_null(UNKNOWN))
    parts = []
    for i, level in enumerate(ROLLUP_LEVELS):
        times = list(ROLLUP_LEVELS[1:i + 1])
        for by_channel in (False, True):
            for by_category in (False, True):
                keys = [*PARTY_ATTRIBUTES, *times]
                keys += ["channel_"] * by_channel + ["category_"] * by_category
                g = s.group_by(keys).aggregate(
                    revenue=s.revenue.cast("float64").sum(), margin=s.margin_.sum(),
                    orders=s.order_key.nunique().cast("int64"),
                    customers=s.party_id.nunique().cast("int64"))
                parts.append(g.select(
                    level=ibis.literal(level), by_channel=ibis.literal(by_channel),
                    by_category=ibis.literal(by_category),
                    **{k: g[k].cast("string") for k in PARTY_ATTRIBUTES},
                    **{lvl: g[lvl] if lvl in times else ibis.null(dt.string)
                       for lvl in ROLLUP_LEVELS[1:]},
                    channel=g.channel_ if by_channel else ibis.null(dt.string),
                    category=g.category_ if by_category else ibis.null(dt.string),
                    revenue=g.revenue, margin=g.margin, orders=g.orders,
                    customers=g.customers))
    return ibis.union(*parts)


def build_serving_marts(engine, settings=None) -> dict[str, int]:
    """(Re)build ``mart_cube_sales`` and ``mart_timeline``; returns their row counts."""
    if not all(engine.has_table(t) for t in ("customer_360", "fact_sales", "dim_party")):
        return {}
    built = {}
    try:
        engine.create_table(f"{CUBE_SALES}__building",
                            cube_sales(engine).order_by(["ordered_at", "party_id"]),
                            overwrite=True)
        rollup = cube_rollup(engine.table(f"{CUBE_SALES}__building"))
        engine.create_table(f"{CUBE_ROLLUP}__building",
                            rollup.order_by(["level", "by_channel", "by_category", "branch",
                                             "advisor", "year", "quarter", "month"]),
                            overwrite=True)
        engine.create_table(f"{TIMELINE}__building",
                            timeline(engine).order_by(["party_id", ibis.desc("at")]),
                            overwrite=True)
        engine.create_table(f"{CARD_SOURCES}__building",
                            card_sources(engine).order_by("party_id"), overwrite=True)
        engine.create_table(f"{SEARCH}__building", search_index(engine).order_by("party_id"),
                            overwrite=True)
        with engine.transaction():
            for name in SERVING_MARTS:
                engine.drop_table(name, force=True)
                engine.rename_table(f"{name}__building", name)
        for name in SERVING_MARTS:
            built[name] = int(engine.scalar(engine.table(name).count()))
    finally:
        for name in SERVING_MARTS:
            engine.drop_table(f"{name}__building", force=True)
    return built
