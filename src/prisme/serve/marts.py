"""The tables the application reads most, laid out for reading: built by ``prisme build``.

* ``mart_cube_sales`` — one row per sale line with everything the cube cuts it by: the buyer's
  ``party_id``, the order, the day, the channel, the product category, signed revenue and cost
  (returns negative, cost from ``dim_product.unit_cost`` when the line has none — the
  definitions of :func:`prisme.analytics.features.party_sales`) and the buyer's RFM segment,
  cluster, branch, advisor and region from ``customer_360``. A cube query is then one scan
  and one grouping, with no join.
* ``mart_cube_rollup`` — the sale lines pre-aggregated for the cube: for each time level
  (no time, year, quarter, month) × with or without the channel × with or without the product
  category (16 grouping sets), one row per combination of those labels and the buyer's RFM
  segment, cluster, branch, advisor and region, with revenue and margin (sums, which roll up)
  and the distinct orders and buying customers *of that combination* (counted from the lines:
  a distinct count of months does not add up to the quarter's, so each level and each
  with/without is stored, and :mod:`prisme.serve.cube` sums a distinct count only across the
  buyer's attributes, which split customers and orders without overlap, else reads the lines);
* ``mart_card`` — everything the 360° card shows, one row per customer, sorted by
  ``party_id`` and indexed on it where the engine has indexes (DuckDB: an ART index): the
  card's columns of ``customer_360``, which source won each field of the golden record, the
  customer's source records, and the newest :data:`CARD_EVENTS` events of their timeline
  (purchases by order, calls, web visits, campaign contacts, surveys) — as one JSON text
  beside the few columns the rights read (branch, advisor, the personal fields, masked by
  name) — so that a card is one point lookup of one narrow row and one ``json.loads`` (at
  1,000,000 customers: ~1.5 ms of CPU, against ~4 ms for ~60 columns and a list of
  structs, and ~8 ms for the three lookups before that; see bench/RESULTS.md);
* ``mart_search`` — each customer's name and company folded (accents off, lower case), e-mail
  and phone, and what a search answers of each customer, sorted by ``party_id`` and indexed
  on it where the engine has indexes: a search reads its page's rows by their ids (or, for a
  question the term index cannot answer, checks the folded keys of every row);
* ``mart_search_terms`` — the search's term index: each customer's name words (every suffix
  of 2 or more characters), phone digits (every suffix of 6 or more) and e-mail, sorted,
  so that a search reads the few rows of ``mart_search`` whose terms begin with the words
  asked rather than every customer's name (:func:`search_terms`).

They are built under temporary names and swapped in in one transaction, after the marts. When
they are missing (a warehouse built before this stage), the application computes the same
expressions on the fly (:func:`cube_sales`, :func:`card`).
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.datatypes as dt

from prisme.access.rights import PERSONAL_FIELDS
from prisme.analytics.basket import _Scratch

CUBE_SALES = "mart_cube_sales"
CUBE_ROLLUP = "mart_cube_rollup"
CARD = "mart_card"
SEARCH = "mart_search"
#: the term index of the search (:func:`search_terms`)
SEARCH_TERMS = "mart_search_terms"
SERVING_MARTS = (CUBE_SALES, CUBE_ROLLUP, CARD, SEARCH, SEARCH_TERMS)
#: serving marts of earlier builds, now folded into ``mart_card`` (dropped by the build)
RETIRED = ("mart_timeline", "mart_card_sources")
#: the newest events of a customer kept on the card
CARD_EVENTS = 200
#: fields of the golden record shown on the card, in order
CARD_FIELDS = ("kind", "first_name", "last_name", "company", "email", "phone", "address_line",
               "postal_code", "city", "country", "gender", "birth_date", "branch", "advisor",
               "created_at", "updated_at")
CONSENTS = ("consent_email", "consent_phone", "consent_post")
#: the value columns of customer_360 the card shows
VALUE_FIELDS = ("revenue", "margin", "orders", "first_purchase_at", "last_purchase_at",
                "recency_days", "p_alive", "expected_purchases_12m", "clv_12m", "clv_12m_low",
                "clv_12m_high", "clv_horizon_months", "as_of")
#: the customer_360 columns of mart_card
CARD_COLUMNS = ("party_id", *CARD_FIELDS, *CONSENTS, *VALUE_FIELDS, "rfm_segment", "rfm_score",
                "cluster", "cluster_label", "churn_probability", "churn_reasons",
                "next_best_offers")
#: time levels of the roll-up, coarsest first ("all": no time; days stay at the line level)
ROLLUP_LEVELS = ("all", "year", "quarter", "month")
#: the label that stands for a missing value in the cube's answers
UNKNOWN = "(unknown)"
_FAR = _dt.date(9999, 12, 31)
#: customer attributes copied onto every sale line (cube dimension → customer_360 column)
PARTY_ATTRIBUTES = {"rfm_segment": "rfm_segment", "cluster": "cluster_label",
                    "branch": "branch", "advisor": "advisor", "region": "country"}


def cube_sales(engine) -> ibis.Table:
    """Sale lines of identified customers with the cube's dimensions (see module doc)."""
    from prisme.analytics.features import party_sales

    s = party_sales(engine, as_of=_FAR)
    c = engine.table("customer_360").select(
        "party_id", **{f"c_{k}": v for k, v in PARTY_ATTRIBUTES.items()})
    s = s.left_join(c, "party_id")
    return s.select(
        "party_id",
        order_key=s.source.concat(ibis.literal("\x1f"), s.order_id),
        ordered_at=s.ordered_at,
        channel=s.channel,
        category=s.category,
        revenue=s.revenue.cast("float64"),
        cost=s.cost.cast("float64"),
        **{k: s[f"c_{k}"].cast("string") for k in PARTY_ATTRIBUTES},
    )


