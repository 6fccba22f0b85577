"""GDPR erasure (right to be forgotten): ``prisme erase --email E | --party P | --source-id S:ID``.

The person is found (all their customer records: every record of every party any of them
belongs to), then removed or irreversibly anonymised in every layer, in one transaction:

* **deleted** — their customer records and every version of them (``core_customer_versions``,
  hence ``dim_customer``), their rows in ``party_map``, ``party_history``, and in every table
  keyed by ``party_id``: the golden record ``dim_party``, ``customer_360``, ``score_history``,
  ``target_lists`` and any per-customer mart;
* **anonymised** (the rows stay, so that sales totals, campaign rates, call volumes and the
  load counts rows read = loaded + quarantined do not change) — their facts lose the customer
  key, the extra attributes and any free text (``fact_sales``, ``fact_calls`` (and
  ``agent``), ``fact_web_sessions`` (and ``ip``), ``fact_campaign_contacts``,
  ``fact_surveys`` (and ``comment``), in the tables they are views of); their lines in the
  ``quarantine`` and in ``load_issues`` lose the value and the record as delivered;
* the steward's overrides naming their records are dropped from ``overrides.csv``;
* the audit log (``access.sqlite3``) loses the personal fields of every event about them or
  mentioning one of their identifiers;

then the warehouse file is **compacted** (rewritten, :meth:`~prisme.engine.Engine.compact`)
and the audit store vacuumed with its WAL truncated, so that the bytes are gone; the salted
digests of their identifiers go on the suppression list (:mod:`prisme.warehouse.suppression`)
so that the next load of the same files does not bring them back; and the erasure is
recorded in the audit log with counts only.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import json
import operator
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from prisme.engine import EngineError
from prisme.warehouse import core, suppression
from prisme.warehouse.schema import ATTRIBUTES, ENTITIES

KEY = ["source", "source_customer_id"]
CUSTOMER_VERSIONS = core.versions_table(ENTITIES["customer"])
#: the stored rows of the facts (``fact_sales`` is a view of ``core_transaction_facts``…):
#: the customer key, the extra attributes and these free-text columns set to NULL
_FREE_TEXT = {"call": ("agent",), "web_session": ("ip",), "survey": ("comment",)}
FACTS = {core.storage_table(e): (*_FREE_TEXT.get(e.name, ()), ATTRIBUTES)
         for e in ENTITIES.values()
         if not e.versioned and "source_customer_id" in e.names}
ERASED = "erased (GDPR erasure)"


class ErasureError(ValueError):
    """The person to erase cannot be found, or the request is ambiguous."""


@dataclass
class Person:
    """Everything that identifies one person in the warehouse."""

    keys: pd.DataFrame  #: (source, source_customer_id) of every customer record
    party_ids: set[str]
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  #: first and last names as stored
    #: (load_id, source_line) of the lines that brought their records
    lines: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def source_ids(self) -> set[str]:
        return {f"{s}:{c}" for s, c in self.keys[KEY].itertuples(index=False)}


def _national(phone: str) -> str:
    """The digits a person would type for an E.164 number: +33612345678 → 612345678."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[2:] if len(digits) > 9 else digits


@dataclass
class ErasureResult:
    erasure_id: str
    records: int
    parties: int
    rows: dict[str, int] = field(default_factory=dict)
    audit_events: int = 0
    suppressed: int = 0
    compacted: bool = False
    purged: int = 0  #: published copies of the warehouse deleted
    notes: list[str] = field(default_factory=list)  #: what could not be done, and why

    def sentence(self) -> str:
        touched = ", ".join(f"{t} {n:,}" for t, n in sorted(self.rows.items()) if n)
        return (f"Erasure {self.erasure_id}: {self.records} customer record(s) of "
                f"{self.parties} part{'y' if self.parties == 1 else 'ies'} removed or "
                f"anonymised ({touched}); {self.audit_events} audit event(s) blanked; "
                f"{self.suppressed} identifier digest(s) added to the suppression list"
                + ("; warehouse file compacted" if self.compacted else "")
                + (f", {self.purged} older published cop{'y' if self.purged == 1 else 'ies'} "
                   "deleted." if self.purged else "."))


