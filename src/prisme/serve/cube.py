"""The OLAP cube: declared measures by declared dimensions, computed in the engine.

A request names measures and dimensions from :data:`MEASURES` and :data:`DIMENSIONS` and
filters ``dimension:value|value``; nothing else is accepted (no SQL from the request: names
select Python objects, values are bound as literals). Each measure lives on a fact — sale
lines, customers (``customer_360``) or campaign contacts — and each dimension says how it reads
on each fact: time (day → month → quarter → year) exists on sales and contacts, not on
customers (their value and risk are as of the last build). Each fact's part is one grouped
Ibis expression over the user's rows (:class:`prisme.serve.data.Reader`); the parts are joined
on the dimension labels.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme.access.rights import check_slice
from prisme.serve.marts import UNKNOWN
from prisme.serve.marts import _time_label as _time_label

TIME_LEVELS = ("year", "quarter", "month", "day")
MAX_DIMENSIONS = 3
MAX_CELLS = 5000


class CubeError(ValueError):
    """A cube request that cannot be answered; the message says what was expected (a 400)."""


@dataclass(frozen=True)
class Measure:
    name: str
    fact: str
    aggregate: Callable[[ibis.Table], ibis.Value]
    unit: str  # money | count | ratio
    label_en: str
    label_fr: str
    #: on sales: the stored column of ``mart_cube_rollup`` and whether it is a distinct count
    #: (which adds up only across the buyer's attributes)
    rollup: str | None = None
    distinct: bool = False


def _num(x):
    return x.cast("float64")


MEASURES: dict[str, Measure] = {m.name: m for m in [
    Measure("revenue", "sales", lambda t: _num(t.revenue).sum(), "money", "Revenue",
            "Chiffre d'affaires", rollup="revenue"),
    Measure("margin", "sales", lambda t: (_num(t.revenue) - _num(t.cost).fill_null(0)).sum(),
            "money", "Margin", "Marge", rollup="margin"),
    Measure("orders", "sales", lambda t: t.order_key.nunique(), "count", "Orders",
            "Commandes", rollup="orders", distinct=True),
    Measure("customers", "sales", lambda t: t.party_id.nunique(), "count", "Buying customers",
            "Clients acheteurs", rollup="customers", distinct=True),
    Measure("clv", "customers", lambda t: t.clv_12m.sum(), "money", "CLV (12 months)",
            "Valeur client (12 mois)"),
    Measure("churn_risk", "customers", lambda t: t.risk.mean(), "ratio", "Churn risk",
            "Risque d'attrition"),
    Measure("customer_count", "customers", lambda t: t.count(), "count", "Customers",
            "Clients"),
    Measure("contacts", "contacts", lambda t: t.count(), "count", "Campaign contacts",
            "Contacts de campagne"),
    Measure("response_rate", "contacts", lambda t: t.responded.cast("float64").mean(), "ratio",
            "Response rate", "Taux de réponse"),
]}


@dataclass(frozen=True)
class Dimension:
    name: str
    label_en: str
    label_fr: str
    facts: tuple[str, ...]
    finer: str | None = None
    coarser: str | None = None


_PARTY_DIMS = ("sales", "customers", "contacts")
DIMENSIONS: dict[str, Dimension] = {d.name: d for d in [
    Dimension("year", "Year", "Année", ("sales", "contacts"), finer="quarter"),
    Dimension("quarter", "Quarter", "Trimestre", ("sales", "contacts"), "month", "year"),
    Dimension("month", "Month", "Mois", ("sales", "contacts"), "day", "quarter"),
    Dimension("day", "Day", "Jour", ("sales", "contacts"), None, "month"),
    Dimension("rfm_segment", "RFM segment", "Segment RFM", _PARTY_DIMS),
    Dimension("cluster", "Cluster", "Groupe", _PARTY_DIMS),
    Dimension("channel", "Channel", "Canal", ("sales", "contacts")),
    Dimension("category", "Product category", "Catégorie de produit", ("sales",)),
    Dimension("branch", "Branch", "Agence", _PARTY_DIMS),
    Dimension("advisor", "Advisor", "Conseiller", _PARTY_DIMS),
    Dimension("region", "Region (country)", "Région (pays)", _PARTY_DIMS),
]}
_PARTY_COLUMNS = {"rfm_segment": "rfm_segment", "cluster": "cluster_label", "branch": "branch",
                  "advisor": "advisor", "region": "country"}


@dataclass
class CubeQuery:
    measures: list[str]
    dimensions: list[str]
    filters: dict[str, list[str]] = field(default_factory=dict)

    def key(self) -> tuple:
        return (tuple(self.measures), tuple(self.dimensions),
                tuple(sorted((k, tuple(v)) for k, v in self.filters.items())))

    def drill_down(self, dimension: str, value: str) -> CubeQuery | None:
        """The query one level finer on a time dimension, sliced on ``value``."""
        d = DIMENSIONS[dimension]
        if d.finer is None:
            return None
        dims = [d.finer if x == dimension else x for x in self.dimensions]
        return CubeQuery(self.measures, dims, {**self.filters, dimension: [value]})

    def roll_up(self, dimension: str) -> CubeQuery | None:
        d = DIMENSIONS[dimension]
        if d.coarser is None:
            return None
        dims = [d.coarser if x == dimension else x for x in self.dimensions]
        filters = {k: v for k, v in self.filters.items() if k != d.coarser}
        return CubeQuery(self.measures, dims, filters)

    def params(self) -> dict[str, str]:
        return {"measures": ",".join(self.measures), "dimensions": ",".join(self.dimensions),
                "filters": ";".join(f"{k}:{'|'.join(v)}" for k, v in self.filters.items())}


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [n.strip() for item in items for n in item.split(",") if n.strip()]


def parse(measures, dimensions, filters=None) -> CubeQuery:
    """Check a request against the declared names; a :class:`CubeError` says what is wrong."""
    ms, ds = _names(measures), _names(dimensions)
    if not ms:
        raise CubeError(f"name at least one measure; declared: {', '.join(MEASURES)}")
    bad = [m for m in ms if m not in MEASURES]
    if bad:
        raise CubeError(f"unknown measure {', '.join(map(repr, bad))}; declared measures: "
                        f"{', '.join(MEASURES)}")
    bad = [d for d in ds if d not in DIMENSIONS]
    if bad:
        raise CubeError(f"unknown dimension {', '.join(map(repr, bad))}; declared dimensions: "
                        f"{', '.join(DIMENSIONS)}")
    if len(set(ds)) != len(ds) or len(ds) > MAX_DIMENSIONS:
        raise CubeError(f"name up to {MAX_DIMENSIONS} different dimensions")
    fs: dict[str, list[str]] = {}
    for part in [p for f in ([filters] if isinstance(filters, str) else filters or [])
                 for p in f.split(";") if p.strip()]:
        dim, sep, values = part.partition(":")
        dim = dim.strip()
        if not sep or not values.strip():
            raise CubeError(f"a filter is dimension:value or dimension:value|value, got {part!r}")
        if dim not in DIMENSIONS:
            raise CubeError(f"unknown dimension {dim!r} in filters; declared dimensions: "
                            f"{', '.join(DIMENSIONS)}")
        fs.setdefault(dim, []).extend(v.strip() for v in values.split("|") if v.strip())
    for m in ms:
        fact = MEASURES[m].fact
        for d in [*ds, *fs]:
            if fact not in DIMENSIONS[d].facts:
                raise CubeError(
                    f"measure {m!r} (per {fact}) has no dimension {d!r}; it can be cut by "
                    f"{', '.join(n for n, x in DIMENSIONS.items() if fact in x.facts)}")
    return CubeQuery(ms, ds, fs)


def _fact_table(reader, fact: str, needed: set[str]) -> ibis.Table:
    """The fact's rows (restricted to the user) with one string column per needed dimension."""
    party_dims = needed & set(_PARTY_COLUMNS)
    if fact == "customers":
        t = reader.table("customer_360")
        risk = t.churn_probability.cast("float64").fill_null(1 - t.p_alive.cast("float64"))
        return t.mutate(risk=risk, **{d: t[_PARTY_COLUMNS[d]].cast("string")
                                      for d in party_dims})
    if fact == "sales":
        from prisme.serve.marts import CUBE_SALES, cube_sales

        t = reader.derived(CUBE_SALES, cube_sales)
        cols = {"channel": t.channel} if "channel" in needed else {}
        for level in needed & set(TIME_LEVELS):
            cols[level] = _time_label(t.ordered_at, level)
        return t.mutate(**cols) if cols else t
    if fact == "contacts":
        t = reader.table("fact_campaign_contacts")
        pm = reader.table("party_map").view()
        t = t.left_join(pm, [t.source == pm.source,
                             t.source_customer_id == pm.source_customer_id]).select(
            t, party_id=pm.party_id)
        t = t.filter(t.group != "control")
        if "channel" in needed:
            c = reader.table("dim_campaign").select("campaign_id", campaign_channel="channel")
            t = t.left_join(c, "campaign_id").drop("campaign_id_right")
        time_col, channel_col = "contacted_at", "campaign_channel"
    else:  # pragma: no cover - facts are declared above
        raise CubeError(fact)
    if party_dims:
        c = reader.table("customer_360").select(
            "party_id", *{_PARTY_COLUMNS[d] for d in party_dims})
        c = c.rename({f"c360_{_PARTY_COLUMNS[d]}": _PARTY_COLUMNS[d] for d in party_dims})
        t = t.left_join(c, "party_id").drop("party_id_right")
    cols = {}
    if "channel" in needed:
        cols["channel"] = t[channel_col]
    for level in needed & set(TIME_LEVELS):
        cols[level] = _time_label(t[time_col], level)
    for d in party_dims:
        cols[d] = t[f"c360_{_PARTY_COLUMNS[d]}"].cast("string")
    return t.mutate(**cols)