#: one event of the timeline: ``name`` is what it is about (a campaign, a web page, a call's
#: reason), ``channel`` how (a sale's channel, a campaign's channel, a call's direction, a
#: device), ``n`` a count (order lines, clicks, the NPS), ``note`` the rest (a call's
#: outcome, a campaign contact's group, a survey's comment); the page words them in the
#: reader's language (:mod:`prisme.serve.customers`)
_EVENT = {"party_id": dt.string, "at": dt.timestamp, "kind": dt.string, "ref": dt.string,
          "name": dt.string, "channel": dt.string, "n": dt.int64, "note": dt.string,
          "flag": dt.boolean, "amount": dt.float64}
EVENT_FIELDS = tuple(k for k in _EVENT if k != "party_id")


def _event(t, *, at, kind, ref=None, name=None, channel=None, n=None, note=None, flag=None,
           amount=None) -> ibis.Table:
    vals = {"at": at, "kind": ibis.literal(kind), "ref": ref, "name": name, "channel": channel,
            "n": n, "note": note, "flag": flag, "amount": amount}
    return t.select("party_id", **{k: ibis.null(_EVENT[k]) if v is None else v.cast(_EVENT[k])
                                   for k, v in vals.items()})


def timeline(engine) -> ibis.Table:
    """Every event of every identified customer (see module doc), one schema for all kinds."""
    from prisme.analytics.features import _interactions, party_sales

    parts = []
    s = party_sales(engine, as_of=_FAR)
    o = s.group_by(["party_id", "source", "order_id"]).aggregate(
        at=s.ordered_at.min(), channel=s.channel.max(), lines=s.count(),
        amount=s.revenue.cast("float64").sum(), returned=s.is_return.any())
    parts.append(_event(o, at=o["at"], kind="purchase", ref=o.order_id, channel=o.channel,
                        n=o.lines, flag=o.returned, amount=o.amount))
    c = _interactions(engine, "fact_calls", _FAR)
    if c is not None:
        parts.append(_event(c, at=c["at"], kind="call", ref=c.call_id, name=c.reason,
                            channel=c.direction, note=c.outcome))
    w = _interactions(engine, "fact_web_sessions", _FAR)
    if w is not None:
        parts.append(_event(w, at=w.started_at, kind="web", ref=w.session_id,
                            name=w.landing_page, channel=w.device, n=w.clicks))
    k = _interactions(engine, "fact_campaign_contacts", _FAR)
    if k is not None:
        name, channel = k.campaign_id, None
        if engine.has_table("dim_campaign"):
            d = engine.table("dim_campaign")
            if "is_current" in d.columns:
                d = d.filter(d.is_current)
            d = d.select("campaign_id", campaign_name="name", campaign_channel="channel")
            k = k.left_join(d, "campaign_id")
            name, channel = k.campaign_name.fill_null(k.campaign_id), k.campaign_channel
        parts.append(_event(k, at=k.contacted_at, kind="campaign", ref=k.campaign_id,
                            name=name, channel=channel, note=k.group, flag=k.responded,
                            amount=k.response_revenue))
    v = _interactions(engine, "fact_surveys", _FAR)
    if v is not None:
        parts.append(_event(v, at=v.answered_at, kind="survey", n=v.nps.round(),
                            note=v.comment))
    return ibis.union(*parts)


