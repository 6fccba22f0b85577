"""The load journal: one row of ``load_batches`` per load, and the rules that read it.

A load is identified by a ``load_id`` that sorts in time order (``20261122T101500123456-1a2b3c4d``)
and carries a ``loaded_at`` stamp shared by every row it wrote. Stamps are strictly increasing
across loads, so versions of a customer loaded by two loads never share a ``valid_from``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ibis
import pandas as pd

from prisme.warehouse.schema import LOAD_BATCHES, LOAD_MAPPINGS, LOAD_SUPERSESSIONS

TABLE = "load_batches"


@dataclass
class LoadResult:
    """What a load did; the CLI prints these, the demo summarises them."""

    load_id: str
    source: str
    entity: str
    file_name: str
    file_sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: str  #: "loaded" | "unchanged" | "failed"
    message: str = ""
    #: loaded rows with at least one value loaded as empty (noted in ``load_issues``)
    rows_with_issues: int = 0
    #: of the source's mapping (and joined files) this load was made with
    mapping_sha256: str = ""


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def next_stamp(engine) -> datetime:
    """``now``, or just after the last load if the clock says otherwise (stamps never tie)."""
    last = engine.scalar(engine.bound_table(TABLE, LOAD_BATCHES).started_at.max())
    stamp = now_utc()
    if last is not None and not pd.isna(last):
        last = pd.Timestamp(last).to_pydatetime()
        if stamp <= last:
            stamp = last + timedelta(microseconds=1)
    return stamp


def new_load_id(stamp: datetime) -> str:
    return f"{stamp:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def previous_load(engine, source: str, sha256: str, *, file_name: str | None = None,
                  snapshot: bool = False) -> dict | None:
    """The successful load that makes loading this file again a no-op, if any.

    Facts append, so a content (sha256) this source ever loaded is never loaded twice,
    whatever the file is called. A versioned entity's file is a *snapshot* of the list: it is
    unchanged only if the same file's latest load had this content — a list that went A → B → A
    again must record the change back to A.
    """
    ok = counted_loads(engine)
    ok = ok.filter(ok.source == source)
    if snapshot and file_name is not None:
        last = ok.filter(ok.file_name == file_name).order_by(
            [ibis.desc(ok.started_at), ibis.desc(ok.load_id)]
        ).limit(1)
        df = engine.to_pandas(last)
        if df.empty or df.iloc[0]["file_sha256"] != sha256:
            return None
        return df.iloc[0].to_dict()
    hit = ok.filter(ok.file_sha256 == sha256)
    df = engine.to_pandas(hit.order_by(hit.started_at).limit(1))
    return None if df.empty else df.iloc[0].to_dict()


def counted_loads(engine):
    """The loads whose rows count: loaded, and not superseded by a ``--reload``."""
    t = engine.bound_table(TABLE, LOAD_BATCHES)
    ok = t.filter(t.status == "loaded")
    if not engine.has_table("load_supersessions"):  # a warehouse no reload ever touched
        return ok
    s = engine.bound_table("load_supersessions", LOAD_SUPERSESSIONS)
    return ok.anti_join(s, ok.load_id == s.load_id)


def supersede(engine, source: str, by: str, stamp: datetime, *, file_name: str,
              sha256: str, reason: str) -> int:
    """Mark the counted loads of ``source`` from the same file (same name or same content)
    as superseded by load ``by``; nothing is deleted. Returns how many."""
    ok = counted_loads(engine)
    old = ok.filter((ok.source == source) & (ok.load_id != by)
                    & ((ok.file_name == file_name) | (ok.file_sha256 == sha256)))
    ids = engine.to_pandas(old.select("load_id")).load_id.tolist()
    if ids:
        rows = pd.DataFrame({"load_id": ids, "source": source, "superseded_by": by,
                             "superseded_at": stamp, "reason": reason})
        engine.insert("load_supersessions", ibis.memtable(rows, schema=LOAD_SUPERSESSIONS))
    return len(ids)


def last_watermark(engine, source: str) -> str | None:
    """The highest watermark a successful load of this (database) source has seen."""
    t = counted_loads(engine)
    value = engine.scalar(
        t.filter((t.source == source) & t.watermark.notnull())
        .watermark.max()
    )
    return None if value is None or pd.isna(value) else str(value)


def record(engine, result: LoadResult, started_at: datetime, *, watermark: str | None = None,
           finished_at: datetime | None = None) -> None:
    """Append the journal row of a load (inside the load's transaction when it succeeded)."""
    row = {
        "load_id": result.load_id,
        "source": result.source,
        "entity": result.entity,
        "file_name": str(result.file_name),
        "file_sha256": result.file_sha256,
        "rows_read": int(result.rows_read),
        "rows_loaded": int(result.rows_loaded),
        "rows_quarantined": int(result.rows_quarantined),
        "started_at": started_at,
        "finished_at": finished_at or now_utc(),
        "status": result.status,
        "message": result.message,
        "watermark": watermark,
    }
    engine.insert(TABLE, ibis.memtable(pd.DataFrame([row]), schema=LOAD_BATCHES))
    if result.mapping_sha256:
        engine.insert("load_mappings", ibis.memtable(
            pd.DataFrame([{"load_id": result.load_id, "mapping_sha256": result.mapping_sha256}]),
            schema=LOAD_MAPPINGS))


def mapping_of(engine, load_id: str) -> str | None:
    """The mapping digest a load was made with (None for a load that recorded none)."""
    if not engine.has_table("load_mappings"):
        return None
    t = engine.bound_table("load_mappings", LOAD_MAPPINGS)
    df = engine.to_pandas(t.filter(t.load_id == load_id).limit(1))
    return None if df.empty else str(df.mapping_sha256.iloc[0])
