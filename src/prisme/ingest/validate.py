"""Validation: the raw strings of one file become the typed canonical columns, or a reason.

The whole validation is one pass of Ibis projections over the raw table (every source column
as text): each canonical column is parsed with a "try" function (NULL instead of an error), and a
``reject_reason`` column names the first problem of the row in words a person understands —
``column ordered_at (InvoiceDate): '31/02/2011' is not a date in the format %d/%m/%Y``. The
load sends the rows without a reason to the core table and the others to the quarantine.
Nothing is parsed in Python, row by row.

Contact details are *soft*: an optional column of a kind in
:data:`~prisme.warehouse.schema.SOFT_KINDS` (e-mail, phone, postcode, country) whose value
cannot be normalised or is a placeholder does not reject its row — the column is loaded as
NULL and an ``__issue__<column>`` column says why (the load writes it to ``load_issues``). A
CRM team does not lose a customer because of a bad phone number.
"""

from __future__ import annotations

import functools
import operator
import uuid
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from prisme.config import Settings, SourceSettings
from prisme.engine import functions as F
from prisme.ingest import derive as derive_mod
from prisme.ingest.raw import JOIN_COUNT, LINE, RawInput
from prisme.warehouse import conform as C
from prisme.warehouse import suppression
from prisme.warehouse.schema import ATTRIBUTES, ENTITIES, MONEY, SOFT_KINDS, Column, Entity

#: names of the columns the projection adds next to the canonical ones
REASON, REJECT_COLUMN, REJECT_RAW, RAW_RECORD = (
    "reject_reason", "reject_column", "reject_raw", "raw_record",
)
#: prefix of the columns that give, per soft column, why its value was loaded as empty
ISSUE, ISSUE_RAW = "__issue__", "__issue_raw__"
RATE = dt.Decimal(18, 8)


@ibis.udf.scalar.builtin(name="trim")
def _trim(value: str) -> str:
    """SQL ``trim``: the spaces around a value (much faster than trimming a set of characters,
    which is what ``.strip()`` compiles to)."""


def _text(value: ir.StringValue) -> ir.StringValue:
    """The value without the spaces around it, NULL when blank. ``TRIM`` runs only on values
    that start or end with a space: a ``LIKE`` test is several times cheaper than ``TRIM``
    (which walks every character), and most values of an export have nothing to trim."""
    padded = value.like(" %") | value.like("% ")
    return ibis.ifelse(padded, _trim(value).nullif(""), value.nullif(""))


class MappingError(ValueError):
    """The file does not fit the mapping (a missing column); the load of that file fails."""


@dataclass
class Plan:
    """What to read for one source: canonical or helper name → source column, and the rest."""

    entity: Entity
    mapping: dict[str, str]
    constants: dict[str, object]
    derive: dict[str, str]
    helpers: dict[str, str] = field(default_factory=dict)  # helper name → kind
    #: mapped names that are neither canonical nor used by a derive: kept as attributes
    attributes: list[str] = field(default_factory=list)
    #: joined files: (join name, file name, main key columns, match-count column, optional)
    joins: list[tuple[str, str, list[str], str, bool]] = field(default_factory=list)
    #: lowercased status values that mean "cancelled"
    cancelled: list[str] = field(default_factory=list)
    #: plausible dates: (earliest, latest) as ISO text, and the settings that say so
    window: tuple[str, str, str] | None = None


