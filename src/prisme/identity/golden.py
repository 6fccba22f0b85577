"""The golden record: one row per party (``dim_party``), each field taken from the best record.

Survivorship rules come from ``[survivorship]`` in ``prisme.toml``: a ``default`` rule and
per-field rules, each one of

* ``trusted`` — the value of the most trusted source (lowest ``trust`` of the source in
  ``[sources.*]``; a record's source is matched on the ``source`` constant of a configured
  source, or on its name), ties broken by the most recent record;
* ``recent`` — the value of the most recently updated record (``updated_at``, else the time
  it was loaded);
* ``complete`` — the longest non-empty value (ties: most trusted, then most recent).

Empty values never win. ``created_at`` is the oldest record's (the customer has been known
since then) and ``updated_at`` the latest. Consent is combined conservatively: an opt-out in
any record wins, an opt-in needs at least one record saying so, otherwise it stays unknown.
Beside every field ``<field>_source`` and ``<field>_record`` name the source and the
``source_customer_id`` that supplied it.

Everything runs in the engine, whatever the number of parties. Many parties hold one record
(about half of them in the demo company) or none (a key seen only in facts); their golden
record is that record, copied field by field (:func:`_single_records`) with no ranking at all. The parties with several records go through
one grouped aggregation (``min_by`` over each record's rank in its party under the field's
rule; the ranks are window functions, one per rule) (:func:`_ranked_records`). Both paths give
the same row for a one-record party (a property test checks it).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme.config import ConfigError
from prisme.engine.functions import min_by
from prisme.warehouse.schema import ENTITIES

CUSTOMER = ENTITIES["customer"]
KEY = ["source", "source_customer_id"]
CONSENT = ("consent_email", "consent_phone", "consent_post")
#: the fields of the golden record (every canonical customer column but the record key)
FIELDS = [c.name for c in CUSTOMER.columns if c.name not in KEY]
DEFAULT_TRUST = 100
_SEP = "\x1f"  # between source and record id in the ``_who`` column
_OLDEST = pd.Timestamp("1900-01-01").to_pydatetime()


def source_trust(settings) -> dict[str, int]:
    """Trust rank of each source value a customer record can carry (lower wins)."""
    trust: dict[str, int] = {}
    for name, src in settings.sources.items():
        if src.entity != "customer":
            continue
        for value in {name, str(src.constants.get("source", name))}:
            trust[value] = min(trust.get(value, src.trust), src.trust)
    return trust


def field_rules(settings) -> dict[str, str]:
    """The survivorship rule of every golden field, checked against the canonical model."""
    surv = settings.survivorship
    unknown = sorted(set(surv.fields) - set(FIELDS))
    if unknown:
        raise ConfigError(
            f"prisme.toml: [survivorship.fields] names {', '.join(unknown)}, which are not "
            f"customer fields; expected some of {', '.join(FIELDS)}"
        )
    return {f: surv.fields.get(f, surv.default) for f in FIELDS}


def current_customers(engine) -> ibis.Table:
    """The current version of every customer record (one row per source record)."""
    t = engine.table("dim_customer")
    if "is_current" in t.columns:  # the view gives exactly one current version per key
        return t.filter(t.is_current)
    order = [t[c].desc() for c in ("valid_from", "loaded_at") if c in t.columns]
    if order:
        t = t.mutate(_v=ibis.row_number().over(group_by=KEY, order_by=order))
        t = t.filter(t._v == 0).drop("_v")
    return t


def party_records(engine, settings, party_map: ibis.Table | None = None) -> ibis.Table:
    """Each party's customer records with the columns the rules sort on (trust, recency)."""
    pm = party_map if party_map is not None else engine.table("party_map")
    cust = current_customers(engine)
    cols = [c for c in FIELDS if c in cust.columns]
    recency = cust.updated_at if "updated_at" in cust.columns else ibis.null(dt.timestamp)
    if "loaded_at" in cust.columns:
        recency = recency.coalesce(cust.loaded_at)
    cust = cust.select(*KEY, *cols, _recency=recency.coalesce(ibis.literal(_OLDEST)),
                       _has_record=ibis.literal(True))
    trust = pd.DataFrame(list(source_trust(settings).items()), columns=["_src", "_trust"])
    trust_t = ibis.memtable(trust.astype({"_src": "string", "_trust": "int64"}))
    rows = pm.select(*KEY, "party_id").left_join(cust, KEY)
    rows = rows.left_join(trust_t, rows.source == trust_t._src).drop("_src")
    return rows.mutate(_trust=rows._trust.coalesce(DEFAULT_TRUST),
                       _has_record=rows._has_record.coalesce(False))


def _present(col: ibis.Value) -> ibis.BooleanValue:
    if col.type().is_string():
        return col.notnull() & (col.strip().length() > 0)
    return col.notnull()


def _rank(rows: ibis.Table, *order) -> ibis.IntegerValue:
    """Position of each record in its party under an order (0 = wins); the record key ends
    every order so that ties always resolve to the same record."""
    tie = [rows.source.asc(), rows.source_customer_id.asc()]
    return ibis.row_number().over(group_by=rows.party_id, order_by=[*order, *tie])


