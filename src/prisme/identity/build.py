"""The identity step of ``prisme build``: one party per real customer, stable over time.

:func:`resolve_parties` reads the current customer records, resolves them (with the steward's
overrides), keeps party ids stable against the previous run (:mod:`prisme.identity.stable`),
gives every customer key seen only in facts a party of its own, and writes ``party_map``,
``party_history`` and ``dim_party`` in one transaction: a failure leaves the previous state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme.identity import golden, overrides, stable
from prisme.warehouse.schema import ENTITIES, PARTY_MAP

KEY = ["source", "source_customer_id"]
#: fact tables whose customer keys must all have a party
FACT_TABLES = ("fact_sales", "fact_calls", "fact_web_sessions", "fact_campaign_contacts",
               "fact_surveys")


@dataclass(frozen=True)
class PartySummary:
    """What one identity run did."""

    records: int  #: customer records resolved
    parties: int  #: parties in party_map after the run
    merges: int  #: previous parties absorbed into another
    splits: int  #: previous parties that lost records to other parties
    new_parties: int
    attached: int  #: new records that joined an existing party
    fact_only_keys: int  #: customer keys seen in facts only (a party each)
    load_id: str | None = None
    at: datetime | None = None

    def __str__(self) -> str:
        return (f"{self.records:,} records → {self.parties:,} parties "
                f"({self.new_parties:,} new, {self.merges:,} merged, {self.splits:,} split, "
                f"{self.attached:,} records attached)")


def _default_resolver():
    from prisme.identity import resolve

    return resolve if callable(resolve) else resolve.resolve


def resolve_parties(engine, settings, *, load_id: str | None = None, resolver=None,
                    progress=None, at: datetime | None = None) -> PartySummary:
    """Resolve the current customer records into stable parties and write the identity tables.

    ``resolver`` is :func:`prisme.identity.resolve` unless another function with its contract
    is given; ``at`` (default now, UTC) stamps the history.
    """
    resolver = resolver or _default_resolver()
    at = at or datetime.now(UTC).replace(tzinfo=None)
    tick = progress or (lambda *a: None)
    tick("identity: reading records", 0, 6)
    records = customer_records(engine)
    rules = overrides.read_overrides(settings)
    must, cannot = overrides.to_record_pairs(rules, records[[*KEY, "record_id"]])
    if len(records):
        resolved = resolver(records, settings=settings.identity, engine=engine, must_link=must,
                            cannot_link=cannot, progress=progress,
                            default_country=settings.project.default_country)
    else:  # nothing loaded yet: only the keys the facts mention get parties
        resolved = pd.DataFrame({"record_id": pd.Series(dtype="int64"),
                                 "party_id": pd.Series(dtype="string"),
                                 "match_probability": pd.Series(dtype="float64")})
    tick("identity: overrides", 1, 6)
    n_records = len(records)
    clusters = overrides.enforce(_clusters(records, resolved), rules)
    del records, resolved
    tick("identity: fact-only keys", 2, 6)
    resolved_t = _upload_clusters(engine, clusters)
    del clusters
    orphans = f"{resolved_t.get_name()}_facts"
    try:
        facts_only = engine.create_table(orphans, fact_only_keys(engine, settings, resolved_t),
                                         temp=True, overwrite=True)
        n_facts_only = int(engine.scalar(facts_only.count()))
        tick("identity: stable ids", 3, 6)
        previous = engine.table("party_map") if engine.has_table("party_map") else None
        result = stable.stabilise(engine, resolved_t.union(facts_only, distinct=False),
                                  previous, first_new_number=_first_new_number(engine))
        tick("identity: party_map, history", 4, 6)
        try:
            write_identity(engine, settings, result, load_id=load_id, at=at,
                           on_golden=lambda: tick("identity: golden record", 5, 6))
        finally:
            result.drop()
    finally:
        for name in (resolved_t.get_name(), orphans):
            engine.drop_table(name)
    tick("identity: golden record", 6, 6)
    return PartySummary(
        records=n_records,
        parties=result.parties,
        merges=len(result.merged),
        splits=len(result.split),
        new_parties=result.new_parties,
        attached=result.attached,
        fact_only_keys=n_facts_only,
        load_id=load_id,
        at=at,
    )


def customer_records(engine) -> pd.DataFrame:
    """Current customer records with canonical columns and a ``record_id`` (1, 2, … in key
    order), the input of the resolver."""
    cust = golden.current_customers(engine)
    names = [c for c in ENTITIES["customer"].names if c in cust.columns]
    extra = "attributes" in cust.columns  # mapped non-canonical columns, as JSON text
    cust = cust.select(*names, **({"_attributes": cust.attributes} if extra else {}))
    cust = cust.mutate(record_id=ibis.row_number().over(order_by=KEY) + 1)
    df = engine.to_pandas(cust.order_by("record_id"))
    return _with_attributes(df) if extra else df


def _with_attributes(df: pd.DataFrame) -> pd.DataFrame:
    """The extra attributes of each record as columns of their own (canonical ones win)."""
    import json

    parsed = [json.loads(a) if isinstance(a, str) and a else {} for a in df.pop("_attributes")]
    keys = list(dict.fromkeys(k for p in parsed for k in p))
    for key in keys:
        if key not in df.columns:
            df[key] = pd.Series([p.get(key) for p in parsed], index=df.index, dtype=object)
    return df


def _clusters(records: pd.DataFrame, resolved: pd.DataFrame) -> pd.DataFrame:
    """Resolver output back onto record keys, after checking it is a partition of the input.

    The ``cluster`` label is the resolver's party label (as text); :func:`_upload_clusters`
    marks it as the resolver's."""
    ids = resolved.record_id
    several = int((ids.value_counts() > 1).sum())
    missing = int((~records.record_id.isin(ids)).sum())
    extra = int(ids[~ids.isin(records.record_id)].nunique())
    if several or missing or extra:
        raise ValueError(
            "the resolver did not return a partition of the records: "
            f"{several} records in several parties, {missing} missing, {extra} unknown"
        )
    out = records[[*KEY, "record_id"]].merge(resolved, on="record_id")
    return pd.DataFrame({
        "source": out.source.astype("string"),
        "source_customer_id": out.source_customer_id.astype("string"),
        "cluster": out.party_id.astype("string"),
        "match_probability": out.match_probability.astype("float64"),
    })


