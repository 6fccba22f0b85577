"""Per-party features computed in the engine: the input of RFM, clusters, CLV and churn.

Everything here is an Ibis expression over the core tables (``fact_sales``, ``party_map``,
``dim_product``, ``fact_web_sessions``, ``fact_calls``, ``fact_surveys``); only the final
one-row-per-party table is ever fetched, by the caller.

Conventions (stated once, used by every analysis):

* **as_of is a day.** Everything that happened on or before that day counts, nothing after
  (event time). Durations are whole days, divided by 7 when ``time_unit="week"``.
* **Identity.** Sales join ``party_map`` on (source, source_customer_id). A customer key seen
  only in facts is a party of its own, ``party_id = source || ':' || source_customer_id``.
  Anonymous sales (no source_customer_id) belong to nobody and are left out.
* **Returns.** A line flagged ``is_return`` counts negatively whatever sign the source used.
  An order's value is its net value. An order is a purchase unless it holds a return and its
  net revenue is ≤ 0 (a return, or an order cancelled by returns); a free order (net 0, no
  return) is a purchase, as in the CDNOW data of Fader, Hardie & Lee.
* **Purchase-model summary** (the convention of the lifetimes package and of Fader, Hardie &
  Lee 2005): purchases are counted per distinct day; ``frequency`` = distinct purchase days − 1
  (repeat purchases), ``recency`` = first → last purchase, ``T`` = first purchase → as_of,
  ``monetary_value`` = mean value of the repeat purchase days (0 without repeat purchase).
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme.warehouse.asof import as_of as warehouse_as_of

#: days per model time unit
TIME_UNITS = {"day": 1.0, "week": 7.0}
#: how many product categories get a share column of their own
TOP_CATEGORIES = 6
#: how many channels get a share column of their own
TOP_CHANNELS = 6


# ------------------------------------------------------------------------------ as of
def as_of_day(value) -> _dt.date:
    """The as-of day of an analysis (a date, a datetime or text such as ``"2011-12-09"``)."""
    if value is None:
        raise ValueError("as_of is required: the day the analysis is run as of")
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"as_of {value!r} is not a date (expected e.g. '2011-12-09')") from exc


def events_until(engine, table: str, as_of) -> ibis.Table:
    """Rows of a fact table whose event happened on or before the as-of day (any load time)."""
    return warehouse_as_of(engine, table, as_of_day(as_of), by="event")


def _slug(value: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", str(value).strip().lower()).strip("_")
    return s or "unknown"


# --------------------------------------------------------------------------- identity
def party_keys(engine) -> ibis.Table:
    """(source, source_customer_id, party_id) for every customer key of the sales.

    ``party_map`` from identity resolution, plus keys seen only in ``fact_sales`` as parties of
    their own (``source:source_customer_id``).
    """
    sales = engine.table("fact_sales")
    keys = (
        sales.filter(sales.source_customer_id.notnull())
        .select("source", "source_customer_id")
        .distinct()
    )
    own = keys.mutate(party_id=keys.source.concat(":", keys.source_customer_id))
    if not engine.has_table("party_map"):
        return own
    pm = engine.table("party_map").select("source", "source_customer_id", "party_id")
    unmapped = own.anti_join(
        pm,
        [own.source == pm.source, own.source_customer_id == pm.source_customer_id],
    )
    return pm.union(unmapped)


def _interactions(engine, table: str, as_of, keys=None) -> ibis.Table | None:
    """An interaction fact (web, calls, surveys) until as_of, with the party_id of its key.

    A row whose ``source`` is known joins the party map on (source, source_customer_id); a row
    without a source (a feed that does not say which system its ids come from) joins on the id
    alone, and only where that id names a single party.
    """
    if not engine.has_table(table):
        return None
    facts = events_until(engine, table, as_of)
    facts = facts.filter(facts.source_customer_id.notnull())
    keys = party_keys(engine) if keys is None else keys
    single = keys.group_by("source_customer_id").aggregate(
        party_id=keys.party_id.min(), parties=keys.party_id.nunique()
    )
    single = single.filter(single.parties == 1).drop("parties")
    if "source" not in facts.columns:
        j = facts.join(single, facts.source_customer_id == single.source_customer_id)
        return j.select(*facts.columns, party_id=single.party_id)
    known = facts.filter(facts.source.notnull())
    known = known.join(
        keys,
        [known.source == keys.source, known.source_customer_id == keys.source_customer_id],
    ).select(*facts.columns, party_id=keys.party_id)
    unknown = facts.filter(facts.source.isnull())
    unknown = unknown.join(
        single, unknown.source_customer_id == single.source_customer_id
    ).select(*facts.columns, party_id=single.party_id)
    return known.union(unknown)


# ------------------------------------------------------------------------------ sales
def party_sales(engine, *, as_of, extra: tuple[str, ...] = (), keys=None) -> ibis.Table:
    """Sales lines until as_of with party_id, signed revenue/cost and the product category
    (``extra``: more columns of ``fact_sales`` kept as they are; ``keys``: the
    :func:`party_keys` table when the caller has it already, e.g. stored once)."""
    s = events_until(engine, "fact_sales", as_of)
    s = s.filter(s.source_customer_id.notnull())
    if "is_cancelled" in s.columns:  # cancelled lines are kept, not sold (core.active_sales)
        s = s.filter(~s.is_cancelled.fill_null(False))
    keys = party_keys(engine) if keys is None else keys
    s = s.join(
        keys,
        [s.source == keys.source, s.source_customer_id == keys.source_customer_id],
    ).select(*s.columns, party_id=keys.party_id)
    category = ibis.null(dt.string)
    unit_cost = ibis.null(s.cost.type())
    if engine.has_table("dim_product"):
        p = engine.table("dim_product")
        if "is_current" in p.columns:
            p = p.filter(p.is_current.fill_null(True))
        p = p.group_by("sku").aggregate(category=p.category.max(), unit_cost=p.unit_cost.max())
        s = s.left_join(p, s.sku == p.sku).select(
            *s.columns, category=p.category, unit_cost=p.unit_cost
        )
        category, unit_cost = s.category, s.unit_cost
    is_return = s.is_return.fill_null(False)
    revenue = ibis.cases((is_return & (s.revenue > 0), -s.revenue), else_=s.revenue)
    cost = s.cost.coalesce((s.quantity * unit_cost.cast("float64")).cast(s.cost.type()))
    cost = ibis.cases((is_return & (cost > 0), -cost), else_=cost)
    return s.select(
        "party_id",
        "source",
        "order_id",
        "ordered_at",
        "sku",
        "quantity",
        "channel",
        *extra,
        revenue=revenue,
        cost=cost,
        is_return=is_return,
        category=category,
    )


def party_orders(engine, *, as_of) -> ibis.Table:
    """One row per (party, order): its day, net revenue, net margin (NULL if a cost is missing)
    and whether it is a purchase (see the module notes)."""
    s = party_sales(engine, as_of=as_of)
    o = s.group_by(["party_id", "source", "order_id"]).aggregate(
        ordered_at=s.ordered_at.min(),
        net_revenue=s.revenue.sum(),
        net_cost=s.cost.sum(),
        lines=s.count(),
        cost_lines=s.cost.count(),
        has_return=s.is_return.any(),
    )
    margin = ibis.cases(
        (o.cost_lines == o.lines, o.net_revenue - o.net_cost), else_=ibis.null(o.net_revenue.type())
    )
    return o.select(
        "party_id",
        "source",
        "order_id",
        "ordered_at",
        "net_revenue",
        order_day=o.ordered_at.date(),
        net_margin=margin,
        is_purchase=(o.net_revenue > 0) | ((o.net_revenue == 0) & ~o.has_return),
    )


def value_basis(engine, *, as_of, use_margin: bool = True) -> str:
    """``"margin"`` when asked and every customer sale line has a known cost, else ``"revenue"``."""
    if not use_margin:
        return "revenue"
    s = party_sales(engine, as_of=as_of)
    lines, known = engine.to_pandas(
        s.aggregate(lines=s.count(), known=s.cost.count())
    ).iloc[0]
    if lines and known == lines:
        return "margin"
    if known:
        warnings.warn(
            f"{lines - known} of {lines} sale lines have no cost (neither in fact_sales nor in "
            "dim_product.unit_cost): customer value is computed on revenue, not margin",
            stacklevel=2,
        )
    return "revenue"


# -------------------------------------------------------------------- the summary
def purchase_summary(
    engine, *, as_of, time_unit: str = "week", basis: str = "revenue"
) -> ibis.Table:
    """frequency, recency, T, monetary_value per party (the purchase models' input)."""
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, not {time_unit!r}")
    unit = TIME_UNITS[time_unit]
    o = party_orders(engine, as_of=as_of)
    o = o.filter(o.is_purchase)
    value = o.net_margin if basis == "margin" else o.net_revenue
    # money stays exact decimal through the sums (a float sum depends on the engine's order
    # of addition); one division in float64 at the end gives the same mean on every engine
    days = o.group_by(["party_id", "order_day"]).aggregate(value=value.sum())
    w = ibis.window(group_by="party_id")
    days = days.mutate(is_first=days.order_day == days.order_day.min().over(w))
    day = ibis.literal(as_of_day(as_of))
    g = days.group_by("party_id").aggregate(
        first_day=days.order_day.min(),
        last_day=days.order_day.max(),
        purchase_days=days.count(),
        total_value=days.value.sum(),
        first_value=days.value.sum(where=days.is_first),
    )
    frequency = (g.purchase_days - 1).cast("int64")
    return g.select(
        "party_id",
        frequency=frequency,
        recency=g.last_day.delta(g.first_day, unit="day").cast("float64") / unit,
        T=day.delta(g.first_day, unit="day").cast("float64") / unit,
        monetary_value=ibis.cases(
            (frequency > 0, (g.total_value - g.first_value).cast("float64") / frequency),
            else_=0.0,
        ),
    )


def _order_features(engine, as_of) -> ibis.Table:
    o = party_orders(engine, as_of=as_of)
    day = ibis.literal(as_of_day(as_of))
    all_margin = o.net_margin.count() == o.count()
    g = o.group_by("party_id").aggregate(
        revenue=o.net_revenue.sum(),
        margin_known=all_margin,
        margin_sum=o.net_margin.sum(),
        orders=o.is_purchase.sum().cast("int64"),
        first_purchase_at=o.ordered_at.min(where=o.is_purchase),
        last_purchase_at=o.ordered_at.max(where=o.is_purchase),
        last_order_at=o.ordered_at.max(),
    )
    return g.select(
        "party_id",
        "revenue",
        "orders",
        "first_purchase_at",
        "last_purchase_at",
        "last_order_at",
        margin=ibis.cases((g.margin_known, g.margin_sum), else_=ibis.null(g.margin_sum.type())),
        tenure_days=day.delta(g.first_purchase_at.date(), unit="day").cast("int64"),
    )


def _top_values(engine, s: ibis.Table, column: str, n: int) -> list[str]:
    top = (
        s.filter(s[column].notnull() & (s.revenue > 0))
        .group_by(column)
        .aggregate(gross=s.revenue.sum())
        .order_by([ibis.desc("gross"), column])
        .limit(n)
    )
    return [v for v in engine.to_pandas(top)[column].tolist() if v is not None]


def _line_features(engine, as_of) -> ibis.Table:
    """Return rate and the channel and category mix (shares of gross revenue)."""
    s = party_sales(engine, as_of=as_of)
    positive = s.revenue > 0
    gross = s.revenue.sum(where=positive).cast("float64")
    returned = (-s.revenue.sum(where=~positive)).cast("float64")
    metrics = {
        "gross_revenue": gross,
        "returned_revenue": returned.fill_null(0.0),
        "return_lines": s.is_return.sum().cast("int64"),
    }
    for channel in _top_values(engine, s, "channel", TOP_CHANNELS):
        where = positive & (s.channel == channel)
        metrics[f"channel_share_{_slug(channel)}"] = s.revenue.sum(where=where).cast("float64")
    for category in _top_values(engine, s, "category", TOP_CATEGORIES):
        where = positive & (s.category == category)
        metrics[f"category_share_{_slug(category)}"] = s.revenue.sum(where=where).cast("float64")
    g = s.group_by("party_id").aggregate(**metrics)
    shares = {
        c: (g[c].fill_null(0.0) / g.gross_revenue).fill_null(0.0)
        for c in g.columns
        if c.startswith(("channel_share_", "category_share_"))
    }
    gross_value = g.gross_revenue.fill_null(0.0)
    return_rate = ibis.cases(
        (gross_value > 0, (g.returned_revenue / gross_value).clip(upper=1.0)),
        (g.returned_revenue > 0, 1.0),
        else_=0.0,
    )
    return g.select("party_id", "return_lines", return_rate=return_rate, **shares)


def _activity_features(engine, as_of) -> list[ibis.Table]:
    parts = []
    web = _interactions(engine, "fact_web_sessions", as_of)
    if web is not None:
        parts.append(web.group_by("party_id").aggregate(web_sessions=web.count()))
    calls = _interactions(engine, "fact_calls", as_of)
    if calls is not None:
        parts.append(calls.group_by("party_id").aggregate(calls=calls.count()))
    surveys = _interactions(engine, "fact_surveys", as_of)
    if surveys is not None:
        w = ibis.window(group_by="party_id", order_by=[ibis.desc("answered_at")])
        last = surveys.mutate(_n=ibis.row_number().over(w))
        last = last.filter(last._n == 0)
        parts.append(
            last.select(
                "party_id",
                last_sat_product=last.sat_product,
                last_sat_service=last.sat_service,
                last_sat_company=last.sat_company,
                last_nps=last.nps,
            )
        )
    return parts


def customer_summary(
    engine, *, as_of, time_unit: str = "week", use_margin: bool = True
) -> ibis.Table:
    """The per-party feature table (one row per party with at least one order until as_of).

    Columns: party_id; frequency, recency, T, monetary_value (purchase-model summary, in
    ``time_unit``; NULL for a party whose orders are all returns); revenue, margin (NULL when a
    cost is missing), orders (purchases), first/last_purchase_at, last_order_at, tenure_days,
    return_rate (returned / gross revenue), return_lines; ``channel_share_*`` and
    ``category_share_*`` (shares of gross revenue for the main channels and categories);
    web_sessions, calls, last survey scores (when those facts exist); ``monetary_basis``
    ("margin" or "revenue", see :func:`value_basis`).
    """
    basis = value_basis(engine, as_of=as_of, use_margin=use_margin)
    base = _order_features(engine, as_of)
    parts = [
        purchase_summary(engine, as_of=as_of, time_unit=time_unit, basis=basis),
        _line_features(engine, as_of),
        *_activity_features(engine, as_of),
    ]
    out = base
    for part in parts:
        out = out.left_join(part, "party_id").drop("party_id_right")
    fills = {c: 0 for c in ("web_sessions", "calls") if c in out.columns}
    if fills:
        out = out.mutate(**{c: out[c].fill_null(0).cast("int64") for c in fills})
    return out.mutate(monetary_basis=ibis.literal(basis))


def scores_as_of(engine, table: str, columns, as_of):
    """The rows of a stored score table (``party_id``, ``as_of``, ``columns``…) scored as of
    ``as_of``, keyed by ``party_id`` — a stage's ``customer_360_part`` (None when the stage
    has not run yet)."""
    if not engine.has_table(table):
        return None
    t = engine.table(table)
    return t.filter(t.as_of == ibis.literal(as_of_day(as_of))).select("party_id", *columns)
