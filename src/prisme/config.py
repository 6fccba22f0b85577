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

    [engine]
    backend = "duckdb"        # or "spark" (extra), whatever Ibis reaches
    path = "warehouse.duckdb"
    memory_limit = "6GB"
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
    default_country: str = "FR"
    #: fixed conversion rates to ``currency`` (e.g. {"GBP": 1.17}); an amount in a currency
    #: with no rate is quarantined rather than summed with the others.
    exchange_rates: dict[str, float] = Field(default_factory=dict)


class EngineSettings(_Strict):
    backend: Literal["duckdb", "spark"] = "duckdb"
    path: str = "warehouse.duckdb"
    #: DuckDB's default (80 % of RAM) let a 1M-record Splink run reach 18.7 GiB here.
    memory_limit: str = "6GB"
    threads: int = 2
    #: seconds a second load waits for the first to finish before it is refused.
    lock_timeout_s: float = 30.0
    temp_directory: str | None = None


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
        return self.resolve(self.engine.path)


def load_settings(project: str | Path = ".") -> Settings:
    """Read ``DIR/prisme.toml``; a project without one gets the defaults."""
    root = Path(project).resolve()
    file = root / CONFIG_FILE
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            lines.append(f"  [{where}] {err['msg']}")
        raise ConfigError(f"{file}: invalid settings\n" + "\n".join(lines)) from exc
    settings.root = root
    return settings


def save_settings(settings: Settings, project: str | Path | None = None) -> Path:
    """Write ``prisme.toml`` (without defaults-only sections) and return its path."""
    root = Path(project).resolve() if project is not None else settings.root
    root.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(mode="json", exclude_none=True, exclude={"root"})
    file = root / CONFIG_FILE
    file.write_text(tomli_w.dumps(data), encoding="utf-8")
    return file
