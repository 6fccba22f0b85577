"""Propose how a file's columns map onto the canonical model, and start a project from it.

``prisme init --from FILE`` reads the header of an export, recognises the usual English and
French column names (``CustomerID``, ``N° client``, ``Date commande``, ``Montant TTC``…),
picks the entity whose required columns are best covered, and writes ``prisme.toml`` with the
sniffed format and the proposed mapping for the user to confirm. Names are compared without
case, accents, spaces or punctuation: ``Prénom``, ``PRENOM`` and ``prenom_`` are the same.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from prisme.config import CONFIG_FILE, Settings, SourceSettings, load_settings, save_settings
from prisme.ingest.synonyms import SYNONYMS
from prisme.warehouse.schema import ENTITIES

#: source columns worth keeping as helpers for a derived column, by entity
HELPERS = {"transaction": {"unit_price": SYNONYMS["unit_price"]}}


def name_key(name: str) -> str:
    """'N° Client', 'n_client', 'NClient' → 'nclient' (no case, accents, spaces, punctuation)."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return re.sub(r"[^a-z0-9]", "", text)


@dataclass
class Proposal:
    """What ``prisme init --from`` proposes for one file."""

    entity: str
    columns: dict[str, str]  #: canonical name → source column
    unmapped: list[str]  #: source columns not used
    notes: list[str] = field(default_factory=list)
    derive: dict[str, str] = field(default_factory=dict)
    #: entity → how well the file covers it (see :func:`_score`; the highest wins)
    scores: dict[str, float] = field(default_factory=dict)
    #: how sure the entity is, 0–1 (from the lead of the best score over the next one)
    confidence: float = 0.0
    #: what the data says of the project's country and currency (ISO codes), when it says
    country: str | None = None
    currency: str | None = None


#: words an export puts before a column's name to say whose it is (``customer_city``)
OWNER_WORDS = {"customer", "customers", "client", "clients", "cust", "order", "orders",
               "product", "products", "prod", "review", "reviews", "item", "items", "seller",
               "shipping", "billing", "invoice", "user", "member", "contact"}
#: words after a name that make it a measure of the thing, not the thing
#: (``product_name_lenght`` is a length, not a name)
MEASURE_WORDS = ("length", "lenght", "len", "size", "count", "qty", "nb", "number", "width",
                 "height", "weight", "cm", "mm", "kg")
#: canonical columns whose values are words, never mostly numbers
_WORDY = {"first_name", "last_name", "name", "city", "company", "category", "department",
          "business_unit", "comment", "reason", "agent", "advisor", "branch", "channel",
          "status", "payment_method", "device", "referrer", "landing_page", "direction"}