_CLUSTERS = ibis.schema({"source": dt.string, "source_customer_id": dt.string,
                         "cluster": dt.string, "match_probability": dt.float64})


def _upload_clusters(engine, clusters: pd.DataFrame) -> ibis.Table:
    """The resolved clusters as a temporary table of the engine (sent once), labels marked
    ``r:`` so that they never meet the ``f:`` labels of fact-only keys."""
    name = f"_prisme_clusters_{uuid.uuid4().hex[:8]}"
    t = ibis.memtable(clusters[list(_CLUSTERS.names)]).cast(_CLUSTERS)
    t = t.mutate(cluster=ibis.literal("r:").concat(t.cluster))
    return engine.create_table(name, t, temp=True, overwrite=True)


def fact_keys(engine, settings) -> ibis.Table | None:
    """Every (source, source_customer_id) the facts mention.

    A fact's ``source`` says which system's ids it carries. Where it is missing (a fact table
    without the column, or a source that does not set it) the system is found per configured
    source that loaded the rows (see :func:`_customer_system_of`).
    """
    sourced, unsourced = [], []
    for name in FACT_TABLES:
        if not engine.has_table(name):
            continue
        t = engine.table(name)
        if "source_customer_id" not in t.columns:
            continue
        t = t.filter(t.source_customer_id.notnull())
        if "source" in t.columns:
            sourced.append(t.filter(t.source.notnull()).select(*KEY))
            t = t.filter(t.source.isnull())
        if "load_id" in t.columns and engine.has_table("load_batches"):
            lb = engine.table("load_batches").select(_load=ibis._.load_id, loaded_by=ibis._.source)
            j = t.join(lb, t.load_id == lb._load)
            unsourced.append(j.select("loaded_by", "source_customer_id"))
    if unsourced:
        keys = ibis.union(*unsourced, distinct=True)
        systems = ibis.memtable(_customer_system_of(engine, keys))
        mapped = keys.join(systems, "loaded_by")
        sourced.append(mapped.select(source=mapped.system.cast(dt.string),
                                     source_customer_id=mapped.source_customer_id))
    if not sourced:
        return None
    return ibis.union(*sourced, distinct=True)


