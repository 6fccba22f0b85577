"""Data-quality audit of the customer source lists (``prisme quality``, table ``quality_audit``).

For every customer load, the audit looks at the source's list **as it stood after that load**
(the versions of ``dim_customer`` valid at the load's time, so that an incremental load is
judged with the records it did not resend) and the rows the load sent to quarantine, and
writes one row per source × load × check:

* ``completeness`` — share of records with a non-empty value, per field; ``near_empty``
  counts records with none of first name, e-mail, phone, address, postcode, city;
* ``validity`` — e-mail syntax, phone in E.164, postcode shape for the record's country (else the
  country of its phone number, else the project's default country), a known country and
  nationality (ISO-3166, as the loader normalises them), birth date
  plausible (not in the future, age between :data:`MIN_AGE` and :data:`MAX_AGE`), created /
  updated dates not after the load, annual revenue within :data:`AMOUNT_RANGE`;
* ``placeholder`` — values typed when there was nothing to type (``noemail@…``,
  ``0000000000``, ``N/A``) or shared by at least ``[identity] placeholder_min_count`` records;
* ``duplicates`` — records of the source that identity resolution put in a party already
  holding another record of the same source (records − parties);
* ``overlap`` — records whose party also has a record in another source (field = that source,
  or empty for any other source);
* ``freshness`` — days since the load and since the latest record (both up to the audit
  time), and the lag between the latest record and the load (what the score uses);
* ``consent`` — share of records with a known consent, per channel;
* ``score`` — the 0–100 score of the list (field empty), the weighted mean of the
  ``score_component`` rows (completeness, validity, uniqueness, freshness, consent; 0–100
  each, weights in :data:`WEIGHTS` and in their detail).

Values the loader could not use (an invalid or placeholder e-mail, phone, postcode or country of
a loaded customer) are NULL in ``dim_customer`` and noted in ``load_issues``; the audit joins
each record to the issues of the line that made its version. Such a value counts as **delivered
but invalid**: it is *present* for completeness (the source did fill the field) and *invalid*
(or a *placeholder*) for validity, so one bad value is counted once, by validity, never also
as a missing value. Rows the loader rejected entirely (a bad date, a required column blank) are
in ``quarantine`` and counted from there. An unknown country (or nationality) loaded as empty
is counted the same way, by its own ``validity`` row.

Each row's ``detail`` is a code and its figures (a JSON object: ``{"code":"invalid_email",
"n":3,"of":120,"rejected":1}``), not a sentence: the pages and reports say it in their
reader's language (:mod:`prisme.i18n.quality` lists the codes).

Freshness is measured against the audit time (``as_of``, by default the clock when the audit
runs): the ``freshness`` rows' details and the reports name that date, and ``audited_at``
holds it.

Everything per record is computed in the engine (one grouped aggregation per table); only the
per-load figures (a few dozen numbers per load) are reshaped in pandas.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from prisme.warehouse import conform as C
from prisme.warehouse.schema import ENTITIES, SOFT_KINDS

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "address_line", "postal_code",
                  "city", "country", "birth_date")
#: what a customer record should have (a name, the three ways to reach the customer and the
#: postal address): completeness is measured on these whether the source delivers them or
#: not — a field the list does not have at all counts as empty, and is named
EXPECTED_FIELDS = ("first_name", "last_name", "email", "phone", "address_line",
                   "postal_code", "city", "country")
#: contact fields counted in completeness only when the source delivers them
OPTIONAL_FIELDS = tuple(f for f in CONTACT_FIELDS if f not in EXPECTED_FIELDS)
#: weight of each component in the 0–100 score (they sum to 1)
WEIGHTS = {"completeness": 0.25, "validity": 0.30, "uniqueness": 0.20, "freshness": 0.10,
           "consent": 0.15}
#: what each component measures, for reports
COMPONENTS = {
    "completeness": "mean share of records with a value over what a customer record should "
                    f"have ({', '.join(EXPECTED_FIELDS)}: a field the source lacks counts "
                    "0), and over the birth date when the source delivers it",
    "validity": "mean share of valid values (placeholders count as invalid) over the checked "
                "fields (country and nationality apart)",
    "uniqueness": "1 - duplicate rate inside the source (from identity resolution)",
    "freshness": f"1 when the latest record is at most {30} days older than the load, "
                 "falling to 0 at 365 days",
    "consent": "mean share of records with a known consent (e-mail, phone, post)",
}
AUDIT = ibis.schema({
    "source": dt.string, "load_id": dt.string, "loaded_at": dt.timestamp, "check": dt.string,
    "field": dt.string, "value": dt.float64, "n": dt.int64, "detail": dt.string,
    "audited_at": dt.timestamp,
})
KEY = ["source", "source_customer_id"]
FIELDS = [c.name for c in ENTITIES["customer"].columns if c.name not in KEY]
NEAR_EMPTY_FIELDS = ("first_name", "email", "phone", "address_line", "postal_code", "city")
CONSENT = ("consent_email", "consent_phone", "consent_post")
TEXT_PLACEHOLDER_FIELDS = ("first_name", "last_name", "address_line", "city")
MIN_AGE, MAX_AGE = 14, 120
AMOUNT_RANGE = (0, 10_000_000_000)
FRESH_DAYS, STALE_DAYS = 30, 365

#: the conform rules (prisme.warehouse.conform), named here as the audit always named them
EMAIL_RE, E164_RE, POSTCODE_RE = C.EMAIL_RE, C.E164_RE, C.POSTCODE_RE
#: columns whose unusable values the loader notes in ``load_issues`` (loaded as empty)
ISSUE_FIELDS = tuple(c.name for c in ENTITIES["customer"].columns
                     if c.kind in SOFT_KINDS and not c.required)
#: ISO-3166 country columns: a code the loader does not know is noted and loaded as empty
COUNTRY_FIELDS = tuple(c.name for c in ENTITIES["customer"].columns
                       if c.kind == "country" and c.name in ISSUE_FIELDS)
#: validity rows reported but left out of the score's validity component: the country rows
#: came after the score was calibrated, and a mean over fields would move every list's score
#: (a check almost every list passes dilutes the others)
UNSCORED_VALIDITY = COUNTRY_FIELDS


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _data_time(engine) -> datetime | None:
    """When the last load that wrote rows (any source) finished: the warehouse's "now"."""
    if not engine.has_table("load_batches"):
        return None
    lb = engine.table("load_batches")
    lb = lb.filter(lb.status.isnull() | ~lb.status.isin(NOT_LOADED))
    last = engine.scalar(lb.finished_at.coalesce(lb.started_at).max())
    return None if last is None or pd.isna(last) else pd.Timestamp(last).to_pydatetime()


