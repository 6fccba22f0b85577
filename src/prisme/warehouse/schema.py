"""The canonical customer model (DESIGN §2) and the warehouse tables built from it.

Every source is mapped onto one of these entities; the core table of an entity has the
canonical columns (typed) plus the lineage columns ``load_id``, ``loaded_at`` and
``source_line``. Money is ``decimal(18, 4)`` so that sums and rankings are identical on every
engine (float sums differ in the last digit between DuckDB and Spark).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt

MONEY = dt.Decimal(18, 4)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: dt.DataType
    required: bool = False
    #: what kind of value, for validation and normalisation:
    #: text, email, phone, country, currency, postal_code, date, timestamp, number, money, bool
    kind: str = "text"
    doc: str = ""


def _c(name, dtype, required=False, kind=None, doc=""):
    if kind is None:
        kind = {
            dt.string: "text",
            dt.timestamp: "timestamp",
            dt.date: "date",
            dt.float64: "number",
            dt.int64: "number",
            dt.boolean: "bool",
        }.get(dtype, "money" if dtype == MONEY else "text")
    return Column(name, dtype, required, kind, doc)


S, TS, D, F, INT, B = dt.string, dt.timestamp, dt.date, dt.float64, dt.int64, dt.boolean


@dataclass(frozen=True)
class Entity:
    name: str
    table: str
    columns: tuple[Column, ...]
    #: columns that identify one record of the source (for versioning and duplicates)
    key: tuple[str, ...]
    #: the column giving the event time (facts) used by ``as_of(..., by="event")``
    event_time: str | None = None
    versioned: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}; it has {', '.join(self.names)}")

    def ibis_schema(self) -> ibis.Schema:
        return ibis.schema({c.name: c.dtype for c in self.columns})


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        Entity(
            "customer",
            "dim_customer",
            (
                _c("source", S, True),
                _c("source_customer_id", S, True),
                _c("kind", S, kind="text", doc="person or company"),
                _c("first_name", S),
                _c("last_name", S),
                _c("company", S),
                _c("business_unit", S),
                _c("department", S),
                _c("email", S, kind="email"),
                _c("phone", S, kind="phone"),
                _c("fax", S, kind="phone"),
                _c("address_line", S),
                _c("postal_code", S, kind="postal_code"),
                _c("city", S),
                _c("country", S, kind="country"),
                _c("gender", S),
                _c("nationality", S, kind="country"),
                _c("birth_date", D),
                _c("branch", S),
                _c("advisor", S),
                _c("consent_email", B),
                _c("consent_phone", B),
                _c("consent_post", B),
                _c("annual_revenue", MONEY),
                _c("created_at", TS),
                _c("updated_at", TS),
            ),
            key=("source", "source_customer_id"),
            versioned=True,
        ),
        Entity(
            "product",
            "dim_product",
            (
                _c("sku", S, True),
                _c("name", S, True),
                _c("category", S),
                _c("unit_price", MONEY),
                _c("unit_cost", MONEY),
            ),
            key=("sku",),
            versioned=True,
        ),
        Entity(
            "transaction",
            "fact_sales",
            (
                _c("source", S, True),
                _c("order_id", S, True),
                _c("source_customer_id", S, doc="NULL for an anonymous sale (kept, not dropped)"),
                _c("ordered_at", TS, True),
                _c("sku", S, True),
                _c("quantity", F, True),
                _c("revenue", MONEY, True),
                _c("cost", MONEY),
                _c("currency", S, kind="currency"),
                _c("payment_method", S),
                _c("due_at", TS),
                _c("paid_at", TS),
                _c("channel", S),
                _c("branch", S),
                _c("is_return", B),
                _c("status", S, doc="the order's status as the source writes it"),
                _c("is_cancelled", B, doc="status is one of [sources.X.status] cancelled; "
                                          "false when no status is mapped"),
            ),
            key=("source", "order_id", "sku"),
            event_time="ordered_at",
        ),
        Entity(
            "web_session",
            "fact_web_sessions",
            (
                _c("session_id", S, True),
                _c("source", S, doc="the system whose customer ids these are (joins party_map)"),
                _c("started_at", TS, True),
                _c("source_customer_id", S),
                _c("ip", S),
                _c("landing_page", S),
                _c("clicks", INT),
                _c("duration_s", F),
                _c("referrer", S),
                _c("device", S),
            ),
            key=("session_id",),
            event_time="started_at",
        ),
        Entity(
            "call",
            "fact_calls",
            (
                _c("call_id", S, True),
                _c("source", S, doc="the system whose customer ids these are (joins party_map)"),
                _c("source_customer_id", S, True),
                _c("at", TS, True),
                _c("direction", S),
                _c("kind", S),
                _c("reason", S),
                _c("duration_s", F),
                _c("outcome", S),
                _c("agent", S),
            ),
            key=("call_id",),
            event_time="at",
        ),
        Entity(
            "campaign",
            "dim_campaign",
            (
                _c("campaign_id", S, True),
                _c("name", S, True),
                _c("channel", S, True),
                _c("started_at", TS, True),
                _c("ended_at", TS),
                _c("cost", MONEY),
                _c("product_or_category", S),
            ),
            key=("campaign_id",),
            versioned=True,
        ),
        Entity(
            "campaign_contact",
            "fact_campaign_contacts",
            (
                _c("source", S, doc="the system whose customer ids these are (joins party_map)"),
                _c("campaign_id", S, True),
                _c("source_customer_id", S, True),
                _c("contacted_at", TS, True),
                _c("group", S, True, doc="treatment or control"),
                _c("opened", B),
                _c("clicked", B),
                _c("responded", B),
                _c("converted_at", TS),
                _c("response_revenue", MONEY),
            ),
            key=("campaign_id", "source", "source_customer_id"),
            event_time="contacted_at",
        ),
        Entity(
            "survey",
            "fact_surveys",
            (
                _c("source", S, doc="the system whose customer ids these are (joins party_map)"),
                _c("source_customer_id", S, True),
                _c("answered_at", TS, True),
                _c("sat_product", F),
                _c("sat_service", F),
                _c("sat_company", F),
                _c("nps", F),
                _c("comment", S),
            ),
            key=("source", "source_customer_id", "answered_at"),
            event_time="answered_at",
        ),
        Entity(
            "ad_spend",
            "fact_ad_spend",
            (
                _c("date", D, True),
                _c("channel", S, True),
                _c("spend", MONEY, True),
                _c("impressions", INT),
                _c("clicks", INT),
            ),
            key=("date", "channel"),
            event_time="date",
        ),
    ]
}

#: mapped columns that are not canonical, kept with the record as a JSON object (text)
ATTRIBUTES = "attributes"

#: lineage columns added to every core table
LINEAGE = ibis.schema({"load_id": dt.string, "loaded_at": dt.timestamp, "source_line": dt.int64})

#: the load journal (one row per load) and the quarantine (one row per rejected source row)
LOAD_BATCHES = ibis.schema(
    {
        "load_id": dt.string,
        "source": dt.string,
        "entity": dt.string,
        "file_name": dt.string,
        "file_sha256": dt.string,
        "rows_read": dt.int64,
        "rows_loaded": dt.int64,
        "rows_quarantined": dt.int64,
        "started_at": dt.timestamp,
        "finished_at": dt.timestamp,
        "status": dt.string,  # loaded | unchanged | failed
        "message": dt.string,
        "watermark": dt.string,  # highest updated_at seen, for incremental database sources
    }
)

#: the mapping each load was made with (sha256 of the source's mapping in prisme.toml and
#: of its joined files): a file loaded with another mapping is said, not silently skipped
LOAD_MAPPINGS = ibis.schema({"load_id": dt.string, "mapping_sha256": dt.string})

#: ``prisme ingest --reload SOURCE``: the earlier loads a reload supersedes (they stay in the
#: warehouse — nothing is deleted — but the public tables no longer count their rows)
LOAD_SUPERSESSIONS = ibis.schema(
    {
        "load_id": dt.string,  # the superseded load
        "source": dt.string,
        "superseded_by": dt.string,  # the reload's first load
        "superseded_at": dt.timestamp,
        "reason": dt.string,
    }
)

QUARANTINE = ibis.schema(
    {
        "load_id": dt.string,
        "source": dt.string,
        "entity": dt.string,
        "file_name": dt.string,
        "source_line": dt.int64,
        "column_name": dt.string,
        "raw_value": dt.string,
        "reason": dt.string,
        "raw_record": dt.string,  # the whole row as JSON, as delivered
        "quarantined_at": dt.timestamp,
    }
)

#: column kinds of contact details: an optional column of these kinds whose value cannot be
#: normalised (or is a placeholder) is loaded as NULL and noted in ``load_issues``; the row is
#: loaded. Required columns and the other kinds (dates, numbers, booleans, currency) stay
#: strict: a bad value sends the row to the quarantine.
SOFT_KINDS = ("email", "phone", "postal_code", "country")

#: one row per value a load could not use and loaded as empty (the row itself was loaded)
LOAD_ISSUES = ibis.schema(
    {
        "load_id": dt.string,
        "source": dt.string,
        "entity": dt.string,
        "file_name": dt.string,
        "source_line": dt.int64,
        "column_name": dt.string,  # canonical column
        "raw_value": dt.string,  # as delivered
        "reason": dt.string,  # "column phone (tel): '06 12' is not a valid phone number …"
        "noted_at": dt.timestamp,
    }
)


def entity_for_table(table: str) -> Entity:
    for e in ENTITIES.values():
        if e.table == table:
            return e
    raise KeyError(table)


#: identity resolution output (prisme.identity): the current party of every customer record.
#: Facts join it on (source, source_customer_id); a key seen only in facts is a party of its own.
PARTY_MAP = ibis.schema(
    {
        "source": dt.string,
        "source_customer_id": dt.string,
        "party_id": dt.string,
        "match_probability": dt.float64,
    }
)

#: the customers of every exported target list (prisme.act.targets): the treatment group went
#: into the file, the control group was held back, so the campaign can be measured against it
TARGET_LISTS = ibis.schema(
    {
        "list_id": dt.string,
        "party_id": dt.string,
        "group": dt.string,  # treatment | control
        "channel": dt.string,  # email | post | phone | sms
        "exported_at": dt.timestamp,
        "exported_by": dt.string,
    }
)