def plan_for(source_name: str, source: SourceSettings, raw: RawInput) -> Plan:
    """Match the mapping against the file's header; raise :class:`MappingError` if it misses."""
    entity = ENTITIES[source.entity]
    columns = [c for c in raw.table.columns if c != LINE]
    mapping = dict(source.columns) or _default_mapping(entity, columns)
    resolved, missing = {}, []
    folded = {c.strip().lstrip("\ufeff").casefold(): c for c in columns}
    for name, src in mapping.items():
        if src in columns:
            resolved[name] = src
        elif src.strip().casefold() in folded:
            resolved[name] = folded[src.strip().casefold()]
        else:
            missing.append((name, src))
    if missing:
        what = ", ".join(f"{src!r} (mapped to {name})" for name, src in missing)
        joins = [j[0] for j in (getattr(raw, "joins", None) or [])]
        hint = ""
        dotted = [src.split(".", 1)[0] for _, src in missing if "." in src]
        if any(p not in joins for p in dotted):
            hint = (f"; a NAME.column refers to a file joined under [sources.{source_name}.join."
                    f"NAME] (declared: {', '.join(joins) or 'none'})")
        raise MappingError(
            f"{raw.file_name}: the header has no column {what}; the file's columns are: "
            f"{', '.join(repr(c) for c in columns if not c.startswith(JOIN_COUNT))}{hint}"
        )
    derive = dict(source.derive)
    provided = set(resolved) | set(source.constants) | set(derive)
    absent = [c for c in entity.required if c not in provided]
    if absent:
        raise MappingError(
            f"{raw.file_name}: source {source_name!r} ({entity.name}) does not map the required "
            f"column(s) {', '.join(absent)}; add them under [sources.{source_name}.columns] "
            f"(the file's columns are: {', '.join(repr(c) for c in columns)})"
        )
    unknown = [c for c in source.constants if c not in entity.names]
    if unknown:
        raise MappingError(
            f"source {source_name!r}: constants {', '.join(unknown)} are not columns of "
            f"{entity.name} ({', '.join(entity.names)})"
        )
    for target, text in derive.items():
        if target not in entity.names:
            raise MappingError(
                f"source {source_name!r}: derived column {target!r} is not a column of "
                f"{entity.name} ({', '.join(entity.names)})"
            )
        derive_mod.parse(text, where=f"[sources.{source_name}.derive] {target}")
    helpers = {n: _helper_kind(n, derive) for n in resolved if n not in entity.names}
    used = set().union(*(derive_mod.names_used(t) for t in derive.values())) if derive else set()
    attributes = [n for n in helpers if n not in used]
    for n in attributes:
        helpers[n] = "text"
    cancelled = [v.strip().casefold() for v in (source.status.cancelled if source.status else [])]
    return Plan(entity, resolved, dict(source.constants), derive, helpers, attributes,
                joins=list(getattr(raw, "joins", None) or []), cancelled=cancelled,
                window=_window(source_name, source))


#: identifiers of records: a NUL byte in one (a damaged file) quarantines the line
_IDENTIFIERS = frozenset({"source_customer_id", "order_id", "sku", "session_id", "call_id",
                          "campaign_id"})

#: numbers beyond this (quantities, durations, amounts before conversion) are not plausible
#: and would overflow a derived amount: quarantined with the reason
MAX_NUMBER = 1e12


def _window(source_name: str, source: SourceSettings) -> tuple[str, str, str]:
    import datetime as _dt

    latest = _dt.datetime.now(_dt.UTC).date() + _dt.timedelta(days=source.max_future_days)
    setting = (f"[sources.{source_name}] min_date = {source.min_date!r}, "
               f"max_future_days = {source.max_future_days}")
    return source.min_date, latest.isoformat(), setting


def _default_mapping(entity: Entity, columns: list[str]) -> dict[str, str]:
    """No [columns] table: a source column named like a canonical column maps onto it."""
    by_name = {c.strip().casefold(): c for c in columns}
    return {n: by_name[n] for n in entity.names if n in by_name}


def _helper_kind(name: str, derive: dict[str, str]) -> str:
    """A mapped name that is not a canonical column only feeds derive expressions; its type is
    that of the same name in another entity (``unit_price`` is money), else a number when it is
    used as one, else text."""
    for e in ENTITIES.values():
        if name in e.names:
            return e.column(name).kind
    if any(name in derive_mod.numeric_names(t) for t in derive.values()):
        return "number"
    return "text"


@dataclass
class _Checked:
    """One check of a row: ``bad`` flags it; the reason reads
    ``column <label>: '<value of raw_col>' <what>`` or, without a value to quote, ``message``."""

    value: ir.Value
    bad: ir.BooleanValue | None = None
    label: str = ""
    what: str = ""
    raw_col: str | None = None
    message: str | None = None
    #: soft: a bad value is loaded as NULL and noted, the row is kept
    soft: bool = False
    #: the value is a placeholder (N/A, noemail@…, 0000000000), said so in the reason
    placeholder: ir.BooleanValue | None = None
    #: a number that parses but is not a plausible quantity (NaN, inf, beyond MAX_NUMBER)
    out_of_range: ir.BooleanValue | None = None


