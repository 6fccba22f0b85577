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
#: columns compared in cents (money) rather than to 1e-9
MONEY = ("revenue", "margin", "clv", "monetary", "spend", "value", "amount", "basket")


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


@pytest.mark.parametrize("mart", ["mart_rfm_segments", "mart_clusters", "quality_audit"])
def test_same_marts(projects, mart):
    duck, spark = read(projects["duckdb"], mart), read(projects["spark"], mart)
    key = [c for c in duck.columns if duck[c].dtype == object or c in ("cluster",)][:3] or \
        list(duck.columns[:1])
    drop = [c for c in duck.columns if c.endswith("_at")]  # when it was built differs
    assert_same_frame(duck.drop(columns=drop), spark.drop(columns=drop), key, mart)