def card_sources(engine) -> ibis.Table:
    """``party_id``, ``record_count``, the ``<field>_source`` columns of the golden record and
    ``source_records``, the party's source records (``source``, ``source_customer_id``, in no
    particular order) from ``party_map``."""
    d = engine.table("dim_party")
    if "is_current" in d.columns:
        d = d.filter(d.is_current)
    shown = {f"{f}_source" for f in (*CARD_FIELDS, *CONSENTS)}
    cols = [c for c in d.columns if c in shown or c == "record_count"]
    out = d.select("party_id", *cols)
    if not engine.has_table("party_map"):
        return out
    pm = engine.table("party_map")
    recs = pm.group_by("party_id").aggregate(source_records=ibis.struct(
        {"source": pm.source, "source_customer_id": pm.source_customer_id}).collect())
    return out.left_join(recs, out.party_id == recs.party_id).select(
        *[out[c] for c in out.columns], recs.source_records)


#: the columns of ``mart_card`` besides its ``card`` text: the party, the customer's branch and
#: advisor (the rights filter on them) and the card's personal fields, which
#: :func:`prisme.access.rights.restrict` masks by name like any table's
CARD_PLAIN = ("party_id", "branch", "advisor",
              *(f for f in CARD_FIELDS if f in PERSONAL_FIELDS))
#: the column of ``mart_card`` holding the rest of the card as one JSON object
CARD_JSON = "card"


def _json_ready(v: ibis.Value) -> ibis.Value:
    """``v`` as the card's JSON writes it on every engine: a timestamp as ISO text
    (``2024-05-01T10:00:00``, as :func:`prisme.serve.customers._plain` wrote it), a date as
    ``2024-05-01``, a decimal as a float."""
    t = v.type()
    if t.is_timestamp():
        return v.cast("string").replace(" ", "T")
    if t.is_date():
        return v.cast("string")
    if t.is_decimal():
        return v.cast("float64")
    return v


def card(engine) -> ibis.Table:
    """``mart_card``: everything the 360° card shows, one row per customer (see module doc).

    Columns :data:`CARD_PLAIN` (the rights' and the masks' columns) and :data:`CARD_JSON`, one
    JSON object with the rest: the card's columns of ``customer_360`` (money as float64), the
    source of each field of the golden record and ``source_records`` (:func:`card_sources`),
    ``event_count`` (all the customer's events) and ``events``: the newest
    :data:`CARD_EVENTS` of them (:func:`timeline`) as a list, in no particular order (the
    reader sorts them). A card is then one indexed row of a few columns, read by one
    ``json.loads`` (a row of ~60 columns and a list of structs cost the reader ~2.5× more,
    see bench/RESULTS.md). Timestamps are ISO text, a NULL field may be absent."""
    c = engine.table("customer_360")
    money = {"revenue", "margin"}
    out = c.select(*[c[x].cast("float64").name(x) if x in money else c[x]
                     for x in CARD_COLUMNS if x in c.columns])
    if engine.has_table("dim_party"):
        src = card_sources(engine)
        out = out.left_join(src, out.party_id == src.party_id).select(
            *[out[x] for x in out.columns], *[src[x] for x in src.columns if x != "party_id"])
    ev = newest_events(timeline(engine), ready=_json_ready)
    out = out.left_join(ev, out.party_id == ev.party_id).select(
        *[out[x] for x in out.columns], ev.event_count, ev.events)
    return card_json(engine, out)