def rollup_plan(q: CubeQuery, measures: list[str]) -> dict | None:
    """How ``mart_cube_rollup`` answers the sales ``measures`` of ``q`` exactly, or None (the
    sale lines must be read).

    The rows used are those of one grouping set: the finest time level the query names
    (``all`` when none), with the channel if it names the channel, with the category if it
    names the category; they are then grouped by the query's dimensions. Sums (revenue,
    margin) add up across anything. A distinct count (orders, customers) adds up only across
    the buyer's attributes (each customer and each order has one RFM segment, branch…): it
    is exact only when each answer row gathers one label of the grouping set's time level,
    channel and category — the dimension itself, or a filter on a single value."""
    named = set(q.dimensions) | set(q.filters)
    if "day" in named:
        return None
    times = [lvl for lvl in TIME_LEVELS if lvl in named]
    level = times[-1] if times else "all"
    if any(MEASURES[m].distinct for m in measures):
        for axis in ({level} - {"all"}) | ({"channel", "category"} & named):
            if axis not in q.dimensions and len(set(q.filters.get(axis, []))) != 1:
                return None
    return {"level": level, "by_channel": "channel" in named,
            "by_category": "category" in named}


def _from_rollup(reader, dimensions: list[str], measures: list[str], plan: dict,
                 filters: dict[str, list]) -> ibis.Table:
    """The answer from ``mart_cube_rollup`` (restricted to the user); ``filters`` maps a
    dimension to the values (or ``ibis.param`` placeholders) it keeps."""
    from prisme.serve.marts import CUBE_ROLLUP

    t = reader.table(CUBE_ROLLUP)
    t = t.filter((t.level == plan["level"]) & (t.by_channel == plan["by_channel"]) &
                 (t.by_category == plan["by_category"]))
    for dim, values in filters.items():
        t = t.filter(t[dim].fill_null(UNKNOWN).isin(list(values)))
    aggs = {}
    for m in measures:
        total = t[MEASURES[m].rollup].sum()
        aggs[m] = total.fill_null(0) if MEASURES[m].distinct else total
    if not dimensions:
        return t.aggregate(**aggs)
    t = t.mutate(**{d: t[d].fill_null(UNKNOWN) for d in dimensions})
    return (t.group_by(dimensions).aggregate(**aggs).order_by(dimensions)
            .limit(MAX_CELLS + 1))