def validated(engine, raw: RawInput, plan: Plan, settings: Settings,
              source: SourceSettings, scratch: list[str]) -> ir.Table:
    """``__line``, the typed canonical columns and the reject columns, in three stages.

    Stages 1 (parse) and 2 (derive, convert, require) are views, so that a parsed value used
    by several checks is computed once per row, not once per use (Ibis would otherwise inline
    it everywhere, and a country lookup is a CASE of a thousand branches). Their names are
    appended to ``scratch``; the caller drops them (they live inside the load's transaction).
    """
    t = raw.table
    fmt = _format(raw, source)
    parsed: dict[str, _Checked] = {}
    for name, src in plan.mapping.items():
        kind = plan.helpers.get(name) or plan.entity.column(name).kind
        dtype = MONEY if kind == "money" else (
            plan.entity.column(name).dtype if name in plan.entity.names else _kind_dtype(kind)
        )
        label = name if name == src else f"{name} ({src})"
        text = _text(t[src])
        c = parsed[name] = _parse(engine, text, kind, dtype, label, fmt, settings, src)
        if kind == "text" and c.bad is None and name in _IDENTIFIERS and not fmt.get("no_nul"):
            c.bad, c.label, c.raw_col = text.contains("\x00"), label, src
            c.what = "contains a NUL byte (\\x00), which an identifier cannot hold"
        c.soft = _is_soft(plan, name, kind)
        if not c.soft:  # strict columns are checked as before: a placeholder is a value
            c.placeholder = None
        elif c.placeholder is not None:
            c.bad = c.placeholder if c.bad is None else c.bad | c.placeholder
    derived_from = set().union(*(derive_mod.names_used(x) for x in plan.derive.values())) \
        if plan.derive else set()
    # stage 1: parse every mapped column once
    slots = {name: f"__v{i}" for i, name in enumerate(parsed)}
    stage1 = _barrier(engine, scratch, t.mutate(
        **{slots[n]: c.value for n, c in parsed.items()},
        **{f"{slots[n]}_bad": c.bad for n, c in parsed.items() if c.bad is not None},
        **{f"{slots[n]}_ph": c.placeholder for n, c in parsed.items()
           if c.placeholder is not None},
        **{f"{slots[n]}_oor": c.out_of_range for n, c in parsed.items()
           if c.out_of_range is not None},
    ))
    values: dict[str, ir.Value] = {n: stage1[slots[n]] for n in parsed}
    checks: list[tuple[str, _Checked]] = []
    for n, c in parsed.items():
        if c.bad is not None:
            c.bad = stage1[f"{slots[n]}_bad"]
            checks.append((n, c))
        if c.out_of_range is not None:
            what = (f"is not a plausible number (NaN, infinite, or {MAX_NUMBER:.0e} or more "
                    "in absolute value)")
            checks.append((n, _Checked(values[n], stage1[f"{slots[n]}_oor"], c.label, what,
                                       c.raw_col)))
        if c.bad is not None and (c.soft or n in derived_from):
            # loaded as empty (soft); a rejected value never enters a derivation (strict)
            values[n] = ibis.ifelse(c.bad, ibis.null().cast(values[n].type()), values[n])
    checks.extend(_window_checks(plan, parsed, values))
    checks.extend(_join_checks(plan, stage1))
    # stage 2: constants, derived columns, currency, required columns
    derived_text: dict[str, ir.Value] = {}
    for name, value in plan.constants.items():
        col = plan.entity.column(name)
        const = ibis.literal(value).cast(col.dtype)
        values[name] = ibis.coalesce(values[name], const) if name in values else const
    for target, text in plan.derive.items():
        col = plan.entity.column(target)
        expr = derive_mod.compile_expr(
            text, lambda n: _lookup(values, n, plan), where=f"derive {target}"
        )
        if col.dtype.is_decimal() and expr.type().is_numeric():
            # an amount too large for the column is a reason, never an aborted load
            limit = 10 ** ((col.dtype.precision or 18) - (col.dtype.scale or 0))
            wide = expr.cast(dt.float64) if expr.type().is_floating() else expr
            over = expr.notnull() & (wide.cast(dt.float64).abs() >= limit)
            if expr.type().is_floating():
                over = over | (expr.notnull() & (expr.isnan() | expr.isinf()))
            shown = f"__derived_{target}"
            derived_text[shown] = expr.cast(dt.string)
            what = (f"is out of range for {target} = {text} (at most "
                    f"{(col.dtype.precision or 18) - (col.dtype.scale or 0)} digits before "
                    "the decimal point)")
            checks.append((target, _Checked(expr, over, target, what, shown)))
            expr = ibis.ifelse(over, ibis.null().cast(expr.type()), expr)
        values[target] = _cast(expr, col.dtype)
    checks.extend(_convert_currency(values, plan, settings, source))
    if "is_cancelled" in plan.entity.names and "is_cancelled" not in plan.mapping:
        status = values.get("status")
        values["is_cancelled"] = (
            status.strip().lower().isin(plan.cancelled).fill_null(False)
            if status is not None and plan.cancelled else ibis.literal(False)
        )
    for col in plan.entity.columns:
        if col.required:
            checks.append((col.name, _required(values.get(col.name), col, plan)))
    final = {f"__c{col.name}": _cast(values[col.name], col.dtype)
             for col in plan.entity.columns if col.name in values}
    if "__currency" in values:
        final["__c__currency"] = values["__currency"]
    if plan.attributes:
        final[f"__c{ATTRIBUTES}"] = ibis.struct(
            {n: values[n].cast(dt.string) for n in plan.attributes}).cast("json").cast(dt.string)
    flags = {f"__f{i}": c.bad for i, (_, c) in enumerate(checks)}
    stage2 = _barrier(engine, scratch, stage1.mutate(**final, **flags, **derived_text))
    for i, (n, c) in enumerate(checks):
        c.bad = stage2[f"__f{i}"]
        if c.placeholder is not None:
            c.placeholder = stage2[f"{slots[n]}_ph"]
    # stage 3: the reasons, and the record as delivered for the rejected rows only
    raw_columns = [c for c in raw.table.columns if not c.startswith(JOIN_COUNT)]
    out = _project(stage2, raw_columns, plan.entity, checks)
    # GDPR: rows of erased persons are held back, quarantined with nothing of theirs kept
    return suppression.hold_back(engine, out, REASON, [c for c in out.columns if c.startswith(
        (REJECT_COLUMN, REJECT_RAW, RAW_RECORD, ISSUE, ISSUE_RAW))])


