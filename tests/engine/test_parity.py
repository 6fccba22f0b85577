"""One logic, two engines: the demo company built on DuckDB and on Spark gives the same answers.

The company (2,000 customers) is generated once; two copies of its project folder differ only
by ``[engine] backend`` in ``prisme.toml``. Each runs ``prisme ingest`` and ``prisme build``
from the CLI, then the warehouses are read back through
``prisme.engine.connect(load_settings(DIR), read_only=True)`` and compared: the same
``party_map`` partition, the same ``customer_360`` (money in cents, probabilities to 1e-9,
segments and clusters equal) and the same marts.
"""

from __future__ import annotations

import shutil
import tomllib

import numpy as np
import pandas as pd
import pytest
import tomli_w
from typer.testing import CliRunner

from prisme import engine as engine_mod
from prisme.cli import app
from prisme.config import load_settings

pytestmark = pytest.mark.spark

CUSTOMERS = 2_000
SEED = 5
#: columns compared in cents (money) rather than to 1e-9 (``quality_audit.value`` is a share,
#: a count of days or a score: to 1e-9)
MONEY = ("revenue", "margin", "clv", "monetary", "spend", "amount", "basket")


@pytest.fixture(scope="module")
def projects(tmp_path_factory, spark_session):
    from prisme.demo import generate

    company = tmp_path_factory.mktemp("parity") / "company"
    generate(customers=CUSTOMERS, seed=SEED, directory=company)
    out = {}
    runner = CliRunner()
    for backend in ("duckdb", "spark"):
        d = company.parent / backend
        shutil.copytree(company, d)
        conf = tomllib.loads((d / "prisme.toml").read_text(encoding="utf-8"))
        conf.setdefault("engine", {}).update(backend=backend, shuffle_partitions=2)
        (d / "prisme.toml").write_text(tomli_w.dumps(conf), encoding="utf-8")
        for command in ("ingest", "build"):
            result = runner.invoke(app, [command, "--project", str(d)])
            assert result.exit_code == 0, f"prisme {command} on {backend}:\n{result.output}"
        out[backend] = d
    return out


def read(project, table: str) -> pd.DataFrame:
    with engine_mod.connect(load_settings(project), read_only=True) as eng:
        return eng.to_pandas(eng.table(table))


def test_the_spark_project_is_a_spark_warehouse(projects):
    assert (projects["spark"] / "spark-warehouse" / "_prisme_manifest.json").exists()
    assert not (projects["spark"] / "warehouse.duckdb").exists()


def partition(party_map: pd.DataFrame) -> set[frozenset]:
    keys = party_map.source + "\x1f" + party_map.source_customer_id
    return {frozenset(g) for _, g in keys.groupby(party_map.party_id)}


def test_same_party_map_partition(projects):
    duck, spark = read(projects["duckdb"], "party_map"), read(projects["spark"], "party_map")
    assert len(duck) == len(spark) > CUSTOMERS * 0.9
    assert partition(duck) == partition(spark)
    both = duck.merge(spark, on=["source", "source_customer_id"], suffixes=("_d", "_s"))
    assert np.allclose(both.match_probability_d.fillna(-1), both.match_probability_s.fillna(-1),
                       atol=1e-9)


def _party_key(project) -> pd.Series:
    """party_id → its smallest record key (the same on both engines if the partition is)."""
    pm = read(project, "party_map")
    keys = pm.source + "\x1f" + pm.source_customer_id
    return keys.groupby(pm.party_id).min()


def assert_same_frame(duck: pd.DataFrame, spark: pd.DataFrame, key: list[str], what: str):
    assert sorted(duck.columns) == sorted(spark.columns), what
    assert len(duck) == len(spark), what
    d = duck.sort_values(key).reset_index(drop=True)
    s = spark[d.columns].sort_values(key).reset_index(drop=True)
    for col in d.columns:
        a, b = d[col], s[col]
        if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
            a, b = a.astype(float), b.astype(float)
            assert (a.isna() == b.isna()).all(), f"{what}.{col}: NULLs differ"
            if any(m in col for m in MONEY):
                assert (np.round(a[a.notna()] * 100) == np.round(b[b.notna()] * 100)).all(), \
                    f"{what}.{col}: amounts differ by a cent or more"
            else:
                assert np.allclose(a[a.notna()], b[b.notna()], rtol=0, atol=1e-9), \
                    f"{what}.{col}: values differ by more than 1e-9"
        elif pd.api.types.is_datetime64_any_dtype(a):
            assert (pd.to_datetime(a).fillna(pd.Timestamp(0)).values
                    == pd.to_datetime(b).fillna(pd.Timestamp(0)).values).all(), f"{what}.{col}"
        else:
            norm = [_plain(v) for v in a], [_plain(v) for v in b]
            assert norm[0] == norm[1], f"{what}.{col}: values differ"


def _plain(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (list, tuple, np.ndarray)):
        return tuple(_plain(x) for x in v)
    return v


def _with_record_key(project, table: str) -> pd.DataFrame:
    df = read(project, table)
    df["party_id"] = df.party_id.map(_party_key(project))
    return df


def test_same_customer_360(projects):
    duck = _with_record_key(projects["duckdb"], "customer_360")
    spark = _with_record_key(projects["spark"], "customer_360")
    for col in ("rfm_segment", "cluster", "p_alive", "clv_12m", "clv_12m_low", "clv_12m_high",
                "expected_purchases_12m"):
        assert col in duck.columns
    assert_same_frame(duck, spark, ["party_id"], "customer_360")