def _rollup_part(reader, q: CubeQuery, measures: list[str], plan: dict) -> pd.DataFrame:
    """A prepared query per question *shape* (measures, dimensions, grouping set, filtered
    dimensions and their number of values) and user scope: the filter values are bound at
    each request, so a slice or a dice of a shape asked before compiles nothing."""
    fs = sorted((d, list(dict.fromkeys(v))) for d, v in q.filters.items())
    shape = ("cube.rollup", tuple(measures), tuple(q.dimensions),
             tuple((d, len(v)) for d, v in fs), tuple(sorted(plan.items())))

    def build():
        params = {d: [ibis.param(dt.string) for _ in v] for d, v in fs}
        expr = _from_rollup(reader, q.dimensions, measures, plan, params)
        return expr, [p for d, _ in fs for p in params[d]]

    rows = reader.fetch(shape, build, *[x for _, v in fs for x in v])
    return pd.DataFrame.from_records(rows, columns=[*q.dimensions, *measures])


def _span(level: str, label: str) -> tuple[_dt.datetime, _dt.datetime] | None:
    """The time a label of a time level covers, [start, end); None when ``level`` is not
    time or the label is not one (``(unknown)``, a typo): the label filter alone decides."""
    try:
        if level == "year" and label.isdigit() and len(label) == 4:
            y = int(label)
            return _dt.datetime(y, 1, 1), _dt.datetime(y + 1, 1, 1)
        if level == "quarter" and len(label) == 7 and label[4:6] == "-Q" and label[6] in "1234":
            y, k = int(label[:4]), int(label[6])
            end = _dt.datetime(y + 1, 1, 1) if k == 4 else _dt.datetime(y, 3 * k + 1, 1)
            return _dt.datetime(y, 3 * k - 2, 1), end
        if level == "month" and len(label) == 7 and label[4] == "-":
            start = _dt.datetime.strptime(label, "%Y-%m")
            end = _dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
            return start, end
        if level == "day" and len(label) == 10:
            start = _dt.datetime.strptime(label, "%Y-%m-%d")
            return start, start + _dt.timedelta(days=1)
    except ValueError:
        return None
    return None


