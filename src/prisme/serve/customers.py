"""Customer search and the 360° card, read through the user's :class:`Reader`."""

from __future__ import annotations

import json

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme.access.rights import Forbidden, may_search_personal
from prisme.i18n import reasons
from prisme.serve.marts import (  # noqa: F401 - the card's fields, re-exported
    CARD_COLUMNS,
    CARD_EVENTS,
    CARD_FIELDS,
    CONSENTS,
    EVENT_FIELDS,
    SEARCH_COLUMNS,
    VALUE_FIELDS,
)
from prisme.warehouse.conform import py_fold as fold

#: card field → (English, French)
FIELD_LABELS = {
    "kind": ("kind", "type"), "first_name": ("first name", "prénom"),
    "last_name": ("last name", "nom"), "company": ("company", "société"),
    "email": ("e-mail", "e-mail"), "phone": ("phone", "téléphone"),
    "address_line": ("address", "adresse"), "postal_code": ("postcode", "code postal"),
    "city": ("city", "ville"), "country": ("country", "pays"), "gender": ("gender", "civilité"),
    "birth_date": ("birth date", "date de naissance"), "branch": ("branch", "agence"),
    "advisor": ("advisor", "conseiller"), "created_at": ("customer since", "client depuis"),
    "updated_at": ("last updated", "mis à jour"),
    "consent_email": ("e-mail", "e-mail"), "consent_phone": ("phone", "téléphone"),
    "consent_post": ("post", "courrier"),
}
def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _after(key: str) -> str | None:
    """The smallest text above every text that begins with ``key`` (None: there is none):
    ``[key, _after(key))`` is the range of the texts beginning with ``key``."""
    for i in range(len(key) - 1, -1, -1):
        if ord(key[i]) < 0x10FFFF:
            return key[:i] + chr(ord(key[i]) + 1)
    return None


def _lookups(q: str, words: list[str], shape: list) -> list[tuple] | None:
    """The question as lookups of the term index ``mart_search_terms``
    (:func:`prisme.serve.marts.search_terms`), or None when the index cannot answer it.

    Each lookup is ``(part, "eq", term)`` or ``(part, "range", low, high)`` (the terms that
    begin with ``low``); ``part`` is ``"id"`` (an equality on ``mart_search``'s
    ``party_id``), ``"email"``, ``"phone"`` or ``"name"`` — a customer is found when an id,
    e-mail or phone lookup finds them, or when every name lookup (one per word) does: the
    very condition of :func:`search`. None when a word is
    shorter than :data:`~prisme.serve.marts.NAME_TERM` or longer than
    :data:`~prisme.serve.marts.TERM_CHARS` characters (such words are not terms: the search
    then checks every customer's folded name), or when the question has no words at all (a
    search by id only, for a user who may not search personal data: ``mart_search`` is
    sorted by ``party_id``, so that equality reads one row group)."""
    from prisme.serve.marts import NAME_TERM, TERM_CHARS, TERM_KINDS

    if not shape or not words:
        return None
    if any(not NAME_TERM <= len(w) <= TERM_CHARS or " " in w for w in words):
        return None

    def prefix(part: str, text: str) -> tuple:
        low = TERM_KINDS[part] + text
        high = _after(low)
        return (part, "range", low, high) if high is not None else None

    out = [("id", "eq", q.upper())]
    out += [prefix("name", w) for w in dict.fromkeys(words)]
    if "email" in shape:
        out.append(("email", "eq", TERM_KINDS["email"] + q.lower()))
    if "phone" in shape:
        out.append(prefix("phone", _digits(q)[-9:]))
    return None if None in out else out