def _window_checks(plan: Plan, parsed: dict[str, _Checked], values: dict) -> list:
    """An event dated outside the plausible window (before ``min_date``, after the load day
    plus ``max_future_days``) is quarantined: a sale of 9999-12-31 would become "today" for
    the analyses. Only the event time of a fact: a due date may be ahead, and the dates of a
    customer record (a birth date in the future) are the quality audit's to flag."""
    if plan.window is None or plan.entity.event_time not in parsed:
        return []
    first, last, setting = plan.window
    out = []
    for name, c in parsed.items():
        if name != plan.entity.event_time:
            continue
        v = values[name]
        if not (v.type().is_date() or v.type().is_timestamp()) or c.raw_col is None:
            continue
        day = v.cast(dt.date)
        bad = day.notnull() & ((day < ibis.date(first)) | (day > ibis.date(last)))
        what = f"is outside the plausible dates {first} … {last} ({setting})"
        out.append((name, _Checked(v, bad, c.label, what, c.raw_col)))
    return out


def _join_checks(plan: Plan, t: ir.Table) -> list:
    """A line whose key finds no line (or several) in a joined file is quarantined, unless the
    join is optional (kept with empty values)."""
    out = []
    for name, file_name, keys, count_col, optional in plan.joins:
        n = t[count_col]
        label = ", ".join(keys)
        raw_col = keys[0]
        if not optional:
            what = (f"has no match in {file_name} (join {name} on {label}); declare the join "
                    "optional to keep such lines")
            out.append((keys[0], _Checked(t[raw_col], n.isnull(), label, what, raw_col)))
        many = n.notnull() & (n > 1)
        what = f"matches several lines of {file_name} (join {name} on {label}); expected one"
        out.append((keys[0], _Checked(t[raw_col], many, label, what, raw_col)))
    return out


def _is_soft(plan: Plan, name: str, kind: str) -> bool:
    """An optional canonical contact column (not a helper feeding a derive, not required)."""
    if kind not in SOFT_KINDS or name not in plan.entity.names:
        return False
    return not plan.entity.column(name).required


def soft_columns(plan: Plan) -> list[str]:
    """The mapped columns whose bad values are loaded as empty (see :data:`ISSUE`)."""
    return [n for n in plan.mapping
            if _is_soft(plan, n, plan.helpers.get(n) or plan.entity.column(n).kind)]