def _customer_system_of(engine, keys: ibis.Table) -> pd.DataFrame:
    """``loaded_by → system``: which customer system's ids a configured fact source carries.

    A source named after a system (``crm_campaign_contacts`` → ``crm``) carries its ids;
    otherwise the system whose customer records match most of its ids (web sessions carry
    the web shop's ids); a source matching none keeps its own name.
    """
    cust = golden.current_customers(engine).select(*KEY).distinct()
    systems = sorted(engine.to_pandas(cust.select("source").distinct()).source.dropna())
    votes = engine.to_pandas(
        keys.join(cust, "source_customer_id").group_by(["loaded_by", "source"])
        .aggregate(n=lambda t: t.count())
    ).sort_values(["n", "source"], ascending=[False, True])
    names = engine.to_pandas(keys.select("loaded_by").distinct()).loaded_by.dropna()
    out = {}
    for name in names:
        named = [s for s in systems if str(name).startswith(f"{s}_") or name == s]
        best = votes[votes.loaded_by == name].source
        out[name] = max(named, key=len) if named else (best.iloc[0] if len(best) else name)
    return pd.DataFrame({"loaded_by": list(out), "system": list(out.values())}, dtype="string")


def fact_only_keys(engine, settings, clusters: ibis.Table | pd.DataFrame) -> ibis.Table:
    """Keys seen in facts with no customer record: one singleton cluster each (a table of the
    engine with the columns of ``clusters``)."""
    keys = fact_keys(engine, settings)
    if keys is None:
        return ibis.memtable(pd.DataFrame({c: pd.Series(dtype="string") for c in
                                           [*KEY, "cluster"]})
                             .assign(match_probability=pd.Series(dtype="float64"))
                             ).cast(_CLUSTERS)
    known = ibis.memtable(clusters[KEY]) if isinstance(clusters, pd.DataFrame) else \
        clusters.select(*KEY)
    orphans = keys.filter(keys.source.notnull()).anti_join(known, KEY)
    orphans = orphans.select(
        source=orphans.source.cast(dt.string),
        source_customer_id=orphans.source_customer_id.cast(dt.string),
    )
    return orphans.mutate(
        cluster=ibis.literal("f:").concat(orphans.source, "\x1f", orphans.source_customer_id),
        match_probability=ibis.literal(1.0, type=dt.float64),
    )


def _first_new_number(engine) -> int:
    tables = [engine.table(t) for t in ("party_map", "party_history") if engine.has_table(t)]
    return stable.next_party_number_of(engine, tables)


def write_identity(engine, settings, result: stable.StableResult, *, load_id, at,
                   on_golden=None) -> None:
    """party_map (replaced), party_history (appended) and dim_party (rebuilt), atomically."""
    party_map = result.party_map_table.select(*PARTY_MAP.names).cast(PARTY_MAP)
    history = stable.history_rows(result.events_table, load_id=load_id, at=at)
    with engine.transaction():
        engine.create_table("party_map", party_map.order_by(KEY), overwrite=True)
        if not engine.has_table("party_history"):
            engine.create_table("party_history", schema=stable.PARTY_HISTORY)
        engine.insert("party_history", history)
        if on_golden is not None:
            on_golden()
        dim = golden.golden_records(engine, settings, engine.table("party_map"))
        engine.create_table("dim_party", dim, overwrite=True)
