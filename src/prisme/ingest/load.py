"""Loads: every file (or database extract) of a source becomes one batch of the warehouse.

A load is all or nothing. Inside one ``engine.transaction()`` it validates the raw rows (one
pass of projections, :mod:`prisme.ingest.validate`) straight into the core table (facts stream;
dimension rows go through a scratch table to find the changed versions), writes the rejected
ones (and the lines the reader could not split) to the quarantine, notes in ``load_issues``
the contact values of loaded rows that it loaded as empty (an invalid or placeholder e-mail,
phone, postcode or country: the customer is kept, the value is not), checks
**rows_read = rows_loaded + rows_quarantined** against what was written, and journals the batch
in ``load_batches``. Any failure — or a killed process — rolls everything
back, so the warehouse is as it was before. A file whose content (sha256) this source already
loaded is not loaded twice: the result says "unchanged". Loads of one warehouse are serialised
by ``engine.exclusive()``: a second ``prisme ingest`` waits, then is refused with a message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme import engine as engine_mod
from prisme.config import Settings, SourceSettings
from prisme.engine import EngineBusy
from prisme.ingest import validate as V
from prisme.ingest.raw import JOIN_COUNT, LINE, RawInput, Reject
from prisme.warehouse import batches, core
from prisme.warehouse.batches import LoadResult
from prisme.warehouse.schema import ENTITIES, LOAD_ISSUES, QUARANTINE

Progress = Callable[[str, str, int, int], None]


class InvariantError(RuntimeError):
    """rows_read ≠ rows_loaded + rows_quarantined: the load is rolled back."""


def ingest(settings: Settings, sources: list[str] | None = None, *, engine=None,
           progress: Progress | None = None, reload: list[str] | None = None
           ) -> list[LoadResult]:
    """Load every configured source (or the named ones); one :class:`LoadResult` per file.

    ``reload`` names sources to load again even though their files are unchanged (after a
    change of their mapping): each new load supersedes the earlier loads of the same file —
    they stay in the warehouse, and the public tables stop counting them."""
    reload = list(reload or [])
    names = _chosen_sources(settings, sources)
    if reload:
        _chosen_sources(settings, reload)  # the same message for an unknown name
        names = list(dict.fromkeys([*(names if sources else []), *reload])) if sources \
            else names
    with (_opened(settings, engine) as eng, eng.exclusive("prisme ingest"),
          eng.publishing("prisme ingest", whole=False) as unit):
        core.ensure_tables(eng)
        results: list[LoadResult] = []
        for name in names:
            results.extend(load_source(eng, settings, name, progress=progress,
                                       reload=name in reload))
        # readers see the new batches at once when the ingest ends (none changed: no copy)
        unit.changed = any(r.status != "unchanged" for r in results)
    return results


def mapping_digest(source: SourceSettings, join_sha256: dict | None = None) -> str:
    """What a load's rows depend on besides the file: the mapping (columns, derive,
    constants, status, joins, format, date window) and the joined files' contents. Where the
    files are (``path``) and the source's trust rank are not part of it."""
    spec = source.model_dump(mode="json", exclude={"path", "trust", "url", "table", "query",
                                                   "watermark"})
    spec["join_files"] = dict(sorted((join_sha256 or {}).items()))
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def file_identity(file_name: str, root) -> str:
    """The file as the journal names it: relative to the project folder when inside it, so
    that moving the project does not make every file look new."""
    from pathlib import Path

    path = Path(str(file_name))
    if "://" in str(file_name) or not path.is_absolute():
        return str(file_name)
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(file_name)


def _chosen_sources(settings: Settings, sources: list[str] | None) -> list[str]:
    configured = list(settings.sources)
    if not sources:
        return configured
    unknown = [s for s in sources if s not in settings.sources]
    if unknown:
        raise ValueError(
            f"unknown source(s) {', '.join(unknown)}; prisme.toml in {settings.root} declares: "
            f"{', '.join(configured) or '(none)'}"
        )
    return list(sources)


@contextlib.contextmanager
def _opened(settings: Settings, engine) -> Iterator:
    """The given engine, or the project's warehouse opened for this ingest (waiting up to
    ``lock_timeout_s`` while another process holds it, then refusing with a clear message)."""
    if engine is not None:
        yield engine
        return
    deadline = time.monotonic() + float(settings.engine.lock_timeout_s)
    while True:
        try:
            eng = engine_mod.connect(settings)
            break
        except EngineBusy as exc:
            if time.monotonic() >= deadline:
                raise EngineBusy(
                    f"prisme ingest is refused: {exc} "
                    f"(waited {settings.engine.lock_timeout_s:.0f}s, [engine] lock_timeout_s)"
                ) from None
            time.sleep(0.2)
    try:
        yield eng
    finally:
        eng.close()


