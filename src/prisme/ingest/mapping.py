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


def _match(columns: list[str], entity: str) -> dict[str, str]:
    """Canonical → source column for one entity: exact synonym matches, earliest synonym
    first, each source column used once; then names that start with a synonym of at least
    six letters ('Recommandation (0-10)' → nps)."""
    keys = {c: name_key(c) for c in columns}
    wanted = list(ENTITIES[entity].names) + list(HELPERS.get(entity, {}))
    synonyms = {c: [name_key(c)] + SYNONYMS.get(c, []) for c in wanted}
    taken: set[str] = set()
    out: dict[str, str] = {}

    def claim(rank: int, test) -> None:
        for canon in wanted:
            if canon in out or rank >= len(synonyms[canon]):
                continue
            for col in columns:
                if col not in taken and test(keys[col], synonyms[canon][rank]):
                    out[canon] = col
                    taken.add(col)
                    break

    def exact(key: str, syn: str) -> bool:
        return key == syn

    def prefix(key: str, syn: str) -> bool:
        return len(syn) >= 6 and key.startswith(syn)

    ranks = max(len(v) for v in synonyms.values())
    for test in (exact, prefix):
        for rank in range(ranks):
            claim(rank, test)
    return out


def _score(entity: str, matched: dict[str, str]) -> float:
    """Required columns covered count 1 each, other recognised columns ½, a required column
    missing −½: a file is the entity it describes most of, not merely one whose single
    required column it happens to have (every sales file has a customer id)."""
    ent = ENTITIES[entity]
    required = [c for c in ent.required if c != "source"]  # `source` is a constant
    covered = sum(1 for c in required if c in matched or _derivable(entity, c, matched))
    optional = sum(1 for c in matched if c in ent.names and c not in required)
    return covered + 0.5 * optional - 0.5 * (len(required) - covered)


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
    scored = {e: (_score(e, m), m) for e in ENTITIES for m in [_match(columns, e)]}
    best = max(scored, key=lambda e: scored[e][0])
    matched = scored[best][1]
    proposal = Proposal(
        entity=best,
        columns=matched,
        unmapped=[c for c in columns if c not in matched.values()],
        scores={e: s[0] for e, s in scored.items()},
    )
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
    if missing:
        proposal.notes.append(
            f"no column found for required {best} column(s) {', '.join(missing)}: "
            "map them by hand in [sources.<name>.columns] or declare them in constants/derive"
        )
    if proposal.unmapped:
        proposal.notes.append(
            "not mapped (ignored unless you map them): " + ", ".join(proposal.unmapped)
        )
    return proposal


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
        name, source, proposal, fmt_notes = propose_source(Path(from_file), directory)
        settings.sources[name] = source
        notes.extend(fmt_notes)
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