def card_json(engine, t: ibis.Table) -> ibis.Table:
    """``t`` with its columns of :data:`CARD_PLAIN` kept and every other one folded into
    one JSON object, :data:`CARD_JSON` (timestamps as ISO text, dates as ``YYYY-MM-DD``,
    decimals as floats, NULL as null; lists of structs as arrays of objects)."""
    plain = [x for x in CARD_PLAIN if x in t.columns]
    fields = {x: _json_ready(t[x]) for x in t.columns if x not in plain}
    return t.select(*plain, **{CARD_JSON: engine.dialect.to_json(ibis.struct(fields))})


def newest_events(t: ibis.Table, keep: int = CARD_EVENTS, ready=None) -> ibis.Table:
    """Per ``party_id`` of the events ``t`` (shaped like :func:`timeline`): ``event_count``,
    how many, and ``events``, the newest ``keep`` of them (newest first by ``at``, then by
    kind and reference) as a list of structs in no particular order; ``ready(value)`` (if
    given) is what each field of the struct holds (the card's JSON: timestamps as text)."""
    ready = ready or (lambda v: v)
    t = t.mutate(rank_=ibis.row_number().over(
        group_by="party_id", order_by=[ibis.desc("at"), "kind", "ref"]))
    return t.group_by("party_id").aggregate(
        event_count=t.count(),
        events=ibis.struct({k: ready(t[k]) for k in EVENT_FIELDS}).collect(
            where=t.rank_ < keep))


#: what a search answers of each customer found (columns of ``customer_360``)
SEARCH_COLUMNS = ("party_id", "first_name", "last_name", "company", "email", "phone", "city",
                  "branch", "advisor", "rfm_segment", "clv_12m")


def search_index(engine) -> ibis.Table:
    """``party_id``, the customer's branch and advisor (for the rights), the search keys and
    the columns a search answers (:data:`SEARCH_COLUMNS`): a page of results is read from
    the rows the search found, with no join (at 1,000,000 customers, fetching the page's
    rows from ``customer_360`` cost ~70 ms of the ~80 of a search)."""
    c = engine.table("customer_360")
    text = c.first_name.fill_null("").concat(" ", c.last_name.fill_null(""), " ",
                                             c.company.fill_null(""))
    from prisme.warehouse.conform import fold

    shown = [x for x in SEARCH_COLUMNS if x in c.columns and x not in ("branch", "advisor")]
    return c.select("party_id", "branch", "advisor", search_text=fold(text),
                    email_key=c.email.lower(), phone_key=c.phone,
                    **{x: c[x] for x in shown if x != "party_id"})


#: a term of the index is at most this many characters after its kind's letter: a word of a
#: question longer than this is looked for by a scan of ``mart_search``
TERM_CHARS = 32
#: the shortest name term indexed: a word of a question shorter than this is looked for by a
#: scan of ``mart_search``
NAME_TERM = 2
#: the shortest phone term indexed (a question needs 6 digits to search the phones)
PHONE_TERM = 6
#: the kinds of terms, as the first character of ``search_term``
TERM_KINDS = {"name": "n", "phone": "p", "email": "e"}


def _suffixes(t: ibis.Table, text: ibis.Value, shortest: int, kind: str,
              engine) -> ibis.Table:
    """Per row of ``t`` (``party_id``, ``branch``, ``advisor``), each suffix at least
    ``shortest`` characters long of each word of ``text`` (split on spaces), cut to
    :data:`TERM_CHARS`, after the kind's letter."""
    t = t.select("party_id", "branch", "advisor",
                 w_=engine.dialect.split(text.fill_null(""), " ").unnest())
    t = t.filter(t.w_.length() >= shortest)
    t = t.select("party_id", "branch", "advisor", w_=t.w_,
                 at_=ibis.range(0, t.w_.length() - (shortest - 1)).unnest())
    return t.select(search_term=ibis.literal(TERM_KINDS[kind]).concat(
                        t.w_.substr(t.at_, TERM_CHARS)),
                    party_id=t.party_id, branch=t.branch, advisor=t.advisor)