# ----------------------------------------------------------------------------- finding
def _normal_email(email: str) -> str:
    return email.strip().lower()


def parse_source_id(text: str) -> tuple[str, str]:
    if ":" not in text:
        raise ErasureError(f"--source-id is SOURCE:CUSTOMER_ID (e.g. crm:C000123), got {text!r}")
    src, cid = text.split(":", 1)
    return src.strip(), cid.strip()


def find_person(engine, *, email: str | None = None, party: str | None = None,
                source_id: str | None = None) -> Person:
    """The records of the person named by one identifier: every record of the parties its
    records belong to (now or in the party history)."""
    given = [x for x in (email, party, source_id) if x]
    if len(given) != 1:
        raise ErasureError("name the person with exactly one of --email, --party, --source-id")
    versions = engine.table(CUSTOMER_VERSIONS) if engine.has_table(CUSTOMER_VERSIONS) else None
    pm = engine.table("party_map") if engine.has_table("party_map") else None
    keys = pd.DataFrame(columns=KEY)
    parties: set[str] = set()
    if email:
        if versions is None:
            raise ErasureError("the warehouse holds no customer record yet")
        v = versions.filter(versions.email.lower() == _normal_email(email))
        keys = engine.to_pandas(v.select(*KEY).distinct())
    elif source_id:
        src, cid = parse_source_id(source_id)
        keys = pd.DataFrame({"source": [src], "source_customer_id": [cid]})
    else:
        parties = {party}
    # widen: the parties of these keys, then every key of those parties, until stable
    for _ in range(5):
        if pm is not None and len(keys):
            k = ibis.memtable(keys[KEY].astype(str))
            parties |= set(engine.to_pandas(pm.semi_join(k, KEY).select("party_id")).party_id)
        if engine.has_table("party_history") and (len(keys) or parties):
            ph = engine.table("party_history")
            by_party = ph.filter(ph.party_id.isin(sorted(parties)))
            more = engine.to_pandas(by_party.select(*KEY).distinct()).dropna()
        else:
            more = pd.DataFrame(columns=KEY)
        if pm is not None and parties:
            more = pd.concat([more, engine.to_pandas(
                pm.filter(pm.party_id.isin(sorted(parties))).select(*KEY))])
        grown = pd.concat([keys, more]).dropna().drop_duplicates().reset_index(drop=True)
        if len(grown) == len(keys):
            break
        keys = grown
    if keys.empty and not parties:
        raise ErasureError(f"nobody in the warehouse has {_said(email, party, source_id)}")
    person = Person(keys=keys.astype(str), party_ids=parties)
    if versions is not None and len(keys):
        mine = versions.semi_join(ibis.memtable(person.keys), KEY)
        rec = engine.to_pandas(mine.select("email", "phone", "fax", "first_name", "last_name",
                                           "load_id", "source_line"))
        person.emails = {_normal_email(e) for e in rec.email.dropna()}
        person.phones = set(rec.phone.dropna()) | set(rec.fax.dropna())
        person.names = set(rec.first_name.dropna()) | set(rec.last_name.dropna())
        person.lines = rec[["load_id", "source_line"]].drop_duplicates()
    if email:
        person.emails.add(_normal_email(email))
    if person.keys.empty and not engine.has_table("party_map"):
        raise ErasureError(f"nobody in the warehouse has {_said(email, party, source_id)}")
    return person


def _said(email, party, source_id) -> str:
    if email:
        return "this e-mail"
    return f"party {party}" if party else f"the record {source_id}"


# ----------------------------------------------------------------------------- erasing
#: tables with a point-lookup index (``prisme.serve.marts.index_card``, ``index_search``),
#: made again when an erasure rewrites them
INDEXED = {"mart_card": "party_id", "mart_search": "party_id"}