# ------------------------------------------------------------------------------- entry point
def audit(engine, settings, *, load_id: str | None = None, as_of: datetime | None = None,
          write: bool = True) -> pd.DataFrame:
    """Audit every customer load (or one), write ``quality_audit`` and return its rows.

    ``as_of`` is the audit time: freshness is measured up to it. By default it is the
    data's own time — when the last load that wrote rows finished — not the wall clock: a
    list loaded today is fresh today, and auditing the same data again gives the same rows.
    """
    if not engine.has_table("dim_customer"):
        return _empty()
    as_of = as_of or _data_time(engine) or _now()
    loads = customer_loads(engine, load_id)
    if engine.scalar(loads.count()) == 0:
        return _empty()
    # the snapshots (a join over every version of every list) are read three times: once
    name = f"_prisme_audit_snap_{uuid.uuid4().hex[:8]}"
    snap = engine.create_table(name, snapshots(engine, loads), temp=True, overwrite=True)
    try:
        wide = engine.to_pandas(_record_measures(_with_issues(engine, snap), settings))
        quarantined = _quarantined(engine, loads)
        dup, overlap = _party_measures(engine, snap)
    finally:
        engine.drop_table(name)
    rows = _rows(wide, quarantined, dup, overlap, as_of)
    rows = pd.concat([rows, _scores(rows)], ignore_index=True)
    rows["audited_at"] = pd.Timestamp(as_of)
    rows = _typed(rows)
    if write:
        _write(engine, rows)
    return rows


def _empty() -> pd.DataFrame:
    return _typed(pd.DataFrame({c: [] for c in AUDIT.names}))


