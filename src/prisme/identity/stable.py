"""Stable party identities: the same customer keeps the same ``party_id`` from one run to the next.

The resolver clusters the current customer records from scratch every time; its cluster labels
mean nothing from one run to the next. This module maps each new cluster onto the party that
already held its records, so that:

* re-running on the same data gives the same party_ids (idempotence);
* an incremental load attaches new records to existing parties, or makes new ones, without
  renumbering unrelated parties;
* a cluster holding records of two previous parties is a **merge**: the survivor is the party
  holding most of the cluster's records (ties: the smaller, i.e. older, id), the other one is
  recorded as merged into it;
* a previous party whose records now fall into several clusters is a **split**: the part
  holding most of its records keeps the id, the other parts get new ids (or join the party
  their cluster maps to), recorded as split.

Formally the mapping is the greedy maximum-weight matching between new clusters and previous
parties, the weight of a pair being the number of records they share, with the strict order
(records desc, party_id asc, cluster key asc). It is computed by rounds of mutually-best pairs
(locally dominant edges), which gives exactly the greedy matching for a strict order (Preis,
"Linear time 1/2-approximation algorithm for maximum weighted matching", STACS 1999). The
rounds run in the engine (on a re-run nearly every pair is mutually best in the first round);
once few pairs are left the last rounds run in pandas (:func:`_greedy_matching`).

Every change of a record's party is written to ``party_history`` (one row per record and
event, with the load and the time), so that :func:`party_map_as_of` can say which party a
record belonged to at any past time.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme.warehouse.schema import PARTY_MAP

#: append-only journal of party membership changes (one row per record and event)
PARTY_HISTORY = ibis.schema(
    {
        "party_id": dt.string,
        "event": dt.string,  # created | attached | merged | split
        "source": dt.string,
        "source_customer_id": dt.string,
        "other_party_id": dt.string,  # merged: the party absorbed; split: the party left
        "match_probability": dt.float64,
        "load_id": dt.string,
        "at": dt.timestamp,
    }
)

KEY = ["source", "source_customer_id"]
_SEP = "\x1f"
_ID_PATTERN = re.compile(r"^P(\d+)$")


def format_party_id(number: int) -> str:
    """Party ids are ``P`` and a zero-padded sequence number: sorting them sorts by age."""
    return f"P{number:08d}"


def next_party_number(ids: Iterable[str | None]) -> int:
    """The first sequence number not used by any of ``ids`` (past or present party ids)."""
    highest = 0
    for value in ids:
        m = _ID_PATTERN.match(value or "")
        if m:
            highest = max(highest, int(m.group(1)))
    return highest + 1


def next_party_number_of(engine, tables: Iterable[ibis.Table]) -> int:
    """:func:`next_party_number` over the ``party_id`` columns of tables of the engine,
    computed there (a warehouse holds millions of ids)."""
    highest = 0
    for t in tables:
        number = t.party_id.re_extract(r"^P([0-9]+)$", 1).nullif("").try_cast("int64")
        value = engine.scalar(number.max())
        if value is not None and not pd.isna(value):
            highest = max(highest, int(value))
    return highest + 1


@dataclass
class StableResult:
    """What :func:`stabilise` decided; the per-record tables stay in the engine."""

    engine: object
    #: source, source_customer_id, party_id, match_probability (one row per record)
    party_map_table: ibis.Table
    #: party_id, event, source, source_customer_id, other_party_id, match_probability
    events_table: ibis.Table
    new_parties: int = 0
    #: previous parties absorbed into another one
    merged: list[str] = field(default_factory=list)
    #: previous parties that kept their id but lost records to other parties
    split: list[str] = field(default_factory=list)
    #: new records that joined an existing party
    attached: int = 0
    parties: int = 0
    #: the temporary tables holding the record tables (see :meth:`drop`)
    temp_tables: list[str] = field(default_factory=list)

    def drop(self) -> None:
        """Free the temporary tables once the result is written."""
        for name in self.temp_tables:
            self.engine.drop_table(name)

    @property
    def party_map(self) -> pd.DataFrame:
        return self.engine.to_pandas(self.party_map_table.order_by(KEY))

    @property
    def events(self) -> pd.DataFrame:
        return self.engine.to_pandas(self.events_table.order_by(["party_id", *KEY]))


_TEMP = "_prisme_stable_"


def stabilise(
    engine,
    clusters: pd.DataFrame | ibis.Table,
    previous: ibis.Table | pd.DataFrame | None,
    *,
    first_new_number: int = 1,
) -> StableResult:
    """Give each cluster of ``clusters`` a stable party_id, given the ``previous`` party map.

    ``clusters`` (a DataFrame or a table of the engine) has ``source, source_customer_id,
    cluster, match_probability`` (the cluster label is any string, only its grouping matters).
    ``previous`` is the party map of the last run (or None). New parties are numbered from
    ``first_new_number`` in the order of their smallest record key, so that two runs from
    scratch on the same data agree. Everything per record is computed in the engine
    (temporary tables); only the last, small rounds of the matching run in pandas.
    """
    run = f"{_TEMP}{uuid.uuid4().hex[:8]}_"
    temps: list[str] = []

    def temp(name: str, expr: ibis.Table) -> ibis.Table:
        temps.append(f"{run}{name}")
        return engine.create_table(f"{run}{name}", expr, temp=True, overwrite=True)

    cur = _clusters_table(clusters)
    prev = _previous_table(previous)
    joined = cur.left_join(prev, KEY).select(
        cur.source, cur.source_customer_id, cur.cluster, cur.cluster_key,
        cur.match_probability, prev_party=prev.party_id,
    )
    joined = temp("joined", joined)
    pairs = temp("pairs", joined.filter(joined.prev_party.notnull())
                 .group_by(["cluster", "cluster_key", "prev_party"])
                 .aggregate(n=lambda t: t.count()))
    kept = _matching(engine, pairs, temp)
    mapping = temp("mapping", _with_new_ids(joined, kept, first_new_number))
    survivors = mapping.filter(~mapping.is_new).select(kept_party=mapping.party_id)
    full = joined.join(mapping, "cluster")
    full = full.left_join(survivors, full.prev_party == survivors.kept_party)
    full = full.mutate(survives=full.kept_party.notnull()).drop("kept_party")
    full = temp("full", full)
    events = temp("events", _events(full))
    counts = engine.to_pandas(events.group_by(["event", "other_party_id"]).aggregate(
        n=lambda t: t.count()))
    sizes = engine.to_pandas(mapping.aggregate(parties=mapping.count(),
                                               new=mapping.is_new.cast("int64").sum()))
    return StableResult(
        engine=engine,
        party_map_table=full.select(*KEY, "party_id", "match_probability"),
        events_table=events,
        new_parties=int(sizes.new.fillna(0).iloc[0]),
        merged=sorted(counts.loc[counts.event == "merged", "other_party_id"].unique()),
        split=sorted(counts.loc[counts.event == "split", "other_party_id"].unique()),
        attached=int(counts.loc[counts.event == "attached", "n"].sum()),
        parties=int(sizes.parties.iloc[0]),
        temp_tables=temps,
    )


#: below this many undecided pairs the matching rounds finish in pandas
ENGINE_ROUNDS_ABOVE = 20_000


def _matching(engine, pairs: ibis.Table, temp, *, above: int | None = None) -> ibis.Table:
    """``cluster → party_id`` for the clusters that keep a previous party: the greedy matching
    of the module docstring, by rounds of mutually-best pairs. A round keeps the pairs that are
    the best of their cluster and of their party, then drops every pair touching them; rounds
    run in the engine while more than ``above`` pairs are undecided."""
    above = ENGINE_ROUNDS_ABOVE if above is None else above
    decided: list[ibis.Table] = []
    todo, k = pairs, 0
    while int(engine.scalar(todo.count())) > above:
        by_cluster = ibis.row_number().over(
            group_by=todo.cluster, order_by=[todo.n.desc(), todo.prev_party, todo.cluster_key])
        by_party = ibis.row_number().over(
            group_by=todo.prev_party, order_by=[todo.n.desc(), todo.cluster_key])
        ranked = todo.mutate(_c=by_cluster, _p=by_party)
        mutual = temp(f"mutual{k}", ranked.filter((ranked._c == 0) & (ranked._p == 0))
                      .select("cluster", party_id="prev_party"))
        decided.append(mutual)
        rest = todo.anti_join(mutual.select("cluster"), "cluster")
        done = mutual.select(_done=mutual.party_id)
        todo = temp(f"todo{k}", rest.anti_join(done, rest.prev_party == done._done))
        k += 1
    rest = _greedy_matching(engine.to_pandas(todo))
    last = pd.DataFrame({"cluster": list(rest), "party_id": list(rest.values())},
                        dtype="string")
    decided.append(ibis.memtable(last).cast({"cluster": "string", "party_id": "string"}))
    return ibis.union(*decided, distinct=False) if len(decided) > 1 else decided[0]


def _with_new_ids(joined: ibis.Table, kept: ibis.Table, first_new_number: int) -> ibis.Table:
    """cluster → party_id, is_new: kept clusters take their previous party, the others new
    numbers in the order of their smallest record key."""
    clusters = joined.select("cluster", "cluster_key").distinct()
    fresh = clusters.anti_join(kept, "cluster")
    number = (ibis.row_number().over(order_by=fresh.cluster_key) + first_new_number).cast(
        "string")
    padded = ibis.ifelse(number.length() >= 8, number, number.lpad(8, "0"))
    fresh = fresh.select("cluster", party_id=ibis.literal("P").concat(padded),
                         is_new=ibis.literal(True))
    return kept.mutate(is_new=ibis.literal(False)).union(fresh)


def _clusters_table(clusters: pd.DataFrame | ibis.Table) -> ibis.Table:
    missing = {*KEY, "cluster", "match_probability"} - set(clusters.columns)
    if missing:
        raise ValueError(f"clusters need the columns {sorted(missing)}")
    types = {"source": "string", "source_customer_id": "string", "cluster": "string",
             "match_probability": "float64"}
    if isinstance(clusters, pd.DataFrame):
        t = ibis.memtable(clusters[list(types)].astype(types))
    else:
        t = clusters.select(*types).cast(types)
    record_key = t.source.concat(_SEP, t.source_customer_id)
    return t.mutate(cluster_key=record_key.min().over(group_by=t.cluster))


def _previous_table(previous) -> ibis.Table:
    if previous is None:
        return ibis.memtable(pd.DataFrame({c: pd.Series(dtype="string") for c in
                                           [*KEY, "party_id"]}))
    if isinstance(previous, pd.DataFrame):
        previous = ibis.memtable(previous[[*KEY, "party_id"]].astype("string"))
    return previous.select(*KEY, "party_id")


def _greedy_matching(pairs: pd.DataFrame) -> dict[str, str]:
    """cluster -> previous party, by rounds of mutually-best pairs (see the module docstring)."""
    todo = pairs.astype({"cluster": object, "cluster_key": object, "prev_party": object})
    todo = todo.sort_values(["n", "prev_party", "cluster_key"], ascending=[False, True, True])
    assigned: dict[str, str] = {}
    while len(todo):
        best_of_cluster = todo.drop_duplicates("cluster")
        best_of_party = todo.drop_duplicates("prev_party")
        mutual = best_of_cluster.merge(best_of_party[["cluster", "prev_party"]])
        assigned.update(zip(mutual.cluster, mutual.prev_party, strict=True))
        todo = todo[~todo.cluster.isin(mutual.cluster) & ~todo.prev_party.isin(mutual.prev_party)]
    return assigned


def _events(full: ibis.Table) -> ibis.Table:
    """One row per record whose party changed (or that is new), with what happened."""
    prev, new = full.prev_party, full.party_id
    event = ibis.cases(
        (prev.isnull() & full.is_new, "created"),
        (prev.isnull(), "attached"),
        (full.survives, "split"),
        else_="merged",
    )
    changed = full.filter(prev.isnull() | (prev != new))
    return changed.select(
        party_id=new,
        event=event,
        source=full.source,
        source_customer_id=full.source_customer_id,
        other_party_id=prev,
        match_probability=full.match_probability,
    ).order_by(["party_id", *KEY])


def history_rows(events: ibis.Table, *, load_id: str | None, at: datetime) -> ibis.Table:
    """The events of one run as ``party_history`` rows."""
    return events.mutate(
        load_id=ibis.literal(load_id, type=dt.string),
        at=ibis.literal(pd.Timestamp(at).to_pydatetime(), type=dt.timestamp),
    ).select(*PARTY_HISTORY.names).cast(PARTY_HISTORY)


def party_map_as_of(engine, ts) -> ibis.Table:
    """The party of every record as it was at time ``ts``, from ``party_history``.

    A record's party at ``ts`` is the one given by its latest history event at or before ``ts``;
    records not yet seen at ``ts`` are absent. Columns are those of ``party_map``.
    """
    h = engine.table("party_history")
    h = h.filter(h.at <= ibis.literal(pd.Timestamp(ts).to_pydatetime(), type=dt.timestamp))
    rank = ibis.row_number().over(group_by=KEY, order_by=[h.at.desc(), h.party_id.desc()])
    latest = h.mutate(_rank=rank).filter(lambda t: t._rank == 0)
    return latest.select(*PARTY_MAP.names).order_by(KEY)