def _barrier(engine, scratch: list[str], expr: ir.Table) -> ir.Table:
    """An expression as a view: later stages refer to its columns and never re-inline the
    expressions that computed them."""
    name = f"_prisme_stage_{uuid.uuid4().hex[:12]}"
    _register_functions(engine, expr)
    view = engine.create_view(name, expr)  # bound to the view as the engine describes it
    scratch.append(name)
    return view


def _register_functions(engine, expr: ir.Expr) -> None:
    """Python UDFs (phone numbers) must exist in the engine before a view can name them; the
    engine creates them (see :meth:`~prisme.engine.base.Engine.register_functions`)."""
    engine.register_functions(expr)


def prepare(engine, raw: RawInput, plan: Plan, settings: Settings) -> None:
    """Create the Python functions the validation of ``plan`` calls, outside any transaction
    (a failed load must not take them with it)."""
    country = settings.project.default_country
    for name, src in plan.mapping.items():
        kind = plan.helpers.get(name) or plan.entity.column(name).kind
        if kind == "phone":
            from prisme.ingest import normalise

            probe = raw.table.select(p=normalise.phone_e164(engine, raw.table[src], country))
            _register_functions(engine, probe)
            return


def _format(raw: RawInput, source: SourceSettings) -> dict:
    fmt = dict(raw.fmt or {})
    fmt.setdefault("decimal", source.decimal or ".")
    fmt.setdefault("thousands", source.thousands)
    fmt.setdefault("date_format", source.date_format)
    fmt["decimal"] = fmt.get("decimal") or "."
    return fmt


def _kind_dtype(kind: str) -> dt.DataType:
    return {"number": dt.float64, "money": MONEY, "date": dt.date, "timestamp": dt.timestamp,
            "bool": dt.boolean}.get(kind, dt.string)


def _lookup(values: dict[str, ir.Value], name: str, plan: Plan) -> ir.Value:
    if name in values:
        return values[name]
    if name in plan.entity.names:
        return ibis.null().cast(plan.entity.column(name).dtype)
    raise KeyError(
        f"unknown column {name!r}: map it under [columns] (canonical or helper name) "
        f"or use one of {', '.join(sorted(values))}"
    )


def _cast(expr: ir.Value, dtype: dt.DataType) -> ir.Value:
    src = expr.type()
    if src == dtype:
        return expr
    if src.is_decimal() and dtype.is_decimal() and _narrowable(src, dtype):
        return _narrow(expr, src, dtype)
    return expr.cast(dtype)


def _narrowable(src: dt.Decimal, dtype: dt.Decimal) -> bool:
    """A wide decimal (a product computed in 38 digits) going to a money column of at most 18
    digits and a smaller or equal scale."""
    wide = (src.precision or 38) > 18
    return wide and (dtype.precision or 38) <= 18 and src.scale is not None \
        and dtype.scale is not None and dtype.scale <= src.scale <= 17


def _narrow(expr: ir.DecimalValue, src: dt.Decimal, dtype: dt.Decimal) -> ir.DecimalValue:
    """``expr.cast(dtype)`` with the same result, faster: a value that fits 18 digits at its
    own scale is first narrowed to them (no rounding, a range check), so that the rounding to
    ``dtype``'s scale is done in 64-bit integers; the rest (and NULL) takes the direct cast,
    which rounds in 128-bit integers — several times slower on DuckDB. Rounding is the same
    either way (half away from zero; tested)."""
    bound = 10 ** (18 - src.scale) - 1
    mid = dt.Decimal(18, src.scale)
    return ibis.ifelse(expr.between(-bound, bound), expr.cast(mid).cast(dtype),
                       expr.cast(dtype))


def _say(label: str, text: ir.StringValue, what: str) -> ir.StringValue:
    """``column <label>: '<value>' <what>``."""
    return ibis.literal(f"column {label}: '").concat(text, ibis.literal(f"' {what}"))