def _clock_free(audit: pd.DataFrame) -> pd.DataFrame:
    """``quality_audit`` without the clock of the build that wrote it.

    Freshness is measured against each warehouse's own load and audit times (``loaded_at``,
    ``audited_at``: minutes apart for the two builds). Each age is turned back into what it
    measures, which is the same on every engine: the latest record's instant (audit time or
    load time minus the age), and the load's age at the audit minus the time between its two
    stamps (0). The freshness component must be its documented function of the load's own
    record lag (0 left), and the score the same once that component's share is taken out.
    The details of the freshness rows only print these ages and the audit time."""
    from prisme.analytics.quality import FRESH_DAYS, STALE_DAYS, WEIGHTS

    q = audit.copy()
    day = pd.Timedelta(days=1)

    def ms(ts: pd.Series) -> pd.Series:  # an instant or a duration, in seconds to the ms
        return np.round((ts - pd.Timestamp(0) if ts.dtype.kind == "M" else ts)
                        .dt.total_seconds(), 3)

    fresh = q.check == "freshness"
    lag = q[fresh & (q.field == "record_lag_at_load")].set_index("source").value
    age = q.value.astype(float) * day
    rows = fresh & (q.field == "days_since_load")
    q.loc[rows, "value"] = ms(q.audited_at[rows] - age[rows] - q.loaded_at[rows])
    rows = fresh & (q.field == "days_since_latest_record")
    q.loc[rows, "value"] = ms(q.audited_at[rows] - age[rows])
    rows = fresh & (q.field == "record_lag_at_load")
    q.loc[rows, "value"] = ms(q.loaded_at[rows] - age[rows])
    q.loc[fresh, "detail"] = None
    comp = q.check == "score_component"
    own = q.source.map(lag).astype(float)
    f = 100 * np.clip(1 - (np.maximum(own, 0) - FRESH_DAYS) / (STALE_DAYS - FRESH_DAYS), 0, 1)
    part = q[comp & (q.field == "freshness")].set_index("source").value
    used = q[comp & q.value.notna()].groupby("source").field.agg(
        lambda k: sum(WEIGHTS[c] for c in k))
    rows = comp & (q.field == "freshness")
    q.loc[rows, "value"] = q.value[rows] - f[rows]
    rows = q.check == "score"
    q.loc[rows, "value"] = q.value[rows] - (WEIGHTS["freshness"] * q.source.map(part)
                                            / q.source.map(used))[rows]
    return q


@pytest.mark.parametrize("mart", ["mart_rfm_segments", "mart_clusters", "quality_audit"])
def test_same_marts(projects, mart):
    duck, spark = read(projects["duckdb"], mart), read(projects["spark"], mart)
    if mart == "quality_audit":
        duck, spark = _clock_free(duck), _clock_free(spark)
    # when it was built differs, and so do the ids each warehouse gives its own loads
    drop = [c for c in duck.columns if c.endswith("_at") or c == "load_id"]
    duck, spark = duck.drop(columns=drop), spark.drop(columns=drop)
    key = [c for c in duck.columns if not pd.api.types.is_float_dtype(duck[c])]
    assert_same_frame(duck, spark, key, mart)


def _records(n_people: int, twice: int, seed: int = 3) -> pd.DataFrame:
    """``n_people`` distinct people; the first ``twice`` of them also in a second source,
    with a typo in the last name and no e-mail."""
    rng = np.random.default_rng(seed)
    first = rng.choice(["Jean", "Marie", "Pierre", "Julie", "Lucas", "Emma", "Hugo", "Léa"],
                       n_people)
    last = rng.choice(["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit"], n_people)
    rows = []
    for i in range(n_people):
        for c in range(2 if i < twice else 1):
            name = last[i] if not c else last[i][:-1] + last[i][-1].upper()
            rows.append({
                "first_name": first[i], "last_name": name,
                "email": None if c else f"{first[i].lower()}.{last[i].lower()}{i}@mail{i % 7}.fr",
                "phone": f"06{10_000_000 + i * 7919 % 90_000_000:08d}",
                "birth_date": f"{1940 + i % 60}-{1 + (i + i // 60) % 12:02d}-{1 + i * 7 % 28:02d}",
                "address_line": f"{1 + i} rue des Lilas", "postal_code": f"{75001 + i % 20}",
                "city": "Paris", "country": "FR",
                "source": f"s{c}", "source_customer_id": f"{i}-{c}", "record_id": f"r{i:04d}{c}",
            })
    return pd.DataFrame(rows)


def test_identity_model_is_the_same_on_both_engines(tmp_path, spark_session):
    """More records than the u sample (~775 rows for 3e5 pairs): the sampled rows, hence u,
    the weights and every probability, must not depend on the engine (Splink's own sampler
    hashes the record ids with the engine's hash function, which differs)."""
    from prisme.config import Settings
    from prisme.identity import resolve

    df = _records(1_000, 300)
    out = {}
    for backend in ("duckdb", "spark"):
        s = Settings()
        s.engine.backend = backend
        s.engine.shuffle_partitions = 2
        s.root = tmp_path / backend
        s.root.mkdir()
        with engine_mod.connect(s) as eng:
            out[backend] = resolve(df, engine=eng)
    duck, spark = out["duckdb"], out["spark"]
    assert duck.party_id.tolist() == spark.party_id.tolist()
    assert np.allclose(duck.match_probability, spark.match_probability, rtol=0, atol=1e-9)