def _rewrite(engine, name: str, expr: ir.Table) -> None:
    """Replace table ``name`` by ``expr`` (computed from it), inside the caller's transaction."""
    tmp = f"{name}__erasing"
    engine.create_table(tmp, expr, overwrite=True)
    engine.drop_table(name)
    engine.rename_table(tmp, name)
    if name in INDEXED:  # its point-lookup index went with the old table
        engine.create_index(name, INDEXED[name])


def _base_tables(engine) -> list[str]:
    """The warehouse's tables (not views) — those whose rows can be rewritten."""
    # the public views over the stored rows (dim_customer, fact_sales…) are never rewritten
    views = {e.table for e in ENTITIES.values()} | set(engine.list_views())
    return [t for t in engine.list_tables() if t not in views and not t.endswith("__building")
            and not t.startswith(("_", "ibis_"))]


def _key_match(t: ir.Table, keys: ir.Table) -> ir.BooleanValue:
    """Rows of ``t`` carrying one of the person's customer keys (``keys``: the uploaded
    keys; a row without ``source`` matches on the customer id alone)."""
    joined = t.source.cast("string") + "\x1f" + t.source_customer_id.cast("string")
    hit = joined.isin(keys.k)
    if "source" in t.columns:
        hit = hit | (t.source.isnull() & t.source_customer_id.isin(keys.source_customer_id))
    return hit.fill_null(False)


def upload(engine, person: Person) -> tuple[ir.Table, ir.Table]:
    """The person's keys and lines as temporary tables of the engine (the rewrites refer
    to them; an in-memory table inside a rewritten table's query is not portable)."""
    keys = person.keys[KEY].drop_duplicates().astype(str)
    keys = keys.assign(k=keys.source + "\x1f" + keys.source_customer_id)
    lines = person.lines if len(person.lines) else \
        pd.DataFrame({"load_id": pd.Series(dtype=str), "source_line": pd.Series(dtype="int64")})
    lines = lines.astype({"load_id": str, "source_line": "int64"})
    lines = lines.assign(k=lines.load_id + "#" + lines.source_line.astype(str))
    tag = uuid.uuid4().hex[:8]
    k = engine.create_table(f"_prisme_erase_keys_{tag}",
                            ibis.memtable(keys).cast({"source": "string",
                                                      "source_customer_id": "string",
                                                      "k": "string"}), temp=True)
    ln = engine.create_table(f"_prisme_erase_lines_{tag}",
                             ibis.memtable(lines).cast({"load_id": "string",
                                                        "source_line": "int64",
                                                        "k": "string"}), temp=True)
    return k, ln


def _text_match(col: ir.StringValue, person: Person) -> ir.BooleanValue:
    """A free-text field mentioning one of the person's identifiers: the e-mail, a customer
    id as a whole (JSON) value, a phone number (separators ignored), or both their first and
    last name as whole values."""
    low = col.lower()
    hits = [low.contains(e) for e in person.emails]
    hits += [col.contains(f'"{cid}"') for cid in set(person.keys.source_customer_id)]
    squeezed = col.re_replace(r"[ .()/-]", "")
    hits += [squeezed.contains(p) for p in {_national(p) for p in person.phones} if len(p) >= 6]
    names = sorted({n.lower() for n in person.names})
    if len(names) >= 2:  # a first and a last name of theirs, each a whole value
        found = [low.contains(f'"{n}"').cast("int64") for n in names]
        hits.append(functools.reduce(operator.add, found) >= 2)
    if not hits:
        return ibis.literal(False)
    return functools.reduce(operator.or_, hits).fill_null(False)


def _count(engine, t: ir.Table, cond: ir.BooleanValue) -> int:
    return int(engine.scalar(t.filter(cond).count()))


