"""The suppression list: erased persons stay erased when their sources are loaded again.

``prisme erase`` (:mod:`prisme.act.erase`) removes a person from every layer. The operational
systems still hold them, though, and deliver the same files again; without a memory of the
erasure the next load would bring the person back. The memory must not itself be personal
data, so it holds **salted SHA-256 digests** of the erased identifiers — normalised e-mail,
phone (E.164), ``source`` + ``source_customer_id`` — never the values (table
``suppression_list``; the salt, drawn once per warehouse, in ``suppression_salt``).

A load asks :func:`hold_back` about its validated rows: a row whose e-mail, phone or
customer key is on the list is not loaded but counted in the quarantine with
:data:`REASON` and nothing of what it held (rows read = rows loaded + rows quarantined still
holds). Digests are computed in the engine (``sha256`` through Ibis), so the check is one
more projection of the load, on any backend.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import operator
import secrets

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

SUPPRESSION = ibis.schema({"kind": dt.string, "digest": dt.string, "erased_at": dt.timestamp})
SALT = ibis.schema({"salt": dt.string})
#: what the quarantine says of a row held back (and nothing else of it)
REASON = "erased person (GDPR erasure): held back by the suppression list, not loaded"
#: kinds of identifiers: e-mail, phone, (source, customer id), customer id of an unknown source
KINDS = ("email", "phone", "source_id", "customer_id")
_SEP = "\x1f"


def salt(engine, *, create: bool = False) -> str | None:
    """The warehouse's salt (drawn and stored the first time, with ``create``)."""
    if engine.has_table("suppression_salt"):
        found = engine.to_pandas(engine.table("suppression_salt"))
        if len(found):
            return str(found.salt.iloc[0])
    if not create:
        return None
    value = secrets.token_hex(16)
    if not engine.has_table("suppression_salt"):
        engine.create_table("suppression_salt", schema=SALT)
    engine.insert("suppression_salt", ibis.memtable({"salt": [value]}).cast(SALT))
    return value


def digest(salt_value: str, kind: str, value: str) -> str:
    """The digest of one identifier (same as :func:`_digest_expr` computes in the engine)."""
    return hashlib.sha256(f"{salt_value}{kind}:{value}".encode()).hexdigest()


def source_key(source: str, customer_id: str) -> str:
    return f"{source}{_SEP}{customer_id}"


def add(engine, identifiers: dict[str, set[str]]) -> int:
    """Put identifiers (kind → values, already normalised) on the list; returns how many
    digests were new."""
    s = salt(engine, create=True)
    if not engine.has_table("suppression_list"):
        engine.create_table("suppression_list", schema=SUPPRESSION)
    now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None, microsecond=0)
    have = set(engine.to_pandas(engine.table("suppression_list").select("digest")).digest)
    rows = {(kind, digest(s, kind, v)) for kind, values in identifiers.items()
            for v in values if v}
    new = sorted(r for r in rows if r[1] not in have)
    if new:
        engine.insert("suppression_list", ibis.memtable(
            {"kind": [k for k, _ in new], "digest": [d for _, d in new],
             "erased_at": [now] * len(new)}).cast(SUPPRESSION))
    return len(new)


def _digest_expr(salt_value: str, kind: str, value: ir.StringValue) -> ir.StringValue:
    return (ibis.literal(f"{salt_value}{kind}:") + value).hexdigest("sha256")


def matches(engine, t: ir.Table) -> ir.BooleanValue | None:
    """True for the rows of ``t`` (canonical columns) that carry an identifier of an erased
    person; None when nobody was ever erased (the load is left as it is)."""
    if not engine.has_table("suppression_list"):
        return None
    s = salt(engine)
    if s is None:
        return None
    sl = engine.table("suppression_list")
    cols = t.columns
    hits = []

    def on(kind: str, value: ir.StringValue) -> ir.BooleanValue:
        listed = sl.filter(sl.kind == kind).digest
        return _digest_expr(s, kind, value.cast(dt.string)).isin(listed).fill_null(False)

    for kind in ("email", "phone"):
        if kind in cols:
            hits.append(on(kind, t[kind]))
    if "source_customer_id" in cols:
        cid = t.source_customer_id.cast(dt.string)
        if "source" in cols:
            hits.append(on("source_id", t.source.cast(dt.string) + _SEP + cid))
            hits.append(t.source.isnull() & on("customer_id", cid))
        else:
            hits.append(on("customer_id", cid))
    if not hits:
        return None
    return functools.reduce(operator.or_, hits)


def hold_back(engine, t: ir.Table, reason: str, blank: list[str]) -> ir.Table:
    """``t`` with the rows of erased persons marked rejected (``reason`` column set to
    :data:`REASON`) and their ``blank`` columns (what the quarantine and ``load_issues`` would
    keep of them) emptied. Unchanged when the suppression list is empty."""
    hit = matches(engine, t)
    if hit is None:
        return t
    return t.mutate(**{reason: ibis.ifelse(hit, ibis.literal(REASON), t[reason])},
                    **{c: ibis.ifelse(hit, ibis.null(t[c].type()), t[c]) for c in blank})