def search_terms(engine, keys: ibis.Table) -> ibis.Table:
    """``mart_search_terms``, the term index of ``keys`` (rows shaped like
    :func:`search_index`): ``search_term``, ``party_id`` and the customer's ``branch`` and
    ``advisor`` (the rights filter the index as they filter ``mart_search``), one row per
    distinct term of a customer, to be stored sorted by ``search_term`` — so that an
    equality or a prefix (a range ``[key, key⁺)``) reads a narrow run of rows (DuckDB skips
    the other row groups by their min/max). The terms, each after its kind's letter
    (:data:`TERM_KINDS`):

    * ``n`` — every suffix of at least :data:`NAME_TERM` characters of each word of
      ``search_text`` (the folded first name, last name and company, split on spaces): a
      word of a question (which holds no space) is *in* ``search_text`` exactly when it
      begins one of these suffixes;
    * ``p`` — every suffix of at least :data:`PHONE_TERM` digits of each run of digits of
      ``phone_key``: digits are in ``phone_key`` exactly when they begin one of these;
    * ``e`` — the whole ``email_key``.

    (A search looks a ``party_id`` up in ``mart_search``, indexed on it.)

    A suffix is cut to :data:`TERM_CHARS` characters (a word of a question longer than that
    is looked for by a scan). So the index answers what
    :func:`prisme.serve.customers.search` asks — an id, every word in the name, an e-mail,
    digits in the phone — exactly, by equalities and prefix ranges."""
    k = keys.select("party_id", "branch", "advisor", "search_text", "email_key", "phone_key")
    parts = [
        _suffixes(k, k.search_text, NAME_TERM, "name", engine),
        _suffixes(k, k.phone_key.re_replace(r"[^0-9]+", " "), PHONE_TERM, "phone", engine),
    ]
    e = k.filter(k.email_key.notnull())
    parts.append(e.select(search_term=ibis.literal(TERM_KINDS["email"]).concat(e.email_key),
                          party_id=e.party_id, branch=e.branch, advisor=e.advisor))
    return ibis.union(*parts, distinct=True)


def _time_label(ts, level: str):
    if level == "year":
        return ts.year().cast("string")
    if level == "quarter":
        return ts.year().cast("string").concat(ibis.literal("-Q"), ts.quarter().cast("string"))
    if level == "month":
        return ts.strftime("%Y-%m")
    return ts.strftime("%Y-%m-%d")


