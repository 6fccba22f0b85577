"""Steward overrides: pairs of records a person says are (or are not) the same customer.

A data steward knows things no model does ("these two Martins are father and son"). Their
decisions live in a CSV file of the project (``[identity] overrides_file``, default
``overrides.csv``) so that they are reviewed like any other project file and survive every
re-run. Columns::

    rule,source_a,id_a,source_b,id_b,note,author
    must_link,crm,C001,shop,8812,same person (moved),j.doe
    cannot_link,crm,C002,crm,C003,twins,j.doe

``must_link`` puts both records in one party, ``cannot_link`` keeps them apart; both win over
the model. Pairs naming a record not (yet) in the warehouse are kept in the file and apply
once the record arrives.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["rule", "source_a", "id_a", "source_b", "id_b", "note", "author", "created_at"]
RULES = ("must_link", "cannot_link")
_REQUIRED = COLUMNS[:5]


class OverrideError(ValueError):
    """An overrides file or an override that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Override:
    rule: str
    a: tuple[str, str]  #: (source, source_customer_id)
    b: tuple[str, str]
    note: str = ""
    author: str = ""
    line: int = 0  #: line in the overrides file (header = 1), for messages


def overrides_path(settings) -> Path | None:
    """The overrides file of the project, or None when the project disables overrides."""
    name = settings.identity.overrides_file
    return settings.resolve(name) if name else None


def parse_record(value: str | tuple[str, str] | list[str]) -> tuple[str, str]:
    """A record reference: a ``(source, id)`` pair or the text ``source:id``."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise OverrideError(f"a record is (source, source_customer_id), got {value!r}")
        return str(value[0]), str(value[1])
    source, sep, ident = str(value).partition(":")
    if not sep or not source or not ident:
        raise OverrideError(
            f"a record is written source:source_customer_id (e.g. crm:C001), got {value!r}"
        )
    return source, ident


def read_overrides(settings) -> list[Override]:
    """Every override of the project file (none when the file does not exist)."""
    path = overrides_path(settings)
    if path is None or not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise OverrideError(
                f"{path}: line 1: the header misses {', '.join(missing)}; "
                f"expected {','.join(COLUMNS[:7])}"
            )
        out = []
        for line, row in enumerate(reader, start=2):
            out.append(_row_to_override(path, line, row))
    return out


def _row_to_override(path: Path, line: int, row: dict) -> Override:
    rule = (row.get("rule") or "").strip().lower()
    if rule not in RULES:
        raise OverrideError(
            f"{path}: line {line}, column rule: expected must_link or cannot_link, "
            f"got {row.get('rule')!r}"
        )
    for col in _REQUIRED[1:]:
        if not (row.get(col) or "").strip():
            raise OverrideError(f"{path}: line {line}, column {col}: a value is required")
    a = (row["source_a"].strip(), row["id_a"].strip())
    b = (row["source_b"].strip(), row["id_b"].strip())
    if a == b:
        raise OverrideError(f"{path}: line {line}: a record cannot be paired with itself")
    return Override(rule, a, b, (row.get("note") or "").strip(),
                    (row.get("author") or "").strip(), line)


def add_override(settings, rule: str, a, b, note: str = "", author: str = "") -> Override:
    """Append one override to the project's file (created with its header if needed).

    ``a`` and ``b`` are ``(source, source_customer_id)`` pairs or ``source:id`` texts. It
    applies at the next ``prisme build``.
    """
    rule = rule.strip().lower().replace("-", "_")
    if rule not in RULES:
        raise OverrideError(f"the rule must be must_link or cannot_link, got {rule!r}")
    ra, rb = parse_record(a), parse_record(b)
    if ra == rb:
        raise OverrideError(f"a record cannot be paired with itself: {ra[0]}:{ra[1]}")
    path = overrides_path(settings)
    if path is None:
        raise OverrideError("overrides are disabled: set [identity] overrides_file in prisme.toml")
    existing = read_overrides(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    new_file = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if new_file:
            writer.writerow(COLUMNS)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        writer.writerow([rule, *ra, *rb, note, author, stamp])
    return Override(rule, ra, rb, note, author, len(existing) + 2)


def to_record_pairs(
    overrides: Iterable[Override], record_ids: pd.DataFrame
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(must_link, cannot_link) as pairs of ``record_id`` for the records present now.

    ``record_ids`` has ``source, source_customer_id, record_id``.
    """
    overrides = list(overrides)
    if not overrides:
        return [], []
    named = record_ids[_named_rows(record_ids, overrides)]
    lookup = dict(zip(zip(named.source, named.source_customer_id, strict=True),
                      named.record_id, strict=True))
    must, cannot = [], []
    for o in overrides:
        if o.a in lookup and o.b in lookup:
            (must if o.rule == "must_link" else cannot).append((lookup[o.a], lookup[o.b]))
    return must, cannot