def _tokens(name: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [name_key(t) for t in re.split(r"[^0-9A-Za-z\u00C0-\u024F]+", text) if name_key(t)]


def _stripped(name: str) -> str:
    """The name without the owner word in front and 'prefix' at the end:
    ``customer_zip_code_prefix`` → ``zipcode``, ``order_purchase_timestamp`` →
    ``purchasetimestamp``."""
    tokens = _tokens(name)
    if len(tokens) > 1 and tokens[0] in OWNER_WORDS:
        tokens = tokens[1:]
    if len(tokens) > 1 and tokens[-1] == "prefix":
        tokens = tokens[:-1]
    return "".join(tokens)


def _kind_of(entity: str, canon: str) -> str:
    ent = ENTITIES[entity]
    if canon in ent.names:
        return ent.column(canon).kind
    for e in ENTITIES.values():
        if canon in e.names:
            return e.column(canon).kind
    return "text"


def _fits(canon: str, kind: str, values: list[str]) -> bool:
    """Do the sample values of a column look like what the canonical column holds?"""
    from prisme.ingest.sniff import _DATE_LIKE, _NUMBER, guess_date_format

    values = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not values:
        return True
    numeric = sum(bool(_NUMBER.match(v)) for v in values) / len(values)
    if canon in _WORDY:
        return numeric < 0.8
    if kind in ("date", "timestamp"):
        dated = sum(bool(_DATE_LIKE.match(v)) for v in values) / len(values)
        return dated >= 0.5 or guess_date_format(values) is not None
    if kind in ("number", "money"):
        return numeric >= 0.8 or kind == "money" and numeric >= 0.5
    return True


def _match(columns: list[str], entity: str, sample: list[dict] | None = None) -> dict[str, str]:
    """Canonical → source column for one entity: exact synonym matches, earliest synonym
    first, each source column used once; then the same on names without their owner word
    (``customer_city`` → city); then names that start with a synonym of at least six letters
    ('Recommandation (0-10)' → nps) unless what follows is a measure (``product_name_lenght``).
    A column whose sample values cannot be what the canonical column holds (numbers for a
    name, words for a date) is not proposed for it."""
    keys = {c: name_key(c) for c in columns}
    bare = {c: _stripped(c) for c in columns}
    wanted = list(ENTITIES[entity].names) + list(HELPERS.get(entity, {}))
    synonyms = {c: [name_key(c)] + SYNONYMS.get(c, []) for c in wanted}
    values = {c: [r.get(c) for r in (sample or [])] for c in columns}
    taken: set[str] = set()
    out: dict[str, str] = {}

    def claim(rank: int, test) -> None:
        for canon in wanted:
            if canon in out or rank >= len(synonyms[canon]):
                continue
            for col in columns:
                if col not in taken and test(col, synonyms[canon][rank]) \
                        and _fits(canon, _kind_of(entity, canon), values[col]):
                    out[canon] = col
                    taken.add(col)
                    break

    def exact(col: str, syn: str) -> bool:
        return keys[col] == syn

    def without_owner(col: str, syn: str) -> bool:
        return bare[col] == syn and bare[col] != keys[col]

    def prefix(col: str, syn: str) -> bool:
        key = keys[col]
        if len(syn) < 6 or not key.startswith(syn):
            return False
        return not key[len(syn):].startswith(MEASURE_WORDS)

    ranks = max(len(v) for v in synonyms.values())
    for test in (exact, without_owner, prefix):
        for rank in range(ranks):
            claim(rank, test)
    return out


#: the column that names one record of each entity: a file whose first column is it is a
#: file of that entity (an orders file starts with the order id, not the customer id)
_KEYS = {"customer": "source_customer_id", "product": "sku", "transaction": "order_id",
         "web_session": "session_id", "call": "call_id", "campaign": "campaign_id"}
#: what makes a customer file a customer file: something about the person
_DESCRIPTIVE = {"first_name", "last_name", "company", "email", "phone", "address_line",
                "postal_code", "city", "country", "birth_date", "gender"}


def _score(entity: str, matched: dict[str, str], first: str | None = None) -> float:
    """Required columns covered count 1 each, other recognised columns ½, a required column
    missing −½: a file is the entity it describes most of, not merely one whose single
    required column it happens to have (every sales file has a customer id). The file's
    first column, when it is the entity's key, counts 1 more; a "customer" file without a
    single descriptive column (name, contact, address) counts 1 less."""
    ent = ENTITIES[entity]
    required = [c for c in ent.required if c != "source"]  # `source` is a constant
    covered = sum(1 for c in required if c in matched or _derivable(entity, c, matched))
    optional = sum(1 for c in matched if c in ent.names and c not in required)
    score = covered + 0.5 * optional - 0.5 * (len(required) - covered)
    if first is not None and entity in _KEYS and matched.get(_KEYS[entity]) == first:
        score += 1
    if entity == "customer" and not (_DESCRIPTIVE & set(matched)):
        score -= 1
    return score


def _confidence(scores: dict[str, float]) -> float:
    """0.5 when the two best entities tie, towards 1 as the lead grows (logistic)."""
    import math

    top = sorted(scores.values(), reverse=True) + [float("-inf")]
    lead = top[0] - top[1]
    return 1.0 if math.isinf(lead) else round(1 / (1 + math.exp(-1.5 * lead)), 2)


def _derivable(entity: str, column: str, matched: dict[str, str]) -> bool:
    return (entity, column) == ("transaction", "revenue") and {"quantity", "unit_price"} <= set(
        matched
    )


def propose_mapping(columns: list[str], sample: list[dict] | None = None) -> Proposal:
    """Recognise the columns of a file and choose the entity it feeds.

    The entity is the one whose required columns are best covered (ties: the most columns
    recognised). Derived columns are proposed when evident: ``revenue = "quantity *
    unit_price"`` when there is a unit price but no amount. ``sample`` (a few rows as dicts)
    only sharpens the notes (e.g. returns written as negative quantities or 'C' invoices).
    """
    columns = [c for c in columns if c is not None]
    first = columns[0] if columns else None
    scored = {e: (_score(e, m, first), m) for e in ENTITIES
              for m in [_match(columns, e, sample)]}
    best = max(scored, key=lambda e: scored[e][0])
    matched = scored[best][1]
    proposal = Proposal(
        entity=best,
        columns=matched,
        unmapped=[c for c in columns if c not in matched.values()],
        scores={e: s[0] for e, s in scored.items()},
    )
    proposal.confidence = _confidence(proposal.scores)
    _score_scale(proposal, sample or [])
    _propose_derived(proposal, sample or [])
    ent = ENTITIES[best]
    used = " ".join(proposal.derive.values())
    for helper in [c for c in proposal.columns if c not in ent.names]:
        if not re.search(rf"\b{helper}\b", used):  # a helper nothing derives from
            proposal.unmapped.append(proposal.columns.pop(helper))
    order = {c: i for i, c in enumerate([*ent.names, *HELPERS.get(best, {})])}
    proposal.columns = dict(sorted(proposal.columns.items(), key=lambda kv: order[kv[0]]))
    proposal.unmapped = [c for c in columns if c in proposal.unmapped]
    missing = [
        c for c in ent.required if c not in matched and c not in proposal.derive and c != "source"
    ]
    for name, src in proposal.columns.items():
        if name not in ent.names:
            targets = [t for t, e in proposal.derive.items() if re.search(rf"\b{name}\b", e)]
            proposal.notes.append(f"{src!r} ({name}) is kept to compute {', '.join(targets)}")
    runner_up = sorted(((v, e) for e, v in proposal.scores.items() if e != best),
                       reverse=True)[:1]
    sure = ("sure" if proposal.confidence >= 0.9 else "fairly sure"
            if proposal.confidence >= 0.7 else "not sure — check the entity")
    proposal.notes.insert(0, (
        f"entity {best}: {sure} (confidence {proposal.confidence:.2f}; score "
        f"{proposal.scores[best]:g}" + (f" against {runner_up[0][0]:g} for {runner_up[0][1]}"
                                        if runner_up else "") + ")"))
    if missing:
        proposal.notes.append(
            f"no column found for required {best} column(s) {', '.join(missing)}: "
            "map them by hand in [sources.<name>.columns] or declare them in constants/derive"
        )
        if best == "transaction" and {"sku", "quantity"} & set(missing) and \
                "order_id" in matched:
            proposal.notes.append(
                "this looks like a file of order headers (no product or quantity): declare it "
                "as a join of the order-lines source — [sources.<lines>.join.orders] with "
                f"path = this file and on = {matched['order_id']!r} — and map its columns as "
                "orders.<column>")
        elif "source_customer_id" in missing and "order_id" in SYNONYMS and any(
                name_key(c) in SYNONYMS["order_id"] or _stripped(c) in SYNONYMS["order_id"]
                for c in columns):
            proposal.notes.append(
                "the customer is not in this file but it has an order id: join the orders "
                "file ([sources.<name>.join.orders], on the order id) and map "
                "source_customer_id = \"orders.<customer column>\"")
    if proposal.unmapped:
        proposal.notes.append(
            "not mapped (ignored unless you map them): " + ", ".join(proposal.unmapped)
        )
    return proposal


def _score_scale(p: Proposal, sample: list[dict]) -> None:
    """A survey score on 0–10 is a recommendation (NPS); on 1–5 it is a satisfaction."""
    col = p.columns.get("sat_company")
    if p.entity != "survey" or col is None or "nps" in p.columns:
        return
    numbers = []
    for r in sample:
        try:
            numbers.append(float(str(r.get(col)).replace(",", ".")))
        except (TypeError, ValueError):
            continue
    if numbers and max(numbers) > 5:
        p.columns["nps"] = p.columns.pop("sat_company")
        p.notes.append(f"{col!r} goes up to {max(numbers):g}: read as a 0–10 recommendation "
                       "score (nps)")
    elif numbers:
        p.notes.append(f"{col!r} is on a 1–5 scale: read as overall satisfaction "
                       "(sat_company), not NPS")


def locale_from_data(p: Proposal, sample: list[dict], columns: list[str]) -> None:
    """The country and currency the data is in, when it says: a country column, a currency
    column or currency symbols in the amounts, phone numbers in international form, or the
    state codes of a country (the 27 Brazilian UFs, the US states)."""
    from collections import Counter

    from prisme.ingest.normalise import currency_lookup, py_country_iso2

    def common(col: str | None, fn) -> str | None:
        if col is None:
            return None
        found = Counter(v for v in (fn(r.get(col)) for r in sample) if v)
        return found.most_common(1)[0][0] if found else None

    country = common(p.columns.get("country"), lambda v: py_country_iso2(str(v)) if v else None)
    if country is None:
        for col in columns:
            if name_key(col) in {"state", "uf", "estado", "region"} or \
                    _stripped(col) in {"state", "uf", "estado"}:
                values = {str(r.get(col) or "").strip().upper() for r in sample} - {""}
                if values and values <= _BR_STATES:
                    country = "BR"
                elif values and values <= _US_STATES:
                    country = "US"
    if country is None and p.columns.get("phone"):
        import phonenumbers

        def region(v):
            try:
                return phonenumbers.region_code_for_number(phonenumbers.parse(str(v), None))
            except Exception:  # noqa: BLE001 - a number without '+' says nothing
                return None
        country = common(p.columns["phone"], region)
    currency = common(p.columns.get("currency"),
                      lambda v: currency_lookup().get(str(v).strip().upper()) if v else None)
    if currency is None:
        money = [p.columns.get(c) for c in ("revenue", "unit_price", "cost") if p.columns.get(c)]
        symbols = {"R$": "BRL", "€": "EUR", "£": "GBP", "US$": "USD", "CHF": "CHF"}
        for col in money:
            texts = " ".join(str(r.get(col) or "") for r in sample)
            hit = next((code for sym, code in symbols.items() if sym in texts), None)
            if hit:
                currency = hit
                break
    if currency is None and country is not None:
        from babel.numbers import get_territory_currencies

        found = get_territory_currencies(country)
        currency = found[0] if found else None
    p.country, p.currency = country, currency


_BR_STATES = set("AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP "
                 "SE TO".split())
_US_STATES = set("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
                 "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
                 "DC".split())


def _propose_derived(p: Proposal, sample: list[dict]) -> None:
    if p.entity != "transaction":
        return
    if "revenue" not in p.columns and {"quantity", "unit_price"} <= set(p.columns):
        p.derive["revenue"] = "quantity * unit_price"
        p.notes.append("revenue is derived: quantity * unit_price (no amount column found)")
    if "is_return" not in p.columns and "quantity" in p.columns:
        order = p.columns.get("order_id")
        c_invoices = order and any(str(r.get(order) or "").upper().startswith("C") for r in sample)
        if c_invoices:
            p.derive["is_return"] = "order_id startswith 'C' or quantity < 0"
            p.notes.append(
                "is_return is derived: invoices starting with 'C' (cancellations) "
                "or negative quantities"
            )
        else:
            p.derive["is_return"] = "quantity < 0"
            p.notes.append("is_return is derived: negative quantities are returns")
    if "source_customer_id" in p.columns:
        p.notes.append("rows without a customer id are kept as anonymous sales")


def describe_proposal(proposal: Proposal) -> str:
    """The proposal as text for the user to confirm."""
    lines = [f"entity: {proposal.entity}"]
    width = max((len(k) for k in proposal.columns), default=0)
    for canon, src in proposal.columns.items():
        lines.append(f"  {canon:<{width}} <- {src}")
    for target, expr in proposal.derive.items():
        lines.append(f"  {target:<{width}} =  {expr}")
    lines.extend(f"note: {n}" for n in proposal.notes)
    return "\n".join(lines)


def source_name_for(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", ".csv", ".txt", ".tsv", ".xlsx", ".parquet", ".jsonl", ".json"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    name = re.sub(r"[^0-9a-z]+", "_", name_key_keep_sep(stem)).strip("_")
    return name or "source"


def name_key_keep_sep(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def init_project(
    directory: Path, from_file: Path | None = None, notes: list[str] | None = None
) -> Path:
    """Write ``DIR/prisme.toml`` with the default engine section and, given ``from_file``,
    one source whose format is sniffed and whose mapping is proposed. Human-readable notes
    (what was guessed, what to check) are appended to ``notes`` when given. An existing
    prisme.toml keeps its sources; the new one is added. Returns the path written."""
    directory = Path(directory)
    notes = notes if notes is not None else []
    settings = load_settings(directory) if (directory / CONFIG_FILE).exists() else Settings()
    settings.project.name = (
        settings.project.name
        if settings.project.name != "prisme"
        else (directory.resolve().name or "prisme")
    )
    if from_file is not None:
        fresh = not settings.sources
        name, source, proposal, fmt_notes = propose_source(Path(from_file), directory)
        settings.sources[name] = source
        notes.extend(fmt_notes)
        if fresh and proposal.country and proposal.country != settings.project.default_country:
            settings.project.default_country = proposal.country
            notes.append(f"default_country = {proposal.country!r}: from the data")
        if fresh and proposal.currency and proposal.currency != settings.project.currency:
            settings.project.currency = proposal.currency
            notes.append(f"currency = {proposal.currency!r}: from the data")
        notes.append(
            f"proposed mapping for source {name!r}:\n    "
            + describe_proposal(proposal).replace("\n", "\n    ")
        )
        notes.append(f"check the mapping in {directory / CONFIG_FILE}, then run: prisme ingest")
    return save_settings(settings, directory)


def propose_source(path: Path, project: Path) -> tuple[str, SourceSettings, Proposal, list[str]]:
    """A source for one file: format sniffed (text files) and mapping proposed."""
    from prisme.ingest.readers import file_format

    rel = _relative(path, project)
    probe = SourceSettings(entity="customer", path=str(rel))
    kind = file_format(probe, path)
    notes: list[str] = []
    fmt: dict = {}
    if kind == "csv":
        from prisme.ingest.sniff import sniff

        guess = sniff(path)
        columns, sample, notes = guess.columns, guess.sample, list(guess.notes)
        fmt = {
            "separator": guess.separator,
            "encoding": guess.encoding,
            "decimal": guess.decimal,
            "thousands": guess.thousands,
            "date_format": guess.date_format,
        }
    else:
        columns, sample = _typed_header(path, kind)
    proposal = propose_mapping(columns, sample)
    locale_from_data(proposal, sample, columns)
    name = source_name_for(path)
    constants = {"source": name} if "source" in ENTITIES[proposal.entity].required else {}
    source = SourceSettings(
        entity=proposal.entity,
        path=str(rel),
        format=None if kind == "csv" else kind,
        columns=proposal.columns,
        derive=proposal.derive,
        constants=constants,
        **{k: v for k, v in fmt.items() if v is not None},
    )
    return name, source, proposal, notes


def _relative(path: Path, project: Path) -> Path:
    """The path as prisme.toml writes it: relative inside the project, absolute outside."""
    path, project = Path(path).resolve(), Path(project).resolve()
    try:
        return path.relative_to(project)
    except ValueError:  # a file outside the project stays where it is
        return path


def _typed_header(path: Path, kind: str) -> tuple[list[str], list[dict]]:
    """Column names and a few rows of an xlsx / parquet / jsonl file."""
    from prisme.engine import connect
    from prisme.ingest.readers import read_file

    probe = SourceSettings(entity="customer", path=str(path), format=kind)
    with connect() as eng:
        raw = read_file(eng, "probe", probe, path, table="raw_probe_0")
        df = eng.to_pandas(raw.table.limit(50))
    df = df.drop(columns=["__line"])
    return list(df.columns), df.astype(object).where(df.notna(), None).to_dict("records")
