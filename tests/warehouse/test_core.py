"""Core layer: tables created once, facts appended, dimensions versioned without updates."""

from __future__ import annotations

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

from prisme import engine as engine_mod
from prisme.config import Settings, SourceSettings
from prisme.ingest.load import load_raw, raw_input_from_frame
from prisme.warehouse import ensure_tables, versions_table
from prisme.warehouse.schema import ENTITIES

CUSTOMERS = SourceSettings(
    entity="customer", path="clients.csv", constants={"source": "crm"},
    columns={"source_customer_id": "id", "last_name": "nom", "city": "ville"},
)


def load_customers(engine, settings, rows):
    frame = pd.DataFrame(rows, columns=["id", "nom", "ville"])
    return load_raw(engine, settings, "crm", raw_input_from_frame(engine, "crm", frame))


def test_ensure_tables_creates_every_core_table_once(engine):
    ensure_tables(engine)
    ensure_tables(engine)  # idempotent
    tables = set(engine.list_tables())
    for entity in ENTITIES.values():
        assert entity.table in tables
        if entity.versioned:
            assert versions_table(entity) in tables
    assert {"load_batches", "quarantine"} <= tables
    sales = engine.table("fact_sales").schema()
    assert str(sales["revenue"]) == "decimal(18, 4)"
    assert {"load_id", "loaded_at", "source_line"} <= set(sales.names)
    dim = engine.table("dim_customer").schema()
    assert {"valid_from", "valid_to", "is_current"} <= set(dim.names)


def test_ensure_tables_creates_only_what_is_missing_and_keeps_the_data(engine, settings):
    settings.sources["crm"] = CUSTOMERS
    load_customers(engine, settings, [["1", "Martin", "Lyon"]])
    engine.drop_view("dim_customer")
    engine.drop_view("fact_calls")  # the public fact tables are views (without superseded loads)
    ensure_tables(engine)  # one catalog query, then the missing ones in one batch
    tables = set(engine.list_tables())
    assert {"dim_customer", "fact_calls"} <= tables
    assert len(engine.to_pandas(engine.table("core_customer_versions"))) == 1
    dim = engine.to_pandas(engine.table("dim_customer"))
    assert dim[["source_customer_id", "city"]].values.tolist() == [["1", "Lyon"]]
    assert dim.is_current.tolist() == [True] and dim.valid_to.isna().all()
    assert len(engine.to_pandas(engine.table("load_batches"))) == 1


def test_tables_bound_without_describe_have_the_engines_schema(engine):
    """``core_table`` / ``bound_table`` skip DESCRIBE: the schema they assume must be what
    ``ensure_tables`` created (a drift would compile wrong casts)."""
    from prisme.warehouse.core import core_table
    from prisme.warehouse.schema import LOAD_BATCHES, LOAD_ISSUES, QUARANTINE

    ensure_tables(engine)
    for name, schema in (("load_batches", LOAD_BATCHES), ("quarantine", QUARANTINE),
                         ("load_issues", LOAD_ISSUES)):
        assert engine.bound_table(name, schema).schema() == engine.table(name).schema(), name
    for entity in ENTITIES.values():
        bound = core_table(engine, entity)
        assert bound.schema() == engine.table(bound.get_name()).schema(), entity.name
        assert engine.scalar(bound.count()) == 0


def test_a_changed_attribute_makes_a_new_version_and_nothing_is_rewritten(engine, settings):
    settings.sources["crm"] = CUSTOMERS
    first = load_customers(engine, settings, [["1", "Martin", "Lyon"], ["2", "Durand", "Paris"]])
    versions_before = engine.to_pandas(engine.table("core_customer_versions"))
    second = load_customers(engine, settings, [["1", "Martin", "Lille"], ["2", "Durand", "Paris"],
                                               ["3", "Petit", "Nice"]])
    assert second.rows_loaded == 3
    versions = engine.to_pandas(engine.table("core_customer_versions").order_by("loaded_at"))
    assert len(versions) == 4  # 2 + customer 1 moved + customer 3 new; customer 2 unchanged
    # the rows of the first load are still there, untouched (append-only)
    pd.testing.assert_frame_equal(
        versions.iloc[:2].reset_index(drop=True),
        versions_before.sort_values("loaded_at").reset_index(drop=True),
    )
    dim = engine.to_pandas(engine.table("dim_customer").order_by(["source_customer_id",
                                                                  "valid_from"]))
    one = dim[dim.source_customer_id == "1"]
    assert list(one.city) == ["Lyon", "Lille"]
    assert list(one.is_current) == [False, True]
    assert one.valid_to.iloc[0] == one.valid_from.iloc[1]
    assert pd.isna(one.valid_to.iloc[1])
    assert set(dim[dim.is_current].load_id) == {first.load_id, second.load_id}