def load_source(engine, settings: Settings, name: str, *,
                progress: Progress | None = None, reload: bool = False) -> list[LoadResult]:
    """Load every file of one source; a file that cannot be read is a failed batch of its
    own and does not stop the other files of the glob."""
    from prisme.ingest.readers import matching_files, open_source, raw_table_name, read_file

    source = settings.sources[name]
    results: list[LoadResult] = []
    if source.url:
        since = batches.last_watermark(engine, name) if source.watermark else None
        try:
            raws = list(open_source(engine, name, source, settings.root,
                                    since_watermark=since))
        except Exception as exc:  # a reader that cannot read: a failed batch, not a crash
            return [_failed_read(engine, settings, name, source, exc)]
        return [load_raw(engine, settings, name, r, progress=progress, reload=reload)
                for r in raws]
    try:
        files = matching_files(name, source, settings.root)
    except Exception as exc:
        return [_failed_read(engine, settings, name, source, exc)]
    for n, path in enumerate(files):
        try:
            raw = read_file(engine, name, source, path, table=raw_table_name(name, n))
        except Exception as exc:  # this file only: the next one is tried
            results.append(_failed_read(engine, settings, name, source, exc, path=path))
            continue
        results.append(load_raw(engine, settings, name, raw, progress=progress, reload=reload))
    return results


def _failed_read(engine, settings: Settings, name: str, source: SourceSettings,
                 exc: Exception, *, path=None) -> LoadResult:
    """A file (or database) that could not be read at all: a failed batch that read nothing
    (rows_read = 0 = loaded + quarantined), whose message names the file and the problem."""
    stamp = batches.next_stamp(engine)
    where = str(path) if path is not None else (
        source.path or f"{source.url}#{source.table or 'query'}")
    text = str(exc)
    message = text if where in text or (path is not None and path.name in text) \
        else f"{where}: {text}"
    result = LoadResult(batches.new_load_id(stamp), name, source.entity,
                        file_identity(where, settings.root), "", 0, 0, 0, "failed", message)
    batches.record(engine, result, stamp)
    return result


def load_raw(engine, settings: Settings, name: str, raw: RawInput, *,
             progress: Progress | None = None, reload: bool = False) -> LoadResult:
    """Load one file (a :class:`RawInput`) as one atomic batch.

    A file this source already loaded with the same mapping is "unchanged"; with another
    mapping (or changed joined files) it is "stale": said, not loaded — ``reload`` loads it
    again and supersedes the earlier loads of the file, so nothing is counted twice."""
    source = settings.sources[name]
    entity = ENTITIES[source.entity]
    shown = str(raw.file_name)
    file_name = file_identity(shown, settings.root)
    core.ensure_tables(engine)
    stamp = batches.next_stamp(engine)
    load_id = batches.new_load_id(stamp)
    try:
        from prisme.ingest.joins import attach

        raw = attach(engine, settings, name, raw)
    except Exception as exc:
        _drop_raw(engine, raw)
        return _failed(engine, name, entity.name, file_name, raw, load_id, stamp, exc, shown)
    digest = mapping_digest(source, raw.join_sha256)
    previous = batches.previous_load(engine, name, raw.sha256, file_name=file_name,
                                     snapshot=entity.versioned)
    if previous is not None and not reload:
        when = f"{pd.Timestamp(previous['started_at']):%Y-%m-%d %H:%M} UTC"
        old = batches.mapping_of(engine, previous["load_id"])
        if old and old != digest:
            status = "stale"
            message = (f"{Path(shown).name} was loaded on {when} (load {previous['load_id']}) "
                       f"with another mapping of source {name!r} (prisme.toml or a joined "
                       f"file changed): not loaded again; run `prisme ingest --reload {name}` "
                       "to load it with the new mapping (the earlier loads are superseded, "
                       "never deleted, and nothing is counted twice)")
        else:
            status = "unchanged"
            message = f"already loaded on {when} (load {previous['load_id']}): nothing to do"
        result = LoadResult(load_id, name, entity.name, file_name, raw.sha256, 0, 0, 0, status,
                            message, mapping_sha256=digest)
        batches.record(engine, result, stamp)
        _drop_raw(engine, raw)
        return result
    if raw.rows_read == 0 and list(raw.table.columns) == [LINE]:  # a 0-byte export
        result = LoadResult(load_id, name, entity.name, file_name, raw.sha256, 0, 0, 0,
                            "loaded", "the file is empty: nothing to load",
                            mapping_sha256=digest)
        batches.record(engine, result, stamp)
        _drop_raw(engine, raw)
        return result
    _tell(progress, name, file_name, 0, raw.rows_read)
    try:
        plan = V.plan_for(name, source, raw)
        V.prepare(engine, raw, plan, settings)
        with engine.transaction():
            result = _load_batch(engine, settings, name, source, raw, plan, load_id, stamp,
                                 progress, file_name=file_name, digest=digest, reload=reload)
    except Exception as exc:
        result = _failed(engine, name, entity.name, file_name, raw, load_id, stamp, exc, shown)
        return result
    finally:
        _drop_raw(engine, raw)
    _tell(progress, name, file_name, raw.rows_read, raw.rows_read)
    return result