def erase_in_warehouse(engine, person: Person) -> dict[str, int]:
    """Delete and anonymise the person's rows in every table (the caller holds a transaction);
    returns rows touched per table."""
    done: dict[str, int] = {}
    parties = sorted(person.party_ids)
    tables = _base_tables(engine)
    keys, lines = upload(engine, person)
    try:
        for name in tables:
            n = _erase_table(engine, name, person, parties, keys, lines)
            if n:
                done[name] = n
    finally:
        for tmp in (keys, lines):
            engine.drop_table(tmp.get_name())
    return done


def person_rows(engine, name: str, person: Person, keys: ir.Table, lines: ir.Table
                ) -> tuple[ir.BooleanValue | None, dict[str, ir.Value]]:
    """Which rows of table ``name`` are the person's (None: the table holds nothing of
    anybody), and for a table whose rows are anonymised rather than deleted, the new values
    of the columns that identify them."""
    if name in ("suppression_list", "suppression_salt"):
        return None, {}
    t = engine.table(name)
    cols = set(t.columns)
    parties = sorted(person.party_ids)
    cond = None
    anonymise: dict[str, ir.Value] = {}
    if name in FACTS and {"source_customer_id"} <= cols:
        cond = _key_match(t, keys) if "source" in cols else \
            t.source_customer_id.isin(keys.source_customer_id)
        anonymise = {c: ibis.null(t[c].type()) for c in ("source_customer_id", *FACTS[name])
                     if c in cols}
    elif name in ("quarantine", "load_issues"):
        cond = _text_match(t.raw_value.cast("string"), person)
        if "raw_record" in cols:
            cond = cond | _text_match(t.raw_record.cast("string"), person)
        cond = cond | (t.load_id + "#" + t.source_line.cast("string")).isin(lines.k)
        anonymise = {"raw_value": ibis.null("string"), "reason": ibis.literal(ERASED)}
        if "raw_record" in cols:
            anonymise["raw_record"] = ibis.null(t.raw_record.type())
    elif name == "party_history":
        cond = _key_match(t, keys) | t.party_id.isin(parties)
    elif {"source", "source_customer_id"} <= cols:
        cond = _key_match(t, keys)
        if "party_id" in cols:
            cond = cond | t.party_id.isin(parties)
    elif "party_id" in cols:
        cond = t.party_id.isin(parties)
    return cond, anonymise


def _erase_table(engine, name: str, person: Person, parties: list[str], keys: ir.Table,
                 lines: ir.Table) -> int:
    cond, anonymise = person_rows(engine, name, person, keys, lines)
    if cond is None:
        return 0
    t = engine.table(name)
    cols = set(t.columns)
    n = _count(engine, t, cond)
    other = name == "party_history" and _count(engine, t, t.other_party_id.isin(parties))
    if not n and not other:
        return 0
    if anonymise:
        _rewrite(engine, name, t.mutate(**{c: ibis.ifelse(cond, v, t[c]).cast(t[c].type())
                                           for c, v in anonymise.items()}))
    else:
        kept = t.filter(~cond)
        if name == "party_history" and "other_party_id" in cols:
            kept = kept.mutate(other_party_id=ibis.ifelse(
                kept.other_party_id.isin(parties), ibis.null("string"),
                kept.other_party_id))
        _rewrite(engine, name, kept)
    return n


def _erase_overrides(settings, person: Person) -> int:
    path = settings.resolve(settings.identity.overrides_file) \
        if settings.identity.overrides_file else None
    if path is None or not Path(path).exists():
        return 0
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return 0
    head, body = rows[0], rows[1:]
    ids = set(person.keys[KEY].itertuples(index=False, name=None))
    try:
        sa, ia, sb, ib = (head.index(c) for c in ("source_a", "id_a", "source_b", "id_b"))
    except ValueError:
        return 0
    kept = [r for r in body if len(r) > max(sa, ia, sb, ib)
            and (r[sa], r[ia]) not in ids and (r[sb], r[ib]) not in ids]
    if len(kept) == len(body):
        return 0
    tmp = Path(f"{path}.erasing")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([head, *kept])
    tmp.replace(path)
    return len(body) - len(kept)