def search(reader, q: str, page: int = 1, page_size: int = 20) -> dict:
    """Customers whose id, name, e-mail or phone match ``q`` (accent- and case-insensitive):
    ``{items, total, page, page_size}``, in ``party_id`` order. An analyst without the
    personal-data grant searches by customer id only.

    A customer is found when ``q`` (in upper case) is their ``party_id``, or — for a user who
    may search personal data — when every word of ``q`` (folded: accents off, lower case)
    is in their folded first name, last name and company, or ``q`` (lower case) is their
    e-mail, or the last 9 of 6 or more digits of ``q`` are in their phone number.

    The customers found come from the term index ``mart_search_terms`` — an equality or a
    prefix range per part of the question (:func:`_lookups`), each reading a narrow run of
    the sorted index — and only the page's rows are read from ``mart_search``; a question
    the index cannot answer (a word of one letter), or a warehouse built before the
    index, is answered by checking the folded keys of every row of ``mart_search``. The two
    queries (how many, which page) are prepared per shape of question (how many words, an
    e-mail, a phone number, the page) and user scope, the words bound at each request."""
    from prisme.serve.marts import SEARCH_TERMS

    q = (q or "").strip()
    page = max(1, int(page))
    page_size = min(max(1, int(page_size)), 200)
    values: list[str] = []
    shape: list = []
    words: list[str] = []
    if q:
        values.append(q.upper())
        if may_search_personal(reader.user):
            words = [fold(w) for w in q.split() if w]
            shape.append(len(words))
            if "@" in q:
                shape.append("email")
            digits = _digits(q)
            if len(digits) >= 6:
                shape.append("phone")
    lookups = _lookups(q, words, shape) if reader.has(SEARCH_TERMS) else None
    if lookups:
        values = [v for lk in lookups for v in lk[2:]]
    elif shape:
        values += words
        if "email" in shape:
            values.append(q.lower())
        if "phone" in shape:
            values.append(_digits(q)[-9:])

    def keys():
        from prisme.serve.marts import SEARCH, search_index

        return reader.derived(SEARCH, search_index)

    def indexed(params) -> ibis.Table:
        """The ``party_id`` of the customers found, from the term index."""
        from prisme.serve.marts import SEARCH

        t = reader.table(SEARCH_TERMS)
        it = iter(params)
        found: dict[str, list] = {}
        for part, how, *_ in lookups:
            if part == "id":  # by mart_search's index on party_id (the rights after it)
                pid = next(it)
                found["id"] = [reader.picked(
                    SEARCH, lambda s, pid=pid: s.filter(s.party_id == pid).limit(1))
                    .select("party_id")]
                continue
            if how == "eq":
                hit = t.search_term == next(it)
            else:
                low, high = next(it), next(it)
                hit = (t.search_term >= low) & (t.search_term < high)
            found.setdefault(part, []).append(t.filter(hit).select("party_id"))
        name = found.pop("name")
        name = name[0].distinct() if len(name) == 1 else ibis.intersect(*name)
        return ibis.union(*[x for v in found.values() for x in v], name, distinct=True)

    def matching(params) -> ibis.Table:
        """The rows of ``mart_search`` found, by checking every row."""
        s = keys()
        if not q:
            return s
        it = iter(params)
        conds = [s.party_id == next(it)]
        if shape:
            conds.append(ibis.and_(*[s.search_text.contains(next(it))
                                     for _ in range(shape[0])]))
            if "email" in shape:
                conds.append(s.email_key == next(it))
            if "phone" in shape:
                conds.append(s.phone_key.contains(next(it)))
        return s.filter(ibis.or_(*conds))

    def params(n: int = len(values)):
        return [ibis.param(dt.string) for _ in range(n)]

    def count():
        ps = params()
        found = indexed(ps) if lookups else matching(ps)
        return found.aggregate(n=lambda t: t.count()), ps

    def page_of(t: ibis.Table) -> ibis.Table:
        return t.order_by("party_id").limit(page_size, offset=(page - 1) * page_size)

    def rows():
        ps = params()
        found = matching(ps)
        if set(SEARCH_COLUMNS) <= set(found.columns):  # the page from the same rows
            return page_of(found.select(*SEARCH_COLUMNS)), ps
        # a mart_search of an earlier build: the page's rows from customer_360
        ids = page_of(found.select("party_id"))
        c = reader.table("customer_360")
        return c.semi_join(ids, "party_id").select(*SEARCH_COLUMNS).order_by("party_id"), ps

    def page_ids():
        """The page's ``party_id`` and how many customers were found, in one query."""
        ps = params()
        found = indexed(ps)
        found = found.mutate(n=found.party_id.count().over(ibis.window()))
        # the columns named again: Ibis' PySpark compiler leaves the row number of its
        # offset beside a window's column otherwise
        return page_of(found).select("party_id", "n"), ps

    def by_id():
        """The page's rows by their ``party_id`` (``mart_search`` is indexed on it; the ids
        are distinct, at most ``page_size``)."""
        from prisme.serve.marts import SEARCH

        ps = params(page_size)
        if reader.has(SEARCH) and set(SEARCH_COLUMNS) <= set(keys().columns):
            s = reader.picked(SEARCH, lambda t: t.filter(t.party_id.isin(ps)).limit(page_size))
        else:  # a mart_search of an earlier build: the page's rows from customer_360
            s = reader.table("customer_360")
            s = s.filter(s.party_id.isin(ps))
        return s.select(*SEARCH_COLUMNS).order_by("party_id"), ps

    key = (bool(q), tuple(shape), tuple(lk[:2] for lk in lookups or ()))
    if lookups:
        ids = reader.fetch(("search.ids", key, page, page_size), page_ids, *values)
        if ids:
            total = ids[0]["n"]
            wanted = [r["party_id"] for r in ids]
            wanted += wanted[-1:] * (page_size - len(wanted))  # one query per page size
            found = reader.fetch(("search.by_id", page_size), by_id, *wanted)
        else:  # nothing found, or a page past the last
            total = reader.fetch(("search.count", key), count, *values)[0]["n"]
            found = []
    else:
        total = reader.fetch(("search.count", key), count, *values)[0]["n"]
        found = reader.fetch(("search.rows", key, page, page_size), rows, *values)
    items = [{k: _plain(v) for k, v in r.items()} for r in found]
    return {"items": items, "total": int(total or 0), "page": page, "page_size": page_size}


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: _plain(v) for k, v in rec.items()})
    return out