def _failed(engine, name, entity, file_name, raw: RawInput, load_id, stamp, exc,
            shown: str) -> LoadResult:
    """A load that failed after its file was read: nothing of it reaches the core tables, but
    every line is accounted for — each is quarantined with the reason (so rows_read = loaded
    + quarantined holds for failed batches too). If even that cannot be written, the batch
    records that it read nothing."""
    text = _say_error(exc)
    message = text if Path(shown).name in text or file_name in text else f"{shown}: {text}"
    try:
        with engine.transaction():
            quarantined = _quarantine_all(engine, raw, name, entity, file_name, load_id, stamp,
                                          message)
            if quarantined != raw.rows_read:  # the reader lost lines: say only the failure
                raise InvariantError(message)
            result = LoadResult(load_id, name, entity, file_name, raw.sha256, quarantined, 0,
                                quarantined, "failed", message)
            batches.record(engine, result, stamp)
        return result
    except Exception:  # noqa: BLE001 - the journal row below says what happened
        result = LoadResult(load_id, name, entity, file_name, raw.sha256, 0, 0, 0, "failed",
                            message)
        batches.record(engine, result, stamp)
        return result


def _say_error(exc: Exception) -> str:
    """The error in words: the first error of a transaction, never the engine's "transaction
    is aborted" that follows it."""
    seen = exc
    while seen is not None:
        text = str(seen)
        if "transaction is aborted" not in text.lower():
            return text
        seen = seen.__cause__ or seen.__context__
    return str(exc)


def _quarantine_all(engine, raw: RawInput, name, entity, file_name, load_id, stamp,
                    reason: str) -> int:
    """Every line of a failed load to the quarantine, with the reason the load failed."""
    t = raw.table
    if list(t.columns) == [LINE]:
        return 0
    cols = [c for c in t.columns if c != LINE and not c.startswith(JOIN_COUNT)]
    record = ibis.struct({c: t[c] for c in cols}).cast("json").cast(dt.string)
    engine.insert("quarantine", t.select(
        load_id=ibis.literal(load_id), source=ibis.literal(name), entity=ibis.literal(entity),
        file_name=ibis.literal(str(file_name)), source_line=t[LINE].cast(dt.int64),
        column_name=ibis.null().cast(dt.string), raw_value=ibis.null().cast(dt.string),
        reason=ibis.literal(f"the load of this file failed: {reason}"),
        raw_record=record, quarantined_at=ibis.literal(stamp).cast(dt.timestamp),
    ))
    _quarantine_rejects(engine, raw.rejects, name, entity, file_name, load_id, stamp)
    return _count(engine, "quarantine", load_id)


def _drop_raw(engine, raw: RawInput) -> None:
    """Free the reader's temporary table as soon as its batch is done (memory at 10M lines)."""
    with contextlib.suppress(Exception):
        name = raw.table.get_name()
        if hasattr(engine, "drop_raw") and name.startswith("raw_"):
            engine.drop_raw(name)
        elif name.startswith("_prisme_raw_"):
            engine.drop_table(name)


def _tell(progress, source, file_name, done, total) -> None:
    if progress is not None:
        progress(source, file_name, int(done), int(total))


