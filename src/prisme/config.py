"""Project configuration: the ``prisme.toml`` file of a project folder.

A project is a folder holding ``prisme.toml`` (what the sources are and how they map onto the
canonical customer model of DESIGN §2), the warehouse (``warehouse.duckdb`` on the default
engine) and whatever files the sources point to. Every command takes ``--project DIR``.

The file is read into pydantic models so that a typo in a key gives a message naming the key
and the file, instead of a silent default.

Example::

    [project]
    name = "acme"
    currency = "EUR"          # amounts are converted to this currency
    default_country = "FR"    # for phone numbers and addresses without a country
    language = "en"           # en | fr: reports and the churn reasons written back

    [engine]
    backend = "duckdb"        # or "spark" (extra), whatever Ibis reaches
    path = "warehouse.duckdb"
    memory_limit = "4.5GB"
    threads = 2

    [sources.crm_customers]
    entity = "customer"
    path = "sources/crm/clients_*.csv"      # a glob, relative to the project folder
    separator = ";"                          # sniffed when not given
    decimal = ","
    date_format = "%d/%m/%Y"
    encoding = "latin-1"
    [sources.crm_customers.columns]          # canonical name = source column
    source_customer_id = "N° client"
    last_name = "Nom"
    [sources.crm_customers.derive]           # declared, not coded
    revenue = "quantity * unit_price"
    [sources.crm_customers.constants]
    source = "crm"

A source read from a database uses ``url`` (``postgresql://…`` or ``mysql://…``) with
``table`` or ``query``, and ``watermark`` (a column, usually ``updated_at``) for incremental loads.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIG_FILE = "prisme.toml"


class ConfigError(ValueError):
    """A ``prisme.toml`` that cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectSettings(_Strict):
    name: str = "prisme"
    currency: str = "EUR"
    #: the language of what Prisme writes for people outside the application (the churn
    #: reasons written back to the CRM): "en" or "fr" (the pages follow each user's setting)
    language: Literal["en", "fr"] = "en"
    default_country: str = "FR"
    #: fixed conversion rates to ``currency`` (e.g. {"GBP": 1.17}); an amount in a currency
    #: with no rate is quarantined rather than summed with the others.
    exchange_rates: dict[str, float] = Field(default_factory=dict)


class EngineSettings(_Strict):
    backend: Literal["duckdb", "spark"] = "duckdb"
    path: str = "warehouse.duckdb"
    #: DuckDB's default (80 % of RAM) let a 1M-record Splink run reach 18.7 GiB here; 4.5GB
    #: (4.1 GiB) keeps the 1M chain's scores and serving steps near 7.2 GiB (bench/RESULTS.md).
    memory_limit: str = "4.5GB"
    threads: int = 2
    #: threads of each query of ``prisme serve`` (its read-only engines); None: ``threads``.
    #: A request is a small query and the server runs requests side by side, so one thread
    #: per query spends no CPU on splitting and merging (see bench/RESULTS.md).
    serve_threads: int | None = 1
    #: requests one ``prisme serve`` worker works on at once (its thread pool); the others
    #: wait their turn in the event loop. Python runs one thread at a time, so 20 threads
    #: for 20 clients only pass the interpreter lock around (see bench/RESULTS.md).
    serve_requests: int = 4
    #: read the per-customer serving marts (the card, the search) into the engine's cache
    #: when a server starts serving a published version, in the background: each new
    #: customer's card then costs no block read from the file (memory: about their size)
    serve_prewarm: bool = True
    #: seconds a second load waits for the first to finish before it is refused.
    lock_timeout_s: float = 30.0
    temp_directory: str | None = None
    # --- Spark (backend = "spark") ---
    #: the Spark master: ``local[2]`` (this machine, two cores) or a cluster's URL
    master: str = "local[2]"
    #: where the Spark backend keeps its tables (Parquet) and its commit journal
    warehouse_dir: str = "spark-warehouse"
    #: ``spark.sql.shuffle.partitions``: low on one machine, ~2-3x the cores on a cluster
    shuffle_partitions: int = 4
    #: memory of the Spark driver (local mode: the whole engine) when Prisme starts it
    driver_memory: str = "4g"
    #: ``spark.sql.codegen.wholeStage``: Spark compiles each stage to JVM bytecode, which pays
    #: on large data; on small data in many small jobs (a test suite, a demo company of a few
    #: thousand customers) compiling costs more than it saves (bench/RESULTS.md)
    spark_codegen: bool = True