def test_the_last_line_of_a_key_in_a_file_is_its_version(engine, settings):
    settings.sources["crm"] = CUSTOMERS
    r = load_customers(engine, settings, [["1", "Martin", "Lyon"], ["1", "Martin", "Lille"]])
    assert (r.rows_read, r.rows_loaded) == (2, 2)
    dim = engine.to_pandas(engine.table("dim_customer"))
    assert dim.city.tolist() == ["Lille"] and dim.is_current.all()


def test_blank_attributes_compare_equal_so_reloads_add_no_version(engine, settings):
    settings.sources["crm"] = CUSTOMERS
    load_customers(engine, settings, [["1", "Martin", None]])
    load_customers(engine, settings, [["1", "Martin", ""], ["9", "Roy", "Metz"]])
    dim = engine.to_pandas(engine.table("dim_customer"))
    assert len(dim) == 2


def test_a_list_that_changes_back_records_the_change_back(engine, settings):
    """A → B → A: the third delivery has the bytes of the first, yet it is news (found by
    the property test below); re-delivering the latest snapshot stays a no-op."""
    settings.sources["crm"] = CUSTOMERS
    first = load_customers(engine, settings, [["4", "Martin", None]])
    load_customers(engine, settings, [["4", "Martin", "Lyon"]])
    back = load_customers(engine, settings, [["4", "Martin", None]])
    again = load_customers(engine, settings, [["4", "Martin", None]])
    assert first.file_sha256 == back.file_sha256
    assert (back.status, again.status) == ("loaded", "unchanged")
    dim = engine.to_pandas(engine.table("dim_customer")).sort_values("valid_from")
    assert dim.city.isna().tolist() == [True, False, True]
    assert dim.is_current.tolist() == [False, False, True]


SNAPSHOT = st.dictionaries(
    st.sampled_from(["1", "2", "3", "4"]),
    st.tuples(st.sampled_from(["Martin", "Durand"]), st.sampled_from(["Lyon", "Paris", None])),
    min_size=1,
)


@pytest.mark.slow
@hsettings(max_examples=10, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loads=st.lists(SNAPSHOT, min_size=1, max_size=5))
def test_property_validity_intervals_never_overlap_and_follow_the_changes(loads):
    s = Settings()
    s.sources["crm"] = CUSTOMERS
    with engine_mod.connect(s, path=":memory:") as eng:
        expected_versions, current = 0, {}
        for snapshot in loads:
            rows = [[k, name, city] for k, (name, city) in sorted(snapshot.items())]
            load_customers(eng, s, rows)
            for k, attrs in snapshot.items():
                if current.get(k) != attrs:
                    expected_versions += 1
                    current[k] = attrs
        dim = eng.to_pandas(eng.table("dim_customer"))
        assert len(dim) == expected_versions
        for key, group in dim.groupby("source_customer_id"):
            g = group.sort_values("valid_from")
            assert g.is_current.sum() == 1 and bool(g.is_current.iloc[-1])
            starts, ends = g.valid_from.tolist(), g.valid_to.tolist()
            for i in range(len(g) - 1):
                assert starts[i] < starts[i + 1]
                assert ends[i] == starts[i + 1]  # contiguous, never overlapping
            assert pd.isna(ends[-1])
            latest = g.iloc[-1]
            assert (latest.last_name, latest.city if pd.notna(latest.city) else None) == \
                current[key]
