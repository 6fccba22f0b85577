"""Joins in the mapping: a normalised export maps from ``prisme.toml`` alone.

Order lines carry no customer or date (they are on the order header), reviews carry no
customer. A source declares the other files of its export::

    [sources.order_lines.join.orders]
    path = "olist/orders.csv"
    on = "order_id"                    # or ["a", "b"], or {line_column = "header_column"}
    [sources.order_lines.join.customers]
    path = "olist/customers.csv"
    on = {"orders.customer_id" = "customer_id"}   # a key may come from an earlier join
    optional = true                    # unmatched lines are kept with empty values

and maps their columns as ``NAME.column`` (``source_customer_id = "orders.customer_id"``).
The join runs in the engine (a left join onto the main file's lines, each joined file keyed
by its first line per key); every line of the main file stays one line — rows read are the
main file's lines — and carries ``__join_count__NAME``, how many lines of the joined file
share its key, which validation turns into a reason (no match: quarantined unless the join is
optional; several matches: quarantined).
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import ibis

from prisme.config import JoinSettings, Settings, SourceSettings
from prisme.ingest.raw import JOIN_COUNT, LINE, RawInput


class JoinError(ValueError):
    """A joined file that cannot be used (missing, no such key column)."""


def join_source(source: SourceSettings, join: JoinSettings) -> SourceSettings:
    """The joined file described as a source of its own (same format unless it says)."""
    fmt = {k: getattr(join, k) if getattr(join, k) is not None else getattr(source, k)
           for k in ("separator", "encoding", "decimal", "date_format", "format")}
    if join.format is None and Path(join.path).suffix.lower() != Path(source.path or "").suffix.lower():
        fmt["format"] = None
    return SourceSettings(entity=source.entity, path=join.path, **fmt)


def attach(engine, settings: Settings, name: str, raw: RawInput) -> RawInput:
    """``raw`` with the columns of every joined file of the source (``NAME.column``) and the
    match counts; the joined files' sha256 go into ``raw.join_sha256``."""
    from prisme.ingest.readers import read_file

    source = settings.sources[name]
    if not source.join:
        return raw
    table = raw.table
    joins, shas, scratch = [], {}, []
    for jname, join in source.join.items():
        path = settings.resolve(join.path)
        if not path.is_file():
            raise JoinError(f"[sources.{name}.join.{jname}] path {join.path!r}: no such file "
                            f"in {settings.root}")
        side = read_file(engine, f"{name}.{jname}", join_source(source, join), path,
                         table=f"raw_join_{uuid.uuid4().hex[:10]}")
        scratch.append(side.table.get_name())
        shas[jname] = side.sha256
        cols = [c for c in side.table.columns if c != LINE]
        pairs = join.pairs()
        for left, right in pairs:
            if left not in table.columns:
                raise JoinError(
                    f"[sources.{name}.join.{jname}] on: {Path(raw.file_name).name} has no column "
                    f"{left!r}; its columns are {', '.join(repr(c) for c in table.columns if c != LINE and not c.startswith(JOIN_COUNT))}")
            if right not in cols:
                raise JoinError(
                    f"[sources.{name}.join.{jname}] on: {path.name} has no column {right!r}; "
                    f"its columns are {', '.join(repr(c) for c in cols)}")
        s = side.table
        rkeys = [right for _, right in pairs]
        w = ibis.window(group_by=[s[k] for k in rkeys], order_by=s[LINE])
        keyed = s.mutate(_jrank=ibis.row_number().over(w), _jcount=s.count().over(
            ibis.window(group_by=[s[k] for k in rkeys])))
        first = keyed.filter(keyed._jrank == 0)
        count_col = f"{JOIN_COUNT}{jname}"
        renamed = first.select(
            **{f"__jk{i}": first[r] for i, r in enumerate(rkeys)},
            **{f"{jname}.{c}": first[c] for c in cols},
            **{count_col: first._jcount},
        )
        cond = [table[left] == renamed[f"__jk{i}"] for i, (left, _) in enumerate(pairs)]
        keep = [c for c in table.columns]
        table = table.left_join(renamed, cond).select(
            *keep, *[f"{jname}.{c}" for c in cols], count_col)
        joins.append((jname, path.name, [left for left, _ in pairs], count_col, join.optional))
    out_name = f"_prisme_joined_{uuid.uuid4().hex[:12]}"
    joined = engine.create_table(out_name, table, temp=True)
    for t in scratch:
        engine.drop_raw(t)
    _drop(engine, raw)
    return dataclasses.replace(raw, table=joined, joins=joins, join_sha256=shas)


def _drop(engine, raw: RawInput) -> None:
    import contextlib

    with contextlib.suppress(Exception):
        name = raw.table.get_name()
        if name.startswith("raw_"):
            engine.drop_raw(name)
        else:
            engine.drop_table(name)