def _load_batch(engine, settings, name, source, raw, plan, load_id, stamp, progress, *,
                file_name: str, digest: str, reload: bool):
    entity = plan.entity
    stages: list[str] = []  # scratch views, inside the transaction: a failure rolls them back
    if entity.versioned:
        rows_loaded = _write_versions(engine, settings, name, source, raw, plan, load_id, stamp,
                                      stages, file_name)
    else:
        rows_loaded = _write_facts(engine, settings, name, source, raw, plan, load_id, stamp,
                                   stages, progress, file_name)
    for view in reversed(stages):
        engine.drop_view(view)
    _quarantine_rejects(engine, raw.rejects, name, entity.name, file_name, load_id, stamp)
    rows_quarantined = _count(engine, "quarantine", load_id)
    issues = issue_rows = 0
    if entity.versioned or V.soft_columns(plan):  # else nothing wrote load_issues rows
        issues = _count(engine, "load_issues", load_id)
        issue_rows = _count(engine, "load_issues", load_id, distinct="source_line")
    # facts: rows_loaded was counted in the fact table after the write (_write_facts);
    # versioned: accepted rows (versions are only the changes among them)
    written = rows_loaded
    if raw.rows_read != written + rows_quarantined or written != rows_loaded:
        raise InvariantError(
            f"rows read {raw.rows_read:,} ≠ rows loaded {written:,} + rows quarantined "
            f"{rows_quarantined:,}; the load is rolled back"
        )
    said = [f"{rows_quarantined:,} lines quarantined"] if rows_quarantined else []
    if issues:
        said.append(f"{issues:,} values of {issue_rows:,} loaded lines loaded as empty "
                    "(see load_issues)")
    said.extend(raw.fmt.get("warnings") or [])
    if reload:
        n = batches.supersede(engine, name, load_id, stamp, file_name=file_name,
                              sha256=raw.sha256, reason="prisme ingest --reload")
        said.append(f"reloaded: supersedes {n} earlier load(s) of this file" if n
                    else "reloaded")
    result = LoadResult(load_id, name, entity.name, file_name, raw.sha256,
                        raw.rows_read, rows_loaded, rows_quarantined, "loaded",
                        "; ".join(said) or "ok", rows_with_issues=issue_rows,
                        mapping_sha256=digest)
    batches.record(engine, result, stamp, watermark=raw.watermark)
    return result


def _lineage(t, load_id: str, stamp: datetime) -> dict:
    return {
        "load_id": ibis.literal(load_id),
        "loaded_at": ibis.literal(stamp).cast(dt.timestamp),
        "source_line": t[LINE],
    }


def _write_facts(engine, settings, name, source, raw, plan, load_id, stamp, stages,
                 progress, file_name) -> int:
    """Facts stream from the file to the fact table in one pass (never materialised whole);
    then only the lines that did not arrive — the rejected ones, few — are validated again
    to write their reasons to the quarantine."""
    entity = plan.entity
    checked = V.validated(engine, raw, plan, settings, source, stages)
    good = checked.filter(checked[V.REASON].isnull())
    with engine.unordered_writes():  # each fact carries its source_line
        core.append_facts(engine, entity, good.mutate(**_lineage(good, load_id, stamp)))
    if V.soft_columns(plan):  # no canonical fact has contact columns; a second pass if mapped
        _note_issues(engine, checked, plan, name, file_name, load_id, stamp)
    rows_loaded = core.rows_of_load(engine, entity, load_id)
    _tell(progress, name, file_name, rows_loaded, raw.rows_read)
    if rows_loaded == raw.rows_read - len(raw.rejects):
        return rows_loaded  # every row the reader delivered arrived: nothing to look for
    facts = core.core_table(engine, entity)
    arrived = facts.filter(facts.load_id == load_id).select(_arrived=facts.source_line)
    r = raw.table
    missing = r.anti_join(arrived, r[LINE] == arrived._arrived).select(LINE)
    lines = f"_prisme_rejected_{uuid.uuid4().hex[:12]}"
    engine.create_table(lines, missing, temp=True)
    rejected = dataclasses.replace(raw, table=r.semi_join(engine.table(lines), LINE))
    reasons = V.validated(engine, rejected, plan, settings, source, stages)
    _quarantine(engine, reasons, name, entity.name, file_name, load_id, stamp)
    engine.drop_table(lines)
    return rows_loaded


def _write_versions(engine, settings, name, source, raw, plan, load_id, stamp, stages,
                    file_name) -> int:
    """Dimension rows: validated once into a scratch table, then the changed versions and the
    quarantine are written from it (a dimension is small next to the facts)."""
    entity = plan.entity
    work = f"_prisme_validated_{uuid.uuid4().hex[:12]}"
    engine.create_table(work, V.validated(engine, raw, plan, settings, source, stages),
                        temp=True)
    t = engine.table(work)
    good = t.filter(t[V.REASON].isnull())
    core.append_versions(engine, entity, good.mutate(**_lineage(good, load_id, stamp)))
    _note_issues(engine, t, plan, name, file_name, load_id, stamp)
    counts = engine.to_pandas(t.aggregate(n=t.count(), bad=t[V.REASON].notnull().sum())).iloc[0]
    bad = 0 if pd.isna(counts["bad"]) else int(counts["bad"])
    _quarantine(engine, t, name, entity.name, file_name, load_id, stamp)
    engine.drop_table(work)
    return int(counts["n"]) - bad