class JoinSettings(_Strict):
    """Another file of the same export joined to each line of the source
    (``[sources.X.join.NAME]``); its columns are referred to as ``NAME.column``."""

    path: str
    #: the key column(s), named the same in both files, or ``{main column = joined column}``
    on: str | list[str] | dict[str, str]
    #: an unmatched line is kept with empty values instead of quarantined
    optional: bool = False
    separator: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    format: Literal["csv", "xlsx", "parquet", "jsonl"] | None = None

    def pairs(self) -> list[tuple[str, str]]:
        """(main file column, joined file column) pairs."""
        if isinstance(self.on, dict):
            return list(self.on.items())
        keys = [self.on] if isinstance(self.on, str) else list(self.on)
        return [(k, k) for k in keys]


class StatusSettings(_Strict):
    """``[sources.X.status]``: which values of the transaction ``status`` column mean the line
    was cancelled (compared without case or surrounding spaces). Cancelled lines are loaded and
    kept, and left out of revenue, RFM, value and baskets (``warehouse.core.active_sales``)."""

    cancelled: list[str] = Field(default_factory=list)


class SourceSettings(_Strict):
    entity: Literal[
        "customer",
        "product",
        "transaction",
        "web_session",
        "call",
        "campaign",
        "campaign_contact",
        "survey",
        "ad_spend",
    ]
    # --- where: a file glob, or a database table / query ---
    path: str | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    watermark: str | None = None
    # --- format (sniffed when absent) ---
    format: Literal["csv", "xlsx", "parquet", "jsonl"] | None = None
    separator: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    date_format: str | None = None
    encoding: str | None = None
    header: bool = True
    sheet: str | None = None
    skip_rows: int = 0
    # --- mapping ---
    columns: dict[str, str] = Field(default_factory=dict)
    derive: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    #: source-specific rules, e.g. {"is_return": "order_id startswith 'C'"}
    currency: str | None = None
    #: trust rank of this source for survivorship (lower wins)
    trust: int = 100
    #: other files of the same export joined to each line: ``[sources.X.join.NAME]``
    join: dict[str, JoinSettings] = Field(default_factory=dict)
    #: transaction status values that mean "cancelled"
    status: StatusSettings | None = None
    #: plausible window of dates: earlier (the company did not exist) or later than the load
    #: by more than ``max_future_days`` is quarantined
    min_date: str = "1900-01-01"
    max_future_days: int = 1

    @model_validator(mode="after")
    def _one_location(self) -> SourceSettings:
        if not self.path and not self.url:
            raise ValueError("a source needs `path` (a file glob) or `url` (a database)")
        if self.url and not (self.table or self.query):
            raise ValueError("a database source needs `table` or `query`")
        return self


class IdentitySettings(_Strict):
    #: pairs scored at or above this probability are linked (0.8: best F1 on the demo company
    #: at 20k and 100k records, bench/RESULTS.md; the household guard keeps precision)
    match_threshold: float = 0.8
    #: how many candidate pairs a blocking rule may produce before it is refused
    max_pairs: int = 50_000_000
    #: e-mails / phones too common to identify anybody (placeholders) are ignored when more
    #: than this many records share them
    placeholder_min_count: int = 20
    overrides_file: str | None = "overrides.csv"
    #: extra columns of the customer records that identify a person across systems (national
    #: id, loyalty card number): compared exactly or within one typo, and used for blocking
    identifier_columns: list[str] = Field(default_factory=list)
    #: the household guard (different people at one address are never one party): "auto"
    #: applies it when the list shows households (see prisme.identity.resolve.households_in),
    #: "on" always, "off" never (a list of individuals: a registry, a panel)
    household_guard: Literal["auto", "on", "off"] = "auto"