def run(reader, q: CubeQuery) -> pd.DataFrame:
    """The answer: one row per combination of the dimensions' labels, one column per measure.

    Sales measures are read from ``mart_cube_rollup`` when it answers the question exactly
    (:func:`rollup_plan`), else from the sale lines (``mart_cube_sales``)."""
    from prisme.serve.marts import CUBE_ROLLUP

    check_slice(reader.user, q.filters)
    parts = []
    for fact in dict.fromkeys(MEASURES[m].fact for m in q.measures):
        needed = set(q.dimensions) | set(q.filters)
        mine = [m for m in q.measures if MEASURES[m].fact == fact]
        plan = rollup_plan(q, mine) if fact == "sales" and reader.has(CUBE_ROLLUP) else None
        if plan is not None:
            part = _rollup_part(reader, q, mine, plan)
            if len(part) > MAX_CELLS:
                raise CubeError(f"more than {MAX_CELLS:,} cells: add a filter or use a coarser "
                                "level (roll up)")
            parts.append(part)
            continue
        t = _fact_table(reader, fact, needed)
        for dim, values in q.filters.items():
            col = t[dim].fill_null(UNKNOWN)
            t = t.filter(col.isin([ibis.literal(v) for v in values]))
            spans = [_span(dim, v) for v in values] if fact == "sales" else [None]
            if spans and None not in spans:  # the lines are sorted by time: skip the others
                t = t.filter(ibis.or_(*[(t.ordered_at >= a) & (t.ordered_at < b)
                                        for a, b in spans]))
        aggs = {m: MEASURES[m].aggregate(t) for m in q.measures if MEASURES[m].fact == fact}
        if q.dimensions:
            t = t.mutate(**{d: t[d].fill_null(UNKNOWN) for d in q.dimensions})
            expr = t.group_by(q.dimensions).aggregate(
                **{m: MEASURES[m].aggregate(t) for m in aggs})
            expr = expr.order_by(q.dimensions).limit(MAX_CELLS + 1)
        else:
            expr = t.aggregate(**aggs)
        part = reader.df(expr)
        if len(part) > MAX_CELLS:
            raise CubeError(f"more than {MAX_CELLS:,} cells: add a filter or use a coarser "
                            "level (roll up)")
        parts.append(part)
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p, on=q.dimensions, how="outer") if q.dimensions else \
            pd.concat([out, p], axis=1)
    if q.dimensions and len(parts) > 1:  # one part comes sorted by the engine
        out = out.sort_values(q.dimensions).reset_index(drop=True)
    for m in q.measures:
        out[m] = pd.to_numeric(out[m], errors="coerce").astype("float64")
    return out[[*q.dimensions, *q.measures]]


def describe() -> dict:
    """The declared measures and dimensions (for the API and the explorer)."""
    return {
        "measures": [{"name": m.name, "fact": m.fact, "unit": m.unit, "label": m.label_en}
                     for m in MEASURES.values()],
        "dimensions": [{"name": d.name, "label": d.label_en, "facts": list(d.facts),
                        "finer": d.finer, "coarser": d.coarser}
                       for d in DIMENSIONS.values()],
        "filters": "dimension:value|value;dimension:value",
    }