def _parse(engine, text, kind, dtype, label, fmt, settings, src) -> _Checked:
    """Type one mapped column; ``bad`` marks a non-blank value that is not what was expected."""
    if kind in ("number", "money"):
        v = text
        if kind == "money":
            for symbol in ("€", "£", "$"):
                v = v.replace(symbol, "")
        target = MONEY if kind == "money" else dt.float64
        num = ibis.coalesce(
            _plain_number(text, fmt, target),
            F.try_number(v, decimal=fmt["decimal"], thousands=fmt.get("thousands"), to=target),
        )
        mark = "a decimal comma" if fmt["decimal"] == "," else "a decimal point"
        bad = text.notnull() & num.isnull()
        what = f"is not a number (expected digits with {mark})"
        wild = None
        if kind == "number":  # NaN, inf and 1e308 parse as floats: none is a quantity
            wild = num.notnull() & (num.isnan() | num.isinf() | (num.abs() >= MAX_NUMBER))
            num = ibis.ifelse(wild, ibis.null().cast(num.type()), num)
        if dtype.is_integer():
            bad = bad | (num.notnull() & (num != num.round()))
            what = "is not a whole number"
            num = num.round().cast(dtype)
        return _Checked(num, bad, label, what, src, out_of_range=wild)
    if kind in ("date", "timestamp"):
        value, expected = _parse_time(engine, text, fmt.get("date_format"))
        if kind == "date" or dtype.is_date():
            value = value.cast(dt.date)
        bad = text.notnull() & value.isnull()
        return _Checked(value, bad, label, f"is not a date {expected}", src)
    if kind not in ("bool", "email", "country", "currency", "phone", "postal_code"):
        return _Checked(text)
    from prisme.ingest import normalise

    checks = {
        "bool": (normalise.boolean, "is not a yes/no value (expected yes/no, true/false, 1/0, "
                                    "oui/non)"),
        "country": (functools.partial(C.country_iso2, engine=engine), "is not a country (expected an ISO-3166 code or "
                                            "an English or French country name)"),
        "currency": (functools.partial(normalise.currency, engine=engine), "is not a currency (expected an ISO-4217 code such "
                                         "as EUR)"),
    }
    if kind == "phone":
        country = settings.project.default_country
        value = normalise.phone_e164(engine, text, country)
        ph = text.notnull() & C.is_placeholder_phone(text)
        what = (f"is not a valid phone number for {country} (nor an international number "
                "starting with +)")
        return _Checked(value, text.notnull() & value.isnull(), label, what, src,
                        placeholder=ph)
    if kind == "email":
        value = C.email(text)
        valid = C.is_valid_email(value)
        ph = text.notnull() & C.is_placeholder_email(text)
        what = "is not an e-mail address (expected name@domain.tld)"
        bad = text.notnull() & ~valid.fill_null(False)
        return _Checked(value, bad, label, what, src, placeholder=ph)
    if kind in checks:
        fn, what = checks[kind]
        value = fn(text)
        ph = text.notnull() & C.is_placeholder_text(text) if kind == "country" else None
        return _Checked(value, text.notnull() & value.isnull(), label, what, src,
                        placeholder=ph)
    ph = text.notnull() & C.is_placeholder_postcode(text)
    return _Checked(C.postal_code(text), None, label, "is not a postcode", src,
                    placeholder=ph)


def _plain_number(text: ir.StringValue, fmt: dict, target: dt.DataType) -> ir.NumericValue:
    """The number a plain value (``12,50`` with a decimal comma) stands for, NULL otherwise.

    A fast path in front of :func:`~prisme.engine.functions.try_number`: only the thousands
    mark and the decimal separator are handled. A value it reads is read the same way by the
    full parser (which also strips currency symbols, tabs and non-breaking spaces, none of
    which a number cast accepts); anything else is left to the full parser. Most values of an
    export are plain, and the chain of replacements of the full parser is what costs."""
    v = text
    if fmt.get("thousands"):
        v = v.replace(fmt["thousands"], "")
    if fmt["decimal"] != ".":
        v = v.replace(fmt["decimal"], ".")
    return v.try_cast(target)


def _parse_time(engine, text, date_format):
    """A timestamp from text with the source's format (a date-only format also accepts a time
    after the date, and a date-time format also accepts the date alone)."""
    if not date_format:
        return text.try_cast(dt.timestamp), "(expected ISO yyyy-mm-dd [hh:mm[:ss]])"
    formats = [date_format]
    if "%H" not in date_format:
        formats += [f"{date_format} %H:%M:%S", f"{date_format} %H:%M"]
    else:
        formats.append(date_format.split(" ")[0])
    value = ibis.coalesce(*[F.try_timestamp(engine, text, f) for f in formats])
    return value, f"in the format {date_format}"


def _required(value: ir.Value | None, col: Column, plan: Plan) -> _Checked:
    if value is None:
        value = ibis.null().cast(col.dtype)
    if col.name in plan.derive:
        message = (f"column {col.name} could not be computed from {plan.derive[col.name]!r} "
                   "(an input is blank)")
    else:
        src = plan.mapping.get(col.name)
        label = col.name if src in (None, col.name) else f"{col.name} ({src})"
        message = f"column {label} " + ("is required but blank" if src else
                                        "is required but has no value")
    return _Checked(value, value.isnull(), col.name, message=message)