class SurvivorshipSettings(_Strict):
    #: default rule for every field: "trusted" (source trust order), "recent", "complete"
    default: Literal["trusted", "recent", "complete"] = "trusted"
    #: per-field rule, e.g. {"email": "recent", "address_line": "recent"}
    fields: dict[str, Literal["trusted", "recent", "complete"]] = Field(default_factory=dict)


class AnalyticsSettings(_Strict):
    #: time unit of the purchase models
    time_unit: Literal["day", "week"] = "week"
    clv_horizon_months: int = 12
    annual_discount_rate: float = 0.10
    #: use margin (revenue - cost) for CLV when cost is known
    use_margin: bool = True
    #: the purchase model behind P(alive) and CLV: "auto" fits Pareto/NBD and the repeat-rate
    #: model (both let a one-time buyer's P(alive) fall with time) and keeps the usable one
    #: with the lowest BIC; "paretonbd", "bgnbd" or "repeat_rate" ask for one (if it cannot be
    #: used the build says why and chooses as "auto" does). See prisme.analytics.clv.
    purchase_model: Literal["auto", "paretonbd", "bgnbd", "repeat_rate", "pareto_nbd",
                            "bg_nbd"] = "auto"
    #: L2 penalty on the purchase and spend models' parameters (0: plain maximum likelihood)
    penalizer_coef: float = Field(default=0.0, ge=0.0)
    clusters_max_k: int = 8
    #: parameter draws behind the CLV interval (clv_12m_low / clv_12m_high)
    clv_interval_draws: int = 200
    seed: int = 7
    #: churn: a buyer has left when they make no purchase within this many days of a cut-off
    churn_horizon_days: int = 180
    #: churn: past cut-offs the model is trained on (one horizon apart, oldest first)
    churn_cutoffs: int = 3
    #: churn: the customers scored are those who bought within this many days of the cut-off
    churn_active_days: int = 365
    #: churn: the model is fitted on at most this many (customer, cut-off) rows — beyond it a
    #: seeded sample stratified on the label (a gradient-boosting churn model gains nothing
    #: measurable past a few hundred thousand rows; fitting on all of a 1M-customer company's
    #: 2M rows cost minutes). Scoring and the evaluation always use every customer.
    churn_training_rows: int = Field(default=250_000, ge=1_000)