def _coded_lines(sales: ibis.Table, scratch) -> tuple[ibis.Table, ibis.Table, ibis.Table,
                                                       ibis.Table]:
    """The sale lines of ``sales`` with integer codes in place of the text the roll-up groups
    and counts by, stored in ``scratch``: ``(lines, attributes, channels, categories)``.

    ``lines``: ``a_`` (the buyer's combination of :data:`PARTY_ATTRIBUTES`), ``p_`` (the
    buyer, NULL when unknown), ``o_`` (the order), ``mi`` (the month: year × 12 + month − 1,
    NULL when the line has no time), ``ch_`` and ``cat_`` (channel and category), revenue and
    margin; the three others give back the text of ``a_``, ``ch_`` and ``cat_``. Grouping and
    counting distinct integers instead of a dozen text columns made the roll-up of 11.2M
    lines ~5× faster at 1,000,000 customers (bench/RESULTS.md)."""
    attrs = list(PARTY_ATTRIBUTES)
    # a buyer's attributes come from customer_360 by party_id: one combination per buyer
    p = sales.select("party_id", *[sales[k].cast("string").name(k) for k in attrs]).distinct()
    p = scratch.keep("cube_parties", p.mutate(
        p_=ibis.ifelse(p.party_id.isnull(), ibis.null(dt.int64),
                       ibis.row_number().over(order_by="party_id").cast("int64")),
        a_=ibis.dense_rank().over(order_by=attrs).cast("int64")))
    combos = scratch.keep("cube_attributes", p.select("a_", *attrs).distinct())
    o = sales.filter(sales.order_key.notnull()).select("order_key").distinct()
    o = scratch.keep("cube_orders", o.mutate(o_=ibis.row_number().over(order_by="order_key")
                                             .cast("int64")))

    def labels(column: str, code: str) -> ibis.Table:
        v = sales.select(label=sales[column].cast("string").fill_null(UNKNOWN)).distinct()
        return scratch.keep(f"cube_{column}", v.mutate(
            **{code: ibis.row_number().over(order_by="label").cast("int64")}))

    channels, categories = labels("channel", "ch_"), labels("category", "cat_")
    s = sales.mutate(ch_label_=sales.channel.cast("string").fill_null(UNKNOWN),
                     cat_label_=sales.category.cast("string").fill_null(UNKNOWN))
    pk = p.select(pk_="party_id", p_="p_", a_="a_")
    s = s.left_join(pk, s.party_id.identical_to(pk.pk_))
    ok = o.select(ok_="order_key", o_="o_")
    s = s.left_join(ok, s.order_key == ok.ok_)
    cl = channels.select(cl_="label", ch_="ch_")
    s = s.left_join(cl, s.ch_label_ == cl.cl_)
    kl = categories.select(kl_="label", cat_="cat_")
    s = s.left_join(kl, s.cat_label_ == kl.kl_)
    ts = s.ordered_at
    lines = scratch.keep("cube_lines", s.select(
        "a_", "p_", "o_",
        mi=(ts.year() * 12 + ts.month() - 1).cast("int64"),
        ch_=s.ch_, cat_=s.cat_,
        revenue=s.revenue.cast("float64"),
        margin_=s.revenue.cast("float64") - s.cost.cast("float64").fill_null(0)))
    return lines, combos, channels, categories