def _count(engine, table: str, load_id: str, *, distinct: str | None = None) -> int:
    t = engine.bound_table(table, {"quarantine": QUARANTINE, "load_issues": LOAD_ISSUES}[table])
    t = t.filter(t.load_id == load_id)
    return int(engine.scalar(t.count() if distinct is None else t[distinct].nunique()))


def _quarantine(engine, t, source, entity, file_name, load_id, stamp) -> None:
    bad = t.filter(t[V.REASON].notnull())
    engine.insert("quarantine", bad.select(
        load_id=ibis.literal(load_id),
        source=ibis.literal(source),
        entity=ibis.literal(entity),
        file_name=ibis.literal(str(file_name)),
        source_line=bad[LINE].cast(dt.int64),
        column_name=bad[V.REJECT_COLUMN],
        raw_value=bad[V.REJECT_RAW],
        reason=bad[V.REASON],
        raw_record=bad[V.RAW_RECORD],
        quarantined_at=ibis.literal(stamp).cast(dt.timestamp),
    ))


def _note_issues(engine, t, plan, source, file_name, load_id, stamp) -> None:
    """One ``load_issues`` row per soft value of a loaded row that was loaded as empty.

    Counts one row per line and column (every line of the file, also an earlier line of a key
    that a later line of the same file superseded); rows sent to the quarantine have their
    reason there instead."""
    loaded = t.filter(t[V.REASON].isnull())
    parts = []
    for name in V.soft_columns(plan):
        issue, raw = f"{V.ISSUE}{name}", f"{V.ISSUE_RAW}{name}"
        hit = loaded.filter(loaded[issue].notnull())
        parts.append(hit.select(
            load_id=ibis.literal(load_id),
            source=ibis.literal(source),
            entity=ibis.literal(plan.entity.name),
            file_name=ibis.literal(str(file_name)),
            source_line=hit[LINE].cast(dt.int64),
            column_name=ibis.literal(name),
            raw_value=hit[raw],
            reason=hit[issue],
            noted_at=ibis.literal(stamp).cast(dt.timestamp),
        ))
    if parts:
        engine.insert("load_issues", ibis.union(*parts) if len(parts) > 1 else parts[0])


def _quarantine_rejects(engine, rejects: Iterable[Reject], source, entity, file_name,
                        load_id, stamp: datetime) -> None:
    """Lines the reader could not split into columns (ragged, undecodable) are quarantined too."""
    rows = [
        {
            "load_id": load_id, "source": source, "entity": entity,
            "file_name": str(file_name), "source_line": int(r.line),
            "column_name": r.column, "raw_value": r.raw, "reason": r.reason,
            "raw_record": json.dumps({"line": r.raw}, ensure_ascii=False),
            "quarantined_at": stamp,
        }
        for r in rejects
    ]
    if rows:
        engine.insert("quarantine", ibis.memtable(pd.DataFrame(rows), schema=QUARANTINE))


def raw_input_from_frame(engine, source: str, frame: pd.DataFrame, *,
                         file_name: str = "<dataframe>", rejects: list[Reject] | None = None,
                         fmt: dict | None = None) -> RawInput:
    """A :class:`RawInput` from a pandas frame (every value as text), for loading data already in
    Python — a notebook, a test. Line numbers follow the frame's order, header = line 1."""
    df = frame.astype(object).where(frame.notna(), None)
    df = df.map(lambda v: None if v is None else str(v))
    n = len(df)
    rejects = list(rejects or [])
    taken = {r.line for r in rejects}
    lines, line = [], 2
    for _ in range(n):
        while line in taken:
            line += 1
        lines.append(line)
        line += 1
    df.insert(0, LINE, pd.array(lines, dtype="int64"))
    schema = ibis.schema({c: (dt.int64 if c == LINE else dt.string) for c in df.columns})
    name = f"_prisme_raw_{uuid.uuid4().hex[:12]}"
    table = engine.create_table(name, ibis.memtable(df, schema=schema), temp=True)
    digest = hashlib.sha256(df.drop(columns=[LINE]).to_csv(index=False).encode()).hexdigest()
    return RawInput(source, file_name, digest, table, n + len(rejects), rejects, dict(fmt or {}))


__all__ = ["InvariantError", "LoadResult", "ingest", "load_raw", "load_source",
           "raw_input_from_frame"]