def _ranks(rows: ibis.Table, rules: dict[str, str]) -> dict[str, ibis.IntegerValue]:
    """The rank columns the fields need: one per rule, plus per-field ones where the order
    depends on the value itself (``complete``, and the dates)."""
    trusted, recent = rows._trust.asc(), rows._recency.desc()
    ranks = {"_rank_trusted": _rank(rows, trusted, recent),
             "_rank_recent": _rank(rows, recent, trusted)}
    for f, rule in rules.items():
        if f not in rows.columns or f in CONSENT or f in ("created_at", "updated_at"):
            continue
        if rule == "complete":
            col = rows[f]
            length = col.strip().length() if col.type().is_string() else ibis.literal(0)
            ranks[f"_rank_{f}"] = _rank(rows, length.desc(), trusted, recent)
    if "created_at" in rows.columns:  # the customer is known since the oldest record
        ranks["_rank_created_at"] = _rank(rows, rows.created_at.asc())
    if "updated_at" in rows.columns:
        ranks["_rank_updated_at"] = _rank(rows, rows.updated_at.desc())
    return ranks


def _rank_of(rows: ibis.Table, field: str, rule: str) -> ibis.IntegerValue:
    name = f"_rank_{field}"
    return rows[name] if name in rows.columns else rows[f"_rank_{rule}"]


def _consent(rows: ibis.Table, field: str) -> dict[str, ibis.Value]:
    """An opt-out anywhere wins; an opt-in needs one record; otherwise unknown. The source
    and record named are the latest record saying what was decided."""
    col, rank = rows[field], rows._rank_recent
    no, yes = col == False, col == True  # noqa: E712 - SQL comparisons
    out = {field: ibis.cases((no.any(), False), (yes.any(), True),
                             else_=ibis.null(dt.boolean))}
    out[f"{field}_who"] = min_by(rows._who, rank, no).coalesce(min_by(rows._who, rank, yes))
    return out


def golden_records(engine, settings, party_map: ibis.Table | None = None) -> ibis.Table:
    """``dim_party``: one row per party of the party map, as an Ibis expression."""
    rules = field_rules(settings)
    rows = party_records(engine, settings, party_map)
    sizes = rows.group_by(_party=rows.party_id).aggregate(_size=rows.count())
    rows = rows.join(sizes, rows.party_id == sizes._party).drop("_party")
    single = _single_records(rows.filter(rows._size == 1).drop("_size"))
    ranked = _ranked_records(rows.filter(rows._size > 1).drop("_size"), rules)
    return single.union(ranked, distinct=False).order_by("party_id")


def _ranked_records(rows: ibis.Table, rules: dict[str, str]) -> ibis.Table:
    """The golden record of parties with any number of records: ranks, then one aggregation."""
    rows = rows.mutate(**_ranks(rows, rules),
                       _who=rows.source.concat(_SEP, rows.source_customer_id))
    aggs: dict[str, ibis.Value] = {}
    for f in FIELDS:
        if f not in rows.columns:
            aggs[f] = ibis.null(CUSTOMER.column(f).dtype)
            aggs[f"{f}_source"] = ibis.null(dt.string)
            aggs[f"{f}_record"] = ibis.null(dt.string)
            continue
        col = rows[f]
        if f in CONSENT:
            aggs.update(_consent(rows, f))
            continue
        rank, where = _rank_of(rows, f, rules[f]), _present(col)
        aggs[f] = min_by(col, rank, where)
        aggs[f"{f}_who"] = min_by(rows._who, rank, where)
    aggs["record_count"] = rows._has_record.cast("int64").sum()
    # distinct, then sorted: an ordered aggregate does not compile on every engine (Spark)
    aggs["sources"] = rows.source.collect(distinct=True)
    out = rows.group_by("party_id").aggregate(**aggs)
    out = out.mutate(sources=out.sources.sort())
    return out.select(*_lineage_columns(out))


def _single_records(rows: ibis.Table) -> ibis.Table:
    """The golden record of one-record parties: each field is the record's own value when it
    is present (what every rule picks among one record), with that record as its lineage;
    consent is the record's own answer. Same columns and types as :func:`_ranked_records`."""
    cols: list = ["party_id"]
    for f in FIELDS:
        if f not in rows.columns:
            cols += [ibis.null(CUSTOMER.column(f).dtype).name(f),
                     ibis.null(dt.string).name(f"{f}_source"),
                     ibis.null(dt.string).name(f"{f}_record")]
            continue
        col = rows[f]
        kept = col.notnull() if f in CONSENT else _present(col)
        nothing = ibis.null(col.type())
        cols += [ibis.ifelse(kept, col, nothing).name(f),
                 ibis.ifelse(kept, rows.source, ibis.null(dt.string)).name(f"{f}_source"),
                 ibis.ifelse(kept, rows.source_customer_id,
                             ibis.null(dt.string)).name(f"{f}_record")]
    cols.append(rows._has_record.cast("int64").name("record_count"))
    cols.append(ibis.array([rows.source]).name("sources"))
    return rows.select(*cols)


def _lineage_columns(out: ibis.Table) -> list:
    """field, field_source, field_record for every field (``_who`` is source + record)."""
    cols: list = ["party_id"]
    for f in FIELDS:
        cols.append(out[f])
        if f"{f}_who" in out.columns:
            who = out[f"{f}_who"]
            cols += [who.split(_SEP)[0].name(f"{f}_source"),
                     who.split(_SEP)[1].name(f"{f}_record")]
        else:
            cols += [out[f"{f}_source"], out[f"{f}_record"]]
    return [*cols, out.record_count, out.sources]