def _erase_audit(root: Path, person: Person) -> int:
    """Blank the personal fields of every audit event about the person or mentioning one of
    their identifiers; vacuum the store and truncate its WAL so the old pages are gone."""
    from prisme.access import audit

    n = 0
    for subject in sorted(person.party_ids | person.source_ids):
        n += audit.erase_subject(root, subject)
    con = audit.connect(root)
    try:
        con.execute("PRAGMA secure_delete = ON")
        # details are JSON: a customer id counts as a whole (quoted) value, never as digits
        # inside another number
        needles = sorted({e.lower() for e in person.emails} | {p for p in person.phones}
                         | {f'"{c}"'.lower() for c in person.keys.source_customer_id}
                         | {f'"{i}"'.lower() for i in person.source_ids}
                         | {f'"{n}"'.lower() for n in person.names if len(n) >= 3})
        for needle in needles:
            cur = con.execute(
                "UPDATE audit_log SET subject = CASE WHEN instr(lower(subject), ?) > 0 "
                "THEN 'erased' ELSE subject END, detail = '{}' "
                "WHERE instr(lower(detail), ?) > 0 OR instr(lower(subject), ?) > 0",
                (needle, needle, needle))
            n += cur.rowcount
        con.execute("VACUUM")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return n


def erase(engine, settings, *, email: str | None = None, party: str | None = None,
          source_id: str | None = None, actor: str, compact: bool = True) -> ErasureResult:
    """Erase one person (see the module docstring); returns what was done."""
    from prisme.access import audit

    with engine.exclusive("prisme erase"):
        person = find_person(engine, email=email, party=party, source_id=source_id)
        result = ErasureResult(erasure_id=f"E{uuid.uuid4().hex[:12]}",
                               records=len(person.keys), parties=len(person.party_ids))
        # readers see the state before the erasure, then the erased one (never a mix)
        with engine.publishing("prisme erase"):
            with engine.transaction():
                result.rows = erase_in_warehouse(engine, person)
                result.suppressed = suppression.add(engine, {
                    "email": person.emails,
                    "phone": person.phones,
                    "source_id": {suppression.source_key(s, c)
                                  for s, c in person.keys[KEY].itertuples(index=False)},
                    "customer_id": set(person.keys.source_customer_id),
                })
                _mark_erased_parties(engine, person)
            if compact:
                try:
                    engine.compact()
                    result.compacted = True
                except EngineError as exc:  # an engine that cannot rewrite its storage
                    result.notes.append(str(exc))
        # the published copies made before the erasure hold the person: all deleted
        result.purged = len(engine.purge_published())
        overrides = _erase_overrides(settings, person)
        if overrides:
            result.rows["overrides.csv"] = overrides
        result.audit_events = _erase_audit(settings.root, person)
    audit.record(settings.root, actor, "erase", result.erasure_id, {
        "records": result.records, "parties": result.parties, "rows": result.rows,
        "audit_events": result.audit_events, "suppressed": result.suppressed,
        "compacted": result.compacted, "purged": result.purged, "notes": result.notes,
    })
    return result


def _mark_erased_parties(engine, person: Person) -> None:
    """One ``party_history`` row per erased party (event ``erased``, no record): the party id
    is never given to somebody else, and the history says where it went."""
    if not person.party_ids or not engine.has_table("party_history"):
        return
    schema = engine.table("party_history").schema()
    now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = pd.DataFrame({"party_id": sorted(person.party_ids), "event": "erased",
                         "source": None, "source_customer_id": None, "other_party_id": None,
                         "match_probability": None, "load_id": None, "at": now})
    engine.insert("party_history", ibis.memtable(rows[list(schema.names)]).cast(schema))


def describe(person: Person) -> str:
    """What will be erased, for the confirmation prompt (printed to the operator only)."""
    return json.dumps({"records": sorted(person.source_ids), "parties": sorted(person.party_ids)})