def enforce(assignment: pd.DataFrame, overrides: Iterable[Override]) -> pd.DataFrame:
    """Make the clusters obey the overrides, whatever the model said.

    ``assignment`` has ``source, source_customer_id, cluster``. Must-link pairs join their
    clusters; then a cannot-link pair found in one cluster is separated by moving the second
    record, with the records it is must-linked to, into a cluster of its own. A cannot-link
    between records that must-links chain together is a contradiction the steward must fix.
    Only the clusters holding a record named by an override are looked at (a vectorised
    selection), so the cost does not grow with the number of records.
    """
    overrides = list(overrides)
    if not overrides:
        return assignment
    hit = _named_rows(assignment, overrides)
    if not hit.any():
        return assignment
    labels = assignment.cluster.astype(str)
    involved = labels.isin(labels[hit].unique())
    changed = _enforce_on(assignment[involved], overrides)
    out = assignment.copy()
    out["cluster"] = labels
    out.loc[involved, "cluster"] = changed.cluster.to_numpy()
    return out


def _named_rows(frame: pd.DataFrame, overrides: list[Override]) -> pd.Series:
    """Rows of ``frame`` (``source, source_customer_id``) that some override names."""
    named = {r for o in overrides for r in (o.a, o.b)}
    rows = np.flatnonzero(frame.source_customer_id.isin({i for _, i in named}).to_numpy())
    hit = np.zeros(len(frame), dtype=bool)
    sources = frame.source.to_numpy()[rows]
    idents = frame.source_customer_id.to_numpy()[rows]
    hit[rows] = [(s, i) in named for s, i in zip(sources, idents, strict=True)]
    return pd.Series(hit, index=frame.index)


def _enforce_on(assignment: pd.DataFrame, overrides: list[Override]) -> pd.DataFrame:
    """:func:`enforce` on the records of the clusters the overrides touch."""
    present = set(zip(assignment.source, assignment.source_customer_id, strict=True))
    active = [o for o in overrides if o.a in present and o.b in present]
    if not active:
        return assignment
    out = assignment.copy()
    key = list(zip(out.source, out.source_customer_id, strict=True))
    cluster = dict(zip(key, out.cluster.astype(str), strict=True))
    must = _UnionFind()
    for o in active:
        if o.rule == "must_link":
            must.union(o.a, o.b)
    _check_contradictions(active, must)
    # must-link: every record of the clusters of a must-link component joins one cluster
    groups = _UnionFind()
    for o in active:
        if o.rule == "must_link":
            groups.union(("c", cluster[o.a]), ("c", cluster[o.b]))
    components: dict = defaultdict(list)
    for node in list(groups.parent):
        components[groups.find(node)].append(node[1])
    label = {}
    for names in components.values():
        for name in names:
            label[name] = "|".join(sorted(names))
    cluster = {k: label.get(c, c) for k, c in cluster.items()}
    # cannot-link: the second record and its must-link component leave the cluster
    for o in active:
        if o.rule == "cannot_link" and cluster[o.a] == cluster[o.b]:
            old = cluster[o.b]
            new_label = f"{old}|split:{o.b[0]}:{o.b[1]}"
            for rec in [o.b, *must.members(o.b)]:
                if cluster.get(rec) == old:
                    cluster[rec] = new_label
    out["cluster"] = [cluster[k] for k in key]
    return out


def _check_contradictions(active: list[Override], must: _UnionFind) -> None:
    for o in active:
        if o.rule == "cannot_link" and must.find(o.a) == must.find(o.b):
            lines = sorted(x.line for x in active if x.rule == "must_link"
                           and must.find(x.a) == must.find(o.a))
            raise OverrideError(
                f"overrides: line {o.line} (cannot_link {o.a[0]}:{o.a[1]} / {o.b[0]}:{o.b[1]}) "
                f"contradicts the must_link lines {', '.join(map(str, lines))}, which chain "
                "these two records together; remove one of them"
            )


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self, x) -> list:
        root = self.find(x)
        return [y for y in list(self.parent) if self.find(y) == root]