class Settings(_Strict):
    project: ProjectSettings = Field(default_factory=ProjectSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    survivorship: SurvivorshipSettings = Field(default_factory=SurvivorshipSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)

    #: the folder the file was read from (not written back)
    root: Path = Field(default=Path("."), exclude=True)

    def resolve(self, relative: str | Path) -> Path:
        """A path from the config, made absolute against the project folder."""
        p = Path(relative)
        return p if p.is_absolute() else (self.root / p)

    @property
    def warehouse_path(self) -> Path:
        """The warehouse: the DuckDB file (``[engine] path``), or the Spark warehouse
        directory (``[engine] warehouse_dir``); published states and the lock sit beside it."""
        if self.engine.backend == "spark":
            return self.resolve(self.engine.warehouse_dir)
        return self.resolve(self.engine.path)


def load_settings(project: str | Path = ".", *, require: bool = False) -> Settings:
    """Read ``DIR/prisme.toml``; a project without one gets the defaults, unless ``require``
    (the commands that work on an existing project), which raises :class:`ConfigError`."""
    root = Path(project).resolve()
    file = root / CONFIG_FILE
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    elif require:
        raise ConfigError(
            f"{root} is not a Prisme project: it has no {CONFIG_FILE} "
            f"(create one with `prisme init {project}`, or give --project DIR)"
        )
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{file}: invalid settings\n" + "\n".join(_explain(exc))) from exc
    settings.root = root
    problems = check_names(settings)
    if problems:
        raise ConfigError(f"{file}: invalid settings\n" + "\n".join(f"  {p}" for p in problems))
    return settings


def _section(loc: tuple) -> str:
    return "[" + ".".join(str(p) for p in loc) + "]" if loc else "the top level"


def _explain(exc: ValidationError) -> list[str]:
    """One line per problem, naming the key and its section (an unknown key once, with the
    keys that section accepts)."""
    import difflib

    lines: list[str] = []
    seen: set[tuple] = set()
    for err in exc.errors():
        loc = tuple(err["loc"])
        if loc in seen:
            continue
        seen.add(loc)
        if err["type"] == "extra_forbidden":
            *where, key = loc
            allowed = _allowed_keys(tuple(where))
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            lines.append(
                f"  unknown key {key!r} in {_section(tuple(where))}"
                + (f" — did you mean {hint[0]!r}?" if hint else "")
                + (f" (allowed: {', '.join(allowed)})" if allowed else "")
            )
        else:
            *where, key = loc or ("",)
            lines.append(f"  {key!r} in {_section(tuple(where))}: {err['msg']}")
    return lines


def _allowed_keys(where: tuple) -> list[str]:
    """The keys the model at ``where`` (a path of section names) accepts."""
    model: type[BaseModel] | None = Settings
    path = list(where)
    while path and model is not None:
        part = path.pop(0)
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        if getattr(ann, "__origin__", None) is dict and args:  # dict[str, Model]: a name
            if path:
                path.pop(0)
            model = _model_in(args[-1])
            continue
        model = _model_in(ann)
    return [k for k in (model.model_fields if model else {}) if k != "root"]


def _model_in(ann) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in getattr(ann, "__args__", ()):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
    return None


def check_names(settings: Settings) -> list[str]:
    """Names the configuration refers to that cannot be right, each with where it is: mapped
    columns, constants and derived targets of each source, join prefixes, a status section on
    a non-transaction source, ``[identity] identifier_columns`` no customer source maps."""
    from prisme.warehouse.schema import ENTITIES

    problems: list[str] = []
    customer_columns = set(ENTITIES["customer"].names)
    for name, src in settings.sources.items():
        entity = ENTITIES[src.entity]
        where = f"[sources.{name}"
        for canon in src.columns:
            if "." in canon:
                problems.append(f"{where}.columns] {canon!r}: a canonical or attribute name has "
                                "no '.'; a joined file's column goes on the right-hand side "
                                "(e.g. source_customer_id = \"orders.customer_id\")")
        for key in src.constants:
            if key not in entity.names:
                problems.append(f"{where}.constants] {key!r} is not a column of {entity.name} "
                                f"(expected one of {', '.join(entity.names)})")
        for key in src.derive:
            if key not in entity.names and key not in src.columns:
                problems.append(f"{where}.derive] {key!r} is not a column of {entity.name} "
                                f"(expected one of {', '.join(entity.names)})")
        if src.status is not None and src.entity != "transaction":
            problems.append(f"{where}.status] only a transaction source has a status "
                            f"(this source's entity is {src.entity})")
        if src.status is not None and "status" not in src.columns:
            problems.append(f"{where}.status] lists cancelled values but [sources.{name}.columns] "
                            "maps no `status` column")
        for jname, join in src.join.items():
            if not join.pairs():
                problems.append(f"{where}.join.{jname}] `on` names no key column")
        if src.entity == "customer":
            customer_columns |= set(src.columns)
    for col in settings.identity.identifier_columns:
        if col not in customer_columns:
            problems.append(
                f"[identity] identifier_columns names {col!r}, which no customer source maps; "
                f"map it under [sources.<customer source>.columns] (e.g. {col} = \"<file column>\")"
            )
    return problems


def save_settings(settings: Settings, project: str | Path | None = None) -> Path:
    """Write ``prisme.toml`` (without defaults-only sections) and return its path."""
    root = Path(project).resolve() if project is not None else settings.root
    root.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(mode="json", exclude_none=True, exclude={"root"})
    file = root / CONFIG_FILE
    file.write_text(tomli_w.dumps(data), encoding="utf-8")
    return file