def _plain(v):
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    try:
        from decimal import Decimal
        if isinstance(v, Decimal):
            return float(v)
    except ImportError:  # pragma: no cover
        pass
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


class NotFound(LookupError):
    pass


def _lookup(build):
    """``build(table, party_id)`` as a prepared query of one ``party_id`` param."""
    def make(reader):
        def built():
            pid = ibis.param(dt.string)
            return build(reader, pid), [pid]
        return built
    return make


@_lookup
def _card_row(reader, pid):
    from prisme.serve.marts import CARD
    from prisme.serve.marts import card as live

    t = reader.derived(CARD, live, pid)
    return t.filter(t.party_id == pid).limit(1)


@_lookup
def _exists(reader, pid):  # unrestricted on purpose: refuse (403) rather than hide (404)
    from prisme.serve.marts import CARD

    raw = reader.engine.table(CARD if reader.has(CARD) else "customer_360")
    return raw.filter(raw.party_id == pid).select("party_id").limit(1)


def card(reader, party_id: str, timeline_limit: int = CARD_EVENTS) -> dict:
    """The 360° card of one customer, or :class:`Forbidden` / :class:`NotFound`.

    A party outside the user's rights is refused (not reported as missing) only when it exists,
    so an advisor cannot probe ids; the refusal is audited by the caller. The card is one
    prepared point lookup of ``mart_card`` (:meth:`prisme.serve.data.Reader.fetch`:
    compiled once per engine and user scope, the party id bound at each request; the rights
    are part of the query).
    """
    rows = reader.fetch("card", _card_row(reader), party_id)
    if not rows:
        if reader.fetch("card.exists", _exists(reader), party_id):
            raise Forbidden(f"customer {party_id} is outside your portfolio "
                            f"({_scope(reader.user)})",
                            f"le client {party_id} est hors de votre portefeuille "
                            f"({_scope(reader.user, 'fr')})")
        raise NotFound(f"no customer {party_id}")
    r = _unpack(rows[0])
    # newest first, then by kind, reference, name and note (the mart keeps them in no
    # order); times are ISO text, which sorts as the times do
    events = sorted(r.pop("events", None) or [], key=lambda e: (
        e.get("kind") or "", e.get("ref") or "", e.get("name") or "", e.get("note") or ""))
    events.sort(key=lambda e: e.get("at") or "", reverse=True)
    records = sorted(r.pop("source_records", None) or [], key=lambda x: (
        x.get("source") or "", x.get("source_customer_id") or ""))
    r = {k: _plain(v) for k, v in r.items()}
    golden = [{"field": f, "value": r.get(f), "source": r.get(f"{f}_source")}
              for f in CARD_FIELDS if f in r]
    consent = [{"field": f, "value": r.get(f), "source": r.get(f"{f}_source")}
               for f in CONSENTS if f in r]
    return {
        "party_id": party_id,
        "golden_record": golden,
        "consent": consent,
        "record_count": r.get("record_count"),
        "source_records": [{"source": x.get("source"),
                            "source_customer_id": x.get("source_customer_id")}
                           for x in records],
        "value": {k: r.get(k) for k in VALUE_FIELDS},
        "segment": {"rfm_segment": r.get("rfm_segment"), "rfm_score": r.get("rfm_score"),
                    "cluster": r.get("cluster"), "cluster_label": r.get("cluster_label")},
        "churn": {"churn_probability": r.get("churn_probability"),
                  "risk_from_p_alive": None if r.get("p_alive") is None else 1 - r["p_alive"],
                  "churn_reasons": [{**x, "text": reasons.say(x)}
                                    for x in reasons.parse(r.get("churn_reasons"))]},
        "next_best_offers": _split(r.get("next_best_offers"), "|"),
        "event_count": r.get("event_count") or 0,
        "timeline": [_event(e) for e in events[:int(timeline_limit)]],
    }