def cube_rollup(sales: ibis.Table, scratch) -> ibis.Table:
    """The grouping sets of ``mart_cube_rollup`` (see module doc) over ``sales``, rows shaped
    like ``mart_cube_sales``; its intermediate tables (:func:`_coded_lines`) are kept in
    ``scratch`` (a :class:`prisme.analytics.basket._Scratch`), which the caller drops once the
    result is stored or fetched."""
    lines, combos, channels, categories = _coded_lines(sales, scratch)
    # the time key of each level: months, quarters (month // 3) or years (month // 12)
    per = {"year": 12, "quarter": 3, "month": 1}
    parts = []
    for level in ROLLUP_LEVELS:
        for by_channel in (False, True):
            for by_category in (False, True):
                s = lines
                keys = ["a_"]
                if level != "all":
                    s = s.mutate(t_=(s.mi // per[level]).cast("int64"))
                    keys.append("t_")
                keys += ["ch_"] * by_channel + ["cat_"] * by_category
                g = s.group_by(keys).aggregate(
                    revenue=s.revenue.sum(), margin=s.margin_.sum(),
                    orders=s.o_.nunique().cast("int64"),
                    customers=s.p_.nunique().cast("int64"))
                parts.append(g.select(
                    level=ibis.literal(level), by_channel=ibis.literal(by_channel),
                    by_category=ibis.literal(by_category), a_=g.a_,
                    # the month of the set's first month: its labels are those of the set
                    m_=(g.t_ * per[level]).cast("int64") if level != "all"
                    else ibis.null(dt.int64),
                    ch_=g.ch_ if by_channel else ibis.null(dt.int64),
                    cat_=g.cat_ if by_category else ibis.null(dt.int64),
                    revenue=g.revenue, margin=g.margin, orders=g.orders,
                    customers=g.customers))
    r = ibis.union(*parts)
    r = r.left_join(combos, r.a_ == combos.a_)
    cl = channels.select(channel="label", c_="ch_")
    r = r.left_join(cl, r.ch_ == cl.c_)
    kl = categories.select(category="label", k_="cat_")
    r = r.left_join(kl, r.cat_ == kl.k_)
    year = (r.m_ // 12).cast("string")
    quarter = year.concat(ibis.literal("-Q"), ((r.m_ % 12) // 3 + 1).cast("string"))
    month = year.concat(ibis.literal("-"), (r.m_ % 12 + 1).cast("string").lpad(2, "0"))
    depth = {lvl: i for i, lvl in enumerate(ROLLUP_LEVELS)}

    def label(text: ibis.Value, lvl: str) -> ibis.Value:
        # the level's own and coarser time labels; "(unknown)" for a line without time
        shown = r.level.isin([x for x in ROLLUP_LEVELS if depth[x] >= depth[lvl]])
        return ibis.cases((shown & r.m_.isnull(), ibis.literal(UNKNOWN)), (shown, text),
                          else_=ibis.null(dt.string))

    return r.select(
        "level", "by_channel", "by_category",
        **{k: r[k].cast("string") for k in PARTY_ATTRIBUTES},
        year=label(year, "year"), quarter=label(quarter, "quarter"),
        month=label(month, "month"),
        channel=r.channel, category=r.category,  # NULL codes join no label
        revenue=r.revenue, margin=r.margin, orders=r.orders, customers=r.customers)


def build_card(engine, name: str = CARD) -> int:
    """Build ``mart_card`` under ``name`` (sorted by ``party_id``); returns its rows. The
    index on ``party_id`` is made by :func:`index_card` once the table has its final name
    (DuckDB cannot rename an indexed table)."""
    # read one row at a time by the server: its JSON text stored for point reads
    engine.create_lookup_table(name, card(engine).order_by("party_id"), text=(CARD_JSON,))
    return int(engine.scalar(engine.table(name).count()))


def build_search(engine, name: str = SEARCH, terms: str = SEARCH_TERMS) -> tuple[int, int]:
    """Build ``mart_search`` under ``name`` (sorted by ``party_id``) and its term index
    ``mart_search_terms`` under ``terms`` (from it, sorted by ``search_term``: see
    :func:`search_terms`); returns their rows."""
    engine.create_table(name, search_index(engine).order_by("party_id"), overwrite=True)
    engine.create_table(terms, search_terms(engine, engine.table(name))
                        .order_by(["search_term", "party_id"]), overwrite=True)
    return (int(engine.scalar(engine.table(name).count())),
            int(engine.scalar(engine.table(terms).count())))


def index_card(engine) -> None:
    """The point-lookup index of ``mart_card`` (engines without indexes read it sorted)."""
    engine.create_index(CARD, "party_id")


def index_search(engine) -> None:
    """The index of ``mart_search`` on ``party_id``: a page of search results reads its
    rows by their ids (engines without indexes read it sorted)."""
    engine.create_index(SEARCH, "party_id")


def build_serving_marts(engine, settings=None) -> dict[str, int]:
    """(Re)build the serving marts (module doc); returns their row counts."""
    if not all(engine.has_table(t) for t in ("customer_360", "fact_sales", "dim_party")):
        return {}
    built = {}
    try:
        engine.create_table(f"{CUBE_SALES}__building",
                            cube_sales(engine).order_by(["ordered_at", "party_id"]),
                            overwrite=True)
        scratch = _Scratch(engine)
        try:
            rollup = cube_rollup(engine.table(f"{CUBE_SALES}__building"), scratch)
            engine.create_table(f"{CUBE_ROLLUP}__building",
                                rollup.order_by(["level", "by_channel", "by_category",
                                                 "branch", "advisor", "year", "quarter",
                                                 "month"]),
                                overwrite=True)
        finally:
            scratch.drop()
        build_card(engine, f"{CARD}__building")
        build_search(engine, f"{SEARCH}__building", f"{SEARCH_TERMS}__building")
        with engine.transaction():
            for name in (*SERVING_MARTS, *RETIRED):
                engine.drop_table(name, force=True)
            for name in SERVING_MARTS:
                engine.rename_table(f"{name}__building", name)
            index_card(engine)
            index_search(engine)
        for name in SERVING_MARTS:
            built[name] = int(engine.scalar(engine.table(name).count()))
    finally:
        for name in SERVING_MARTS:
            engine.drop_table(f"{name}__building", force=True)
    return built