def _typed(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows[list(AUDIT.names)].copy()
    for c in ("source", "load_id", "check", "field", "detail"):
        rows[c] = rows[c].astype("string")
    rows["value"] = rows["value"].astype("float64")
    rows["n"] = rows["n"].astype("Int64")
    for c in ("loaded_at", "audited_at"):
        rows[c] = pd.to_datetime(rows[c]).astype("datetime64[us]")
    return rows.sort_values(["source", "loaded_at", "load_id", "check", "field"],
                            na_position="first", ignore_index=True)


def _write(engine, rows: pd.DataFrame) -> None:
    """Replace the rows of the audited loads, keep the others (the trend)."""
    frames = [rows]
    with engine.transaction():
        if engine.has_table("quality_audit"):
            old = engine.table("quality_audit")
            keep = old.filter(~old.load_id.isin(list(rows.load_id.unique())))
            frames.insert(0, engine.to_pandas(keep.select(*AUDIT.names)))
        table = _typed(pd.concat(frames, ignore_index=True))
        engine.create_table("quality_audit", ibis.memtable(table).cast(AUDIT), overwrite=True)


# ---------------------------------------------------------------------------- the records
#: load_batches statuses of journaled loads that wrote no rows
NOT_LOADED = ("failed", "unchanged", "stale")


def customer_loads(engine, load_id: str | None = None) -> ibis.Table:
    """``load_id, source, load_time`` of every customer load (from ``load_batches``, and any
    load of ``dim_customer`` the journal does not know)."""
    v = engine.table("dim_customer")
    seen = v.group_by("load_id").aggregate(source=v.source.min(), load_time=v.loaded_at.max())
    if engine.has_table("load_batches"):
        lb = engine.table("load_batches")
        # a load that wrote nothing (failed, or an unchanged / stale file: journaled, not
        # loaded) is not a state of the list; auditing it again would grow the trend
        lb = lb.filter((lb.entity == "customer")
                       & (lb.status.isnull() | ~lb.status.isin(NOT_LOADED)))
        if engine.has_table("load_supersessions"):  # a --reload replaced them: not audited twice
            gone = engine.table("load_supersessions")
            lb = lb.anti_join(gone, lb.load_id == gone.load_id)
        journal = lb.select("load_id", "source",
                            load_time=lb.finished_at.coalesce(lb.started_at))
        loads = journal.union(seen.anti_join(journal, "load_id"))
    else:
        loads = seen
    loads = loads.filter(loads.load_id.notnull())
    if load_id is not None:
        loads = loads.filter(loads.load_id == load_id)
    return loads


def snapshots(engine, loads: ibis.Table) -> ibis.Table:
    """Each load's source list as it stood after the load: one row per (load, record)."""
    v = engine.table("dim_customer")
    origin = loads.select(_lid=loads.load_id, _src=loads.source)
    v = v.left_join(origin, v.load_id == origin._lid)
    v = v.mutate(_audit_source=v._src.coalesce(v.source)).drop("_lid", "_src")
    valid_to = v.valid_to if "valid_to" in v.columns else ibis.null(dt.timestamp)
    valid_from = v.valid_from if "valid_from" in v.columns else v.loaded_at
    v = v.mutate(_from=valid_from, _to=valid_to)
    L = loads.select(_load=loads.load_id, _source=loads.source, _time=loads.load_time)
    snap = v.join(L, [v._audit_source == L._source, v._from <= L._time,
                      v._to.isnull() | (v._to > L._time)])
    return snap.mutate(audit_source=snap._source, audit_load=snap._load, load_time=snap._time)


def _present(col: ibis.Value) -> ibis.BooleanValue:
    if col.type().is_string():
        return col.notnull() & (col.strip().length() > 0)
    return col.notnull()


_is_placeholder_text = C.is_placeholder_text
_is_placeholder_email = C.is_placeholder_email
_is_placeholder_phone = C.is_placeholder_phone
_country_of_phone = C.country_of_phone


def _postcode_valid(pc: ibis.StringValue, country: ibis.StringValue,
                    default_country: str) -> ibis.BooleanValue:
    """Postcode shape of the country (:func:`prisme.warehouse.conform.is_valid_postcode`)."""
    return C.is_valid_postcode(pc, country, default_country)


def _with_issues(engine, snap: ibis.Table) -> ibis.Table:
    """Each record with, per soft field, ``_issue__<field>`` (the loader loaded the delivered
    value as empty) and ``_issue_ph__<field>`` (that value was a placeholder), from the
    ``load_issues`` of the line that made the record's version."""
    flags = {}
    if engine.has_table("load_issues"):
        i = engine.table("load_issues")
        i = i.filter(i.entity == "customer")
        raw = i.raw_value.cast(dt.string)
        ph = ibis.cases((i.column_name.isin(["phone", "fax"]), C.is_placeholder_phone(raw)),
                        (i.column_name == "email", C.is_placeholder_email(raw)),
                        (i.column_name == "postal_code", C.is_placeholder_postcode(raw)),
                        else_=C.is_placeholder_text(raw)).coalesce(False)
        per_line = i.group_by(_il=i.load_id, _ln=i.source_line).aggregate(**{
            **{f"_issue__{f}": (i.column_name == f).any() for f in ISSUE_FIELDS},
            **{f"_issue_ph__{f}": ((i.column_name == f) & ph).any() for f in ISSUE_FIELDS},
        })
        snap = snap.left_join(per_line, [snap.load_id == per_line._il,
                                         snap.source_line == per_line._ln])
        snap = snap.drop("_il", "_ln")
        flags = {c: snap[c].coalesce(False) for c in per_line.columns if c.startswith("_issue")}
    else:
        no = ibis.literal(False)
        flags = {f"_issue{k}__{f}": no for f in ISSUE_FIELDS for k in ("", "_ph")}
    return snap.mutate(**flags)


def _record_measures(snap: ibis.Table, settings) -> ibis.Table:
    """One row per load: counts of present, invalid and placeholder values, consent, dates.

    Two stages: :func:`_record_flags` evaluates every per-record test once (the expensive
    part: trims, regular expressions, the postcode shapes); the aggregation only sums flags.
    """
    flags = _record_flags(snap, settings)
    group = [flags.audit_source, flags.audit_load, flags.load_time]
    m: dict[str, ibis.Value] = {"records": flags.count()}
    for name in flags.columns:
        if name.startswith("_m_"):
            m[name[3:]] = flags[name].cast("int64").sum()
    when = flags._when
    m["latest_record"] = when.max(where=when <= flags.load_time)
    out = flags.group_by(group).aggregate(**m)
    return out.rename(source="audit_source", load_id="audit_load")


def _record_flags(snap: ibis.Table, settings) -> ibis.Table:
    """Per record of each snapshot, one boolean ``_m_<measure>`` per counted measure."""
    min_count = settings.identity.placeholder_min_count
    snap = snap.mutate(_email_norm=snap.email.strip().lower())
    # values shared by at least min_count records of the list are placeholders
    snap = _flag_shared(snap, "_email_norm", "_email_shared", min_count)
    snap = _flag_shared(snap, "phone", "_phone_shared", min_count)
    snap = snap.mutate(
        _present_email=_present(snap.email), _present_phone=_present(snap.phone),
        _country=snap.country.strip().upper().coalesce(_country_of_phone(snap.phone)),
    )
    load_day = snap.load_time.cast(dt.date)
    m: dict[str, ibis.Value] = {}
    for f in FIELDS:
        if f in snap.columns:
            delivered = _present(snap[f])
            if f in ISSUE_FIELDS:  # delivered, loaded as empty: present but invalid
                delivered = delivered | snap[f"_issue__{f}"]
            m[f"present__{f}"] = delivered

    def noted(f, placeholder=False):  # values loaded as empty (placeholders or not)
        ph = snap[f"_issue_ph__{f}"]
        return snap[f"_issue__{f}"] & (ph if placeholder else ~ph)

    email = snap._email_norm
    email_ph = snap._present_email & (_is_placeholder_email(snap.email) | snap._email_shared)
    phone_ph = snap._present_phone & (_is_placeholder_phone(snap.phone) | snap._phone_shared)
    m["placeholder__email"] = email_ph | noted("email", True)
    m["placeholder__phone"] = phone_ph | noted("phone", True)
    m["invalid__email"] = ((snap._present_email & ~email_ph & ~C.is_valid_email(email))
                           | noted("email"))
    m["invalid__phone"] = ((snap._present_phone & ~phone_ph
                            & ~C.is_e164(snap.phone)) | noted("phone"))
    m["invalid__fax"] = ((_present(snap.fax) & ~C.is_e164(snap.fax))
                         | snap._issue__fax)
    for f in TEXT_PLACEHOLDER_FIELDS:
        m[f"placeholder__{f}"] = _present(snap[f]) & _is_placeholder_text(snap[f])
    pc_ok = _postcode_valid(snap.postal_code, snap._country,
                            settings.project.default_country.upper())
    checked_pc = _present(snap.postal_code) & pc_ok.notnull()
    m["checked__postal_code"] = checked_pc | snap._issue__postal_code
    m["invalid__postal_code"] = (checked_pc & ~pc_ok.coalesce(True)) | snap._issue__postal_code
    for f in COUNTRY_FIELDS:  # a code the loader did not know was loaded as empty
        m[f"invalid__{f}"] = snap[f"_issue__{f}"]
    birth = snap.birth_date
    too_old = birth < (load_day - ibis.interval(years=MAX_AGE))
    too_young = birth > (load_day - ibis.interval(years=MIN_AGE))
    m["invalid__birth_date"] = birth.notnull() & (too_old | too_young)
    m["future__birth_date"] = birth > load_day
    for f in ("created_at", "updated_at"):
        m[f"invalid__{f}"] = snap[f] > snap.load_time
    lo, hi = AMOUNT_RANGE
    rev = snap.annual_revenue
    m["invalid__annual_revenue"] = rev.notnull() & ((rev < lo) | (rev >= hi))
    empty = ibis.literal(True)
    for f in NEAR_EMPTY_FIELDS:
        empty = empty & ~_present(snap[f])
        if f in ISSUE_FIELDS:
            empty = empty & ~snap[f"_issue__{f}"]
    m["near_empty"] = empty
    for c in CONSENT:
        m[f"yes__{c}"] = snap[c] == True  # noqa: E712 - SQL comparison
        m[f"no__{c}"] = snap[c] == False  # noqa: E712
    return snap.select(
        "audit_source", "audit_load", "load_time",
        _when=snap.updated_at.coalesce(snap.created_at),
        **{f"_m_{k}": v.coalesce(False) for k, v in m.items()},
    )


def _flag_shared(snap: ibis.Table, column: str, flag: str, min_count: int) -> ibis.Table:
    """``flag``: the record's ``column`` value is held by at least ``min_count`` records of
    the same snapshot (a grouped count joined back: cheaper than a window over the list)."""
    value = snap[column]
    counts = snap.filter(value.notnull()).group_by(
        _sl=snap.audit_load, _sv=value).aggregate(_n=lambda t: t.count())
    shared = counts.filter(counts._n >= min_count).select("_sl", "_sv")
    out = snap.left_join(shared, [snap.audit_load == shared._sl, snap[column] == shared._sv])
    return out.mutate(**{flag: out._sl.notnull()}).drop("_sl", "_sv")


def _quarantined(engine, loads: ibis.Table) -> pd.DataFrame:
    """Quarantined rows of each load by column, and how many of them hold a placeholder."""
    cols = ["load_id", "column_name", "n", "n_placeholder"]
    if not engine.has_table("quarantine"):
        return pd.DataFrame(columns=cols)
    q = engine.table("quarantine")
    q = q.semi_join(loads.select("load_id"), "load_id")
    raw = q.raw_value.cast(dt.string)
    ph = ibis.cases(
        (q.column_name == "phone", _is_placeholder_phone(raw)),
        (q.column_name == "email", _is_placeholder_email(raw)),
        else_=_is_placeholder_text(raw),
    ).coalesce(False)
    out = q.group_by(["load_id", "column_name"]).aggregate(
        n=q.count(), n_placeholder=ph.cast("int64").sum())
    return engine.to_pandas(out)


def _party_measures(engine, snap: ibis.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Duplicates inside the source and overlap with the others, from ``party_map``."""
    if not engine.has_table("party_map"):
        return pd.DataFrame(columns=["load_id", "linked", "redundant", "overlap"]), \
            pd.DataFrame(columns=["load_id", "other", "n"])
    pm = engine.table("party_map").select(*KEY, "party_id")
    recs = snap.select(load_id=snap.audit_load, source=snap.source,
                       source_customer_id=snap.source_customer_id)
    j = recs.join(pm, KEY)
    nsrc = pm.group_by("party_id").aggregate(nsrc=pm.source.nunique())
    j = j.join(nsrc, "party_id")
    dup = j.group_by("load_id").aggregate(
        linked=j.count(),
        redundant=j.count() - j.source.concat("\x1f", j.party_id).nunique(),
        overlap=(j.nsrc > 1).sum(),
    )
    others = pm.select("party_id", other=pm.source).distinct()
    k = j.select("load_id", "source", "party_id").join(others, "party_id")
    k = k.filter(k.other != k.source)
    by_other = k.group_by(["load_id", "other"]).aggregate(n=k.count())
    return engine.to_pandas(dup), engine.to_pandas(by_other)


# ------------------------------------------------------------------------- long rows, score
def _rows(wide, quarantined, dup, overlap, as_of) -> pd.DataFrame:
    out: list[dict] = []
    counts = [c for c in wide.columns if "__" in c or c in ("records", "near_empty")]
    wide = wide.fillna({c: 0 for c in counts})
    q = {(r.load_id, r.column_name): (int(r.n), int(r.n_placeholder))
         for r in quarantined.itertuples()}
    dups = {r.load_id: r for r in dup.itertuples()}
    for w in wide.itertuples(index=False):
        w = w._asdict()
        base = {"source": w["source"], "load_id": w["load_id"], "loaded_at": w["load_time"]}

        def row(check, field, value, n, detail, base=base):
            out.append({**base, "check": check, "field": field,
                        "value": None if value is None or pd.isna(value) else float(value),
                        "n": None if n is None else int(n), "detail": detail})

        total = int(w["records"])
        row("records", None, total, total, _detail("records", n=total))
        for f in FIELDS:
            if f"present__{f}" in w:
                k = int(w[f"present__{f}"])
                row("completeness", f, _share(k, total), k, _detail("filled", n=k, of=total))
        absent = [f for f in EXPECTED_FIELDS if not int(w.get(f"present__{f}", 0) or 0)]
        row("completeness", "absent", _share(len(absent), len(EXPECTED_FIELDS)), len(absent),
            _detail("absent_fields", n=len(absent), of=len(EXPECTED_FIELDS), fields=absent))
        k = int(w["near_empty"])
        row("completeness", "near_empty", _share(total - k, total), k,
            _detail("near_empty", n=k, fields=list(NEAR_EMPTY_FIELDS)))
        _validity_rows(row, w, q)
        for f in ("email", "phone", *TEXT_PLACEHOLDER_FIELDS):
            k = int(w[f"placeholder__{f}"]) + q.get((w["load_id"], f), (0, 0))[1]
            row("placeholder", f, _share(k, total), k, _detail("placeholders", n=k))
        _party_rows(row, w, total, dups.get(w["load_id"]),
                    overlap[overlap.load_id == w["load_id"]])
        _freshness_rows(row, w, as_of)
        for c in CONSENT:
            yes, no = int(w[f"yes__{c}"]), int(w[f"no__{c}"])
            row("consent", c, _share(yes + no, total), yes + no,
                _detail("consent", yes=yes, no=no, unknown=total - yes - no))
    return pd.DataFrame(out)


def _detail(code: str, **figures) -> str:
    """A detail line as stored: its code and figures, compact JSON (said in words, in the
    reader's language, by :mod:`prisme.i18n.quality`)."""
    return json.dumps({"code": code, **figures}, separators=(",", ":"), ensure_ascii=False)


def _share(k, total) -> float | None:
    return k / total if total else None


def _validity_rows(row, w, q) -> None:
    lid = w["load_id"]
    for f in ("email", "phone"):
        qn, qph = q.get((lid, f), (0, 0))
        present = int(w[f"present__{f}"]) - int(w[f"placeholder__{f}"])
        bad = int(w[f"invalid__{f}"]) + qn - qph
        checked = present + qn - qph
        row("validity", f, 1 - _share(bad, checked) if checked else None, bad,
            _detail(f"invalid_{f}", n=bad, of=checked, rejected=qn - qph))
    fax = int(w["present__fax"])
    row("validity", "fax", 1 - _share(w["invalid__fax"], fax) if fax else None,
        int(w["invalid__fax"]), _detail("invalid_fax", n=int(w["invalid__fax"]), of=fax))
    checked, bad = int(w["checked__postal_code"]), int(w["invalid__postal_code"])
    row("validity", "postal_code", 1 - _share(bad, checked) if checked else None, bad,
        _detail("invalid_postcode", n=bad, of=checked))
    for f in COUNTRY_FIELDS:
        if f"present__{f}" not in w:
            continue
        qn = q.get((lid, f), (0, 0))[0]
        checked = int(w[f"present__{f}"]) + qn
        bad = int(w[f"invalid__{f}"]) + qn
        row("validity", f, 1 - _share(bad, checked) if checked else None, bad,
            _detail("unknown_country", n=bad, of=checked))
    born = int(w["present__birth_date"]) + q.get((lid, "birth_date"), (0, 0))[0]
    bad = int(w["invalid__birth_date"]) + q.get((lid, "birth_date"), (0, 0))[0]
    row("validity", "birth_date", 1 - _share(bad, born) if born else None, bad,
        _detail("implausible_birth_date", n=bad, of=born, min_age=MIN_AGE, max_age=MAX_AGE,
                future=int(w["future__birth_date"])))
    for f in ("created_at", "updated_at"):
        k, bad = int(w[f"present__{f}"]), int(w[f"invalid__{f}"])
        row("validity", f, 1 - _share(bad, k) if k else None, bad,
            _detail("future_date", n=bad, of=k))
    k, bad = int(w["present__annual_revenue"]), int(w["invalid__annual_revenue"])
    row("validity", "annual_revenue", 1 - _share(bad, k) if k else None, bad,
        _detail("amount_out_of_range", n=bad, of=k, low=AMOUNT_RANGE[0], high=AMOUNT_RANGE[1]))


def _party_rows(row, w, total, d, overlap: pd.DataFrame) -> None:
    if d is None:
        return
    red = int(d.redundant)
    row("duplicates", None, _share(red, total), red,
        _detail("duplicates", n=red))
    ov = int(d.overlap)
    row("overlap", None, _share(ov, total), ov, _detail("overlap", n=ov, source=None))
    for r in overlap.sort_values("other").itertuples():
        row("overlap", r.other, _share(r.n, total), int(r.n),
            _detail("overlap", n=int(r.n), source=str(r.other)))


def _freshness_rows(row, w, as_of) -> None:
    """Ages measured against the audit time ``as_of`` (the clock when the audit ran, unless
    given), which every detail names: the same load is older in tomorrow's audit."""
    load_time, latest = pd.Timestamp(w["load_time"]), w["latest_record"]
    on = f"{pd.Timestamp(as_of):%Y-%m-%d %H:%M}"  # UTC
    days = (pd.Timestamp(as_of) - load_time).total_seconds() / 86400
    row("freshness", "days_since_load", days, None,
        _detail("days_since_load", loaded=f"{load_time:%Y-%m-%d}", days=round(days), audit=on))
    if latest is None or pd.isna(latest):
        return
    latest = pd.Timestamp(latest)
    since = (pd.Timestamp(as_of) - latest).total_seconds() / 86400
    lag = (load_time - latest).total_seconds() / 86400
    row("freshness", "days_since_latest_record", since, None,
        _detail("days_since_latest_record", latest=f"{latest:%Y-%m-%d}", days=round(since),
                audit=on))
    row("freshness", "record_lag_at_load", lag, None,
        _detail("record_lag", days=round(lag)))


def _component_values(g: pd.DataFrame) -> dict[str, float]:
    """The five components (0–1) of one load's rows; a component without data is NaN."""
    val = g.set_index(["check", g.field.fillna("")]).value
    comp: dict[str, float] = {}
    shares = []
    if (val.get(("records", ""), 0) or 0) > 0:
        # every expected field, 0 when the list lacks it; optional ones when delivered
        shares = [_value(val.get(("completeness", f))) for f in EXPECTED_FIELDS]
        shares += [val[("completeness", f)] for f in OPTIONAL_FIELDS
                   if _value(val.get(("completeness", f))) > 0]
    comp["completeness"] = np.mean(shares) if shares else np.nan
    validity = g[(g.check == "validity") & g.value.notna()
                 & ~g.field.isin(UNSCORED_VALIDITY)]
    ph = g[g.check == "placeholder"].set_index("field").n
    present = g[g.check == "completeness"].set_index("field").n
    shares = []
    for r in validity.itertuples():
        share = r.value
        if r.field in ("email", "phone") and present.get(r.field, 0):
            share = share * (1 - ph.get(r.field, 0) / present[r.field])
        shares.append(share)
    comp["validity"] = np.mean(shares) if shares else np.nan
    dup = val.get(("duplicates", ""))
    comp["uniqueness"] = np.nan if dup is None or pd.isna(dup) else 1 - dup
    lag = val.get(("freshness", "record_lag_at_load"))
    comp["freshness"] = np.nan if lag is None or pd.isna(lag) else float(
        np.clip(1 - (max(lag, 0) - FRESH_DAYS) / (STALE_DAYS - FRESH_DAYS), 0, 1))
    consent = [val.get(("consent", c)) for c in CONSENT]
    consent = [c for c in consent if c is not None and not pd.isna(c)]
    comp["consent"] = np.mean(consent) if consent else np.nan
    return comp


def _value(v) -> float:
    return 0.0 if v is None or pd.isna(v) else float(v)


def _scores(rows: pd.DataFrame) -> pd.DataFrame:
    """The ``score`` row (weighted total, 0–100, field empty) of each source × load, and one
    ``score_component`` row per component (0–100, its weight in the detail)."""
    out = []
    for (source, load_id, loaded_at), g in rows.groupby(["source", "load_id", "loaded_at"],
                                                        dropna=False):
        comp = _component_values(g)
        base = {"source": source, "load_id": load_id, "loaded_at": loaded_at, "n": None}
        used = {k: w for k, w in WEIGHTS.items() if not np.isnan(comp[k])}
        absent = g[(g.check == "completeness") & (g.field == "absent")].detail
        absent = json.loads(absent.iloc[0]) if len(absent) else None
        for k, w in WEIGHTS.items():
            out.append({**base, "check": "score_component", "field": k,
                        "value": None if np.isnan(comp[k]) else 100 * comp[k],
                        "detail": _detail("component", component=k, weight=w, used=k in used,
                                          absent=absent if k == "completeness" and absent
                                          and absent.get("n") else None)})
        total = sum(comp[k] * w for k, w in used.items()) / sum(used.values()) if used else None
        out.append({**base, "check": "score", "field": None,
                    "value": None if total is None else 100 * total,
                    "detail": _detail("score", weights=used)})
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------ read back
def weights_table() -> pd.DataFrame:
    """The score's components, their weights and what they measure."""
    return pd.DataFrame({"component": list(WEIGHTS), "weight": list(WEIGHTS.values()),
                         "measures": [COMPONENTS[k] for k in WEIGHTS]})


def scores(audit_df: pd.DataFrame) -> pd.DataFrame:
    """One row per source × load: the total and each component, in load order (the trend)."""
    s = audit_df[audit_df.check.isin(["score", "score_component"])].copy()
    s["field"] = s.field.where(s.check == "score_component", "total")
    wide = s.pivot_table(index=["source", "loaded_at", "load_id"], columns="field",
                         values="value", aggfunc="first").reset_index()
    wide.columns.name = None
    cols = ["source", "loaded_at", "load_id", "total", *WEIGHTS]
    for c in cols:
        if c not in wide.columns:
            wide[c] = np.nan
    return wide[cols].sort_values(["source", "loaded_at"], ignore_index=True)


def trend(audit_df: pd.DataFrame) -> pd.DataFrame:
    """Total score per source and load date, oldest first (what the trend lines draw): the
    list as it stood at the end of each day it was loaded (its last load that day). Loads a
    few seconds apart (a first load, a reload) are one point of the trend, not a line drawn
    over seconds; ``load_date`` is the axis."""
    sc = scores(audit_df)[["source", "loaded_at", "load_id", "total"]].copy()
    sc["load_date"] = pd.to_datetime(sc.loaded_at).dt.date
    sc = sc.sort_values(["source", "loaded_at", "load_id"], ignore_index=True)
    sc = sc.groupby(["source", "load_date"], as_index=False, sort=True).last()
    return sc[["source", "load_date", "loaded_at", "load_id", "total"]]


def latest(audit_df: pd.DataFrame) -> pd.DataFrame:
    """The rows of each source's latest load."""
    last = audit_df.groupby("source").loaded_at.transform("max")
    return audit_df[audit_df.loaded_at == last]


_SHORT = {"completeness": "compl.", "validity": "valid.", "uniqueness": "uniq.",
          "freshness": "fresh.", "consent": "consent"}


def quality_table(audit_df: pd.DataFrame):
    """A Rich table: one line per source (its latest load), score and components."""
    from rich.table import Table

    weights = ", ".join(f"{k} {w:.0%}" for k, w in WEIGHTS.items())
    audited = audit_df.audited_at.max() if len(audit_df) else None
    when = "" if audited is None or pd.isna(audited) else \
        f"; audited {pd.Timestamp(audited):%Y-%m-%d %H:%M} UTC (ages are counted up to then)"
    table = Table(
        title="Source list quality, 0–100 (latest load of each source)",
        caption=f"score = weighted mean of the parts: {weights}{when}",
    )
    table.add_column("source", style="bold", overflow="fold")
    table.add_column("latest load", overflow="fold", max_width=16)
    table.add_column("records", justify="right")
    table.add_column("score", justify="right", style="bold")
    for k in WEIGHTS:
        table.add_column(_SHORT.get(k, k), justify="right")
    table.add_column("bad email/phone", justify="right")
    table.add_column("dupl.", justify="right")
    sc = scores(audit_df)
    sc = sc[sc.loaded_at == sc.groupby("source").loaded_at.transform("max")]
    last = latest(audit_df)
    for r in sc.itertuples():
        sub = last[last.source == r.source]
        g = sub.set_index(["check", sub.field.fillna("")]).n
        fmt = ["–" if pd.isna(getattr(r, k)) else f"{getattr(r, k):.0f}" for k in WEIGHTS]
        colour = "green" if r.total >= 90 else "yellow" if r.total >= 70 else "red"
        table.add_row(
            r.source, str(r.load_id), f"{int(g.get(('records', ''), 0)):,}",
            f"[{colour}]{r.total:.1f}[/{colour}]", *fmt,
            f"{int(g.get(('validity', 'email'), 0)):,} / {int(g.get(('validity', 'phone'), 0)):,}",
            f"{int(g.get(('duplicates', ''), 0) or 0):,}",
        )
    return table