def _unpack(row: dict) -> dict:
    """A row of ``mart_card`` as one dict: its columns (the personal ones masked, or not, by
    the rights) and the fields of its JSON text (:data:`prisme.serve.marts.CARD_JSON`)."""
    from prisme.serve.marts import CARD_JSON

    text = row.pop(CARD_JSON, None)
    if text is None:  # a mart_card of an earlier build: every field a column, lists of structs
        for k in ("events", "source_records"):
            if row.get(k) is not None:
                row[k] = [{f: _plain(v) for f, v in x.items()} for x in row[k]]
        return row
    out = json.loads(text)
    out.update(row)
    return out


def _event(e: dict) -> dict:
    out = {k: e.get(k) for k in EVENT_FIELDS}
    amount = out["amount"]
    if isinstance(amount, float) and amount != amount:
        out["amount"] = None
    out["detail"] = event_detail(out)
    return out


def _scope(user, lang: str = "en") -> str:
    from prisme.access.rights import scope_text

    return scope_text(user, lang)


def _split(text, sep: str) -> list[str]:
    """``churn_reasons`` are joined by "; ", ``next_best_offers`` by " | "."""
    if not text:
        return []
    if isinstance(text, list):
        return [str(x) for x in text]
    return [p.strip() for p in str(text).split(sep) if p.strip()]


#: words of the timeline's kinds
KINDS = {"purchase": ("purchase", "achat"), "call": ("call", "appel"),
         "web": ("web visit", "visite web"),
         "campaign": ("campaign", "campagne"), "survey": ("survey", "enquête")}


def event_detail(e: dict, word=None, lang: str = "en") -> str:
    """One timeline event in words: ``word(code)`` turns a code of the data (a channel, a
    call's outcome, a contact's group) into the reader's language (default: as stored)."""
    word = word or (lambda v: v)
    fr = lang == "fr"
    kind, name, channel, n, note = (e.get(k) for k in ("kind", "name", "channel", "n", "note"))

    def count(one: str, many: str) -> str | None:
        return None if n is None else f"{n} {one if n == 1 else many}"

    if kind == "purchase":
        parts = [word(channel), count(*(("ligne", "lignes") if fr else ("line", "lines")))]
    elif kind == "call":
        parts = [word(channel), word(name), word(note)]
    elif kind == "web":
        parts = [name, word(channel), count(*(("clic", "clics") if fr else ("click", "clicks")))]
    elif kind == "campaign":
        # "Soldes d'été – sms" already says its channel
        said = channel and name and str(channel).lower() in str(name).lower()
        parts = [name, None if said else word(channel), word(note)]
    elif kind == "survey":
        parts = [None if n is None else f"NPS {n}", note]
    else:
        parts = [name, channel, note]
    return " · ".join(str(p) for p in parts if p not in (None, ""))