def _convert_currency(values, plan: Plan, settings: Settings,
                      source: SourceSettings) -> list[tuple[str, _Checked]]:
    """Amounts in the project currency: money × the fixed rate of ``[project] exchange_rates``.
    A currency without a rate is a reason to quarantine, never a silent 1:1."""
    money = [c.name for c in plan.entity.columns if c.dtype == MONEY and c.name in values]
    target = settings.project.currency.upper()
    default = str(plan.constants.get("currency") or source.currency or target).upper()
    has_column = "currency" in plan.mapping
    if not money or (not has_column and default == target):
        if "currency" in plan.entity.names and money:
            values["currency"] = ibis.literal(target)
        return []
    cur = ibis.coalesce(values["currency"], ibis.literal(default)) if has_column \
        else ibis.literal(default)
    rates = {k.upper(): v for k, v in settings.project.exchange_rates.items()}
    rates[target] = 1.0
    branches = [(cur == k, ibis.literal(str(v)).cast(RATE)) for k, v in rates.items()]
    rate = ibis.cases(*branches, else_=ibis.null().cast(RATE))
    for name in money:
        wide = values[name].cast(dt.Decimal(38, MONEY.scale)) * rate.cast(dt.Decimal(38, 8))
        values[name] = wide.cast(MONEY)
    if "currency" in plan.entity.names:
        values["currency"] = ibis.literal(target)
    what = f"has no exchange rate to {target} (add it to [project] exchange_rates)"
    values["__currency"] = cur
    return [("currency", _Checked(cur, rate.isnull(), "currency", what, "__c__currency"))]


def _project(s: ir.Table, raw_columns, entity: Entity, checks) -> ir.Table:
    none = ibis.null().cast(dt.string)
    flagged = [(c.bad, name, c) for name, c in checks if not c.soft]
    if flagged:
        reason = ibis.cases(*[(b, _reason(s, c)) for b, _, c in flagged], else_=none)
        column = ibis.cases(*[(b, ibis.literal(n)) for b, n, _ in flagged], else_=none)
        raw_value = ibis.cases(
            *[(b, s[c.raw_col] if c.raw_col else none) for b, _, c in flagged], else_=none
        )
        any_bad = functools.reduce(operator.or_, [b for b, _, _ in flagged])
    else:
        reason = column = raw_value = none
        any_bad = ibis.literal(False)
    record = ibis.struct({c: s[c] for c in raw_columns if c != LINE}).cast("json")
    out = {LINE: s[LINE].cast(dt.int64)}
    for col in entity.columns:
        name = f"__c{col.name}"
        out[col.name] = s[name] if name in s.columns else ibis.null().cast(col.dtype)
    attrs = f"__c{ATTRIBUTES}"
    out[ATTRIBUTES] = s[attrs] if attrs in s.columns else none
    out[REASON] = reason
    out[REJECT_COLUMN] = column
    out[REJECT_RAW] = raw_value
    out[RAW_RECORD] = ibis.ifelse(any_bad, record.cast(dt.string), none)
    for name, c in checks:
        if c.soft:
            out[f"{ISSUE}{name}"] = ibis.ifelse(c.bad, _soft_reason(s, c), none)
            out[f"{ISSUE_RAW}{name}"] = ibis.ifelse(c.bad, s[c.raw_col].cast(dt.string), none)
    return s.select(**out)


def _soft_reason(s: ir.Table, c: _Checked) -> ir.StringValue:
    """``column phone (tel): '06 12' is not a valid phone number for FR (…); loaded as
    empty``, or ``… is a placeholder, not a real value; loaded as empty``."""
    text = s[c.raw_col].cast(dt.string).strip()
    invalid = _say(c.label, text, f"{c.what}; loaded as empty")
    if c.placeholder is None:
        return invalid
    placeholder = _say(c.label, text, "is a placeholder, not a real value; loaded as empty")
    return ibis.ifelse(c.placeholder.fill_null(False), placeholder, invalid)


def _reason(s: ir.Table, c: _Checked) -> ir.StringValue:
    if c.raw_col is None:
        return ibis.literal(c.message)
    return _say(c.label, s[c.raw_col].cast(dt.string).strip(), c.what)
