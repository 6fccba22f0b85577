"""Stable party ids: partition, idempotence, no renumbering, merges and splits recorded."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prisme import engine as engine_mod
from prisme.config import Settings
from prisme.identity import stable


@pytest.fixture(scope="module")
def mem():
    eng = engine_mod.connect(Settings(), path=":memory:")
    yield eng
    eng.close()


def clusters(labels: dict[str, str]) -> pd.DataFrame:
    keys = list(labels)
    return pd.DataFrame({
        "source": ["crm"] * len(keys),
        "source_customer_id": keys,
        "cluster": [labels[k] for k in keys],
        "match_probability": [1.0] * len(keys),
    })


def as_dict(result: stable.StableResult) -> dict[str, str]:
    pm = result.party_map
    return dict(zip(pm.source_customer_id, pm.party_id, strict=True))


def run(mem, labels, previous=None, first=1):
    prev = None if previous is None else previous.party_map
    return stable.stabilise(mem, clusters(labels), prev, first_new_number=first)


def test_first_run_numbers_parties_in_record_order(mem):
    r = run(mem, {"1": "x", "2": "x", "3": "y", "4": "z", "5": "z"})
    assert as_dict(r) == {"1": "P00000001", "2": "P00000001", "3": "P00000002",
                          "4": "P00000003", "5": "P00000003"}
    assert set(r.events.event) == {"created"}
    assert len(r.events) == 5


def test_merge_keeps_the_bigger_party_and_records_the_other(mem):
    first = run(mem, {"1": "x", "2": "x", "3": "y", "4": "z"})
    # 1, 2 (P1) and 3 (P2) are now one customer; 4 unchanged
    second = run(mem, {"1": "q", "2": "q", "3": "q", "4": "w"}, first, first=4)
    got = as_dict(second)
    assert got == {"1": "P00000001", "2": "P00000001", "3": "P00000001", "4": "P00000003"}
    assert second.merged == ["P00000002"]
    ev = second.events
    assert ev.to_dict("records") == [{
        "party_id": "P00000001", "event": "merged", "source": "crm",
        "source_customer_id": "3", "other_party_id": "P00000002", "match_probability": 1.0,
    }]


def test_merge_of_equal_parties_keeps_the_older_id(mem):
    first = run(mem, {"1": "x", "2": "y"})
    second = run(mem, {"1": "q", "2": "q"}, first, first=3)
    assert set(as_dict(second).values()) == {"P00000001"}
    assert second.merged == ["P00000002"]


def test_split_biggest_part_keeps_the_id(mem):
    first = run(mem, {"1": "x", "2": "x", "3": "x", "4": "y"})
    second = run(mem, {"1": "a", "2": "b", "3": "b", "4": "c"}, first, first=3)
    got = as_dict(second)
    assert got["2"] == got["3"] == "P00000001"
    assert got["1"] == "P00000003"  # the smaller part gets a new id
    assert got["4"] == "P00000002"
    assert second.split == ["P00000001"]
    ev = second.events
    assert ev.event.tolist() == ["split"]
    assert ev.other_party_id.tolist() == ["P00000001"]


def test_new_record_attaches_to_its_party(mem):
    first = run(mem, {"1": "x", "2": "y"})
    second = run(mem, {"1": "x2", "2": "y2", "3": "y2", "4": "n"}, first, first=3)
    got = as_dict(second)
    assert got == {"1": "P00000001", "2": "P00000002", "3": "P00000002", "4": "P00000003"}
    assert sorted(second.events.event) == ["attached", "created"]


def test_a_party_lost_to_a_bigger_cluster_falls_back_to_its_next_best():
    # greedy: P1 holds 3 records in cluster A and 2 in cluster B; P2 holds 1 in cluster B.
    pairs = pd.DataFrame({
        "cluster": ["A", "B", "B"], "cluster_key": ["k1", "k2", "k2"],
        "prev_party": ["P1", "P1", "P2"], "n": [3, 2, 1],
    })
    assert stable._greedy_matching(pairs) == {"A": "P1", "B": "P2"}


# ------------------------------------------------------------------ properties
labels = st.dictionaries(
    keys=st.integers(0, 60).map(lambda i: f"{i:03d}"),
    values=st.integers(0, 8).map(str),
    min_size=1,
    max_size=40,
)
HYP = settings(max_examples=15, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYP
@given(first=labels, second=labels)
def test_result_is_a_partition_with_unique_ids_per_cluster(mem, first, second):
    r1 = run(mem, first)
    r2 = run(mem, second, r1, first=stable.next_party_number(r1.party_map.party_id))
    for labels_, r in ((first, r1), (second, r2)):
        pm = r.party_map
        assert sorted(pm.source_customer_id) == sorted(labels_)  # every record exactly once
        # same cluster <=> same party
        pairs = set(zip(pm.source_customer_id.map(labels_), pm.party_id, strict=True))
        assert len(pairs) == len({c for c, _ in pairs}) == len({p for _, p in pairs})


@HYP
@given(first=labels)
def test_rerun_on_the_same_data_changes_nothing(mem, first):
    r1 = run(mem, first)
    relabelled = {k: f"other-{v}" for k, v in first.items()}  # resolver labels are arbitrary
    r2 = run(mem, relabelled, r1, first=stable.next_party_number(r1.party_map.party_id))
    assert as_dict(r2) == as_dict(r1)
    assert r2.events.empty
    # from scratch, the same data gives the same ids too
    assert as_dict(run(mem, relabelled)) == as_dict(r1)


@HYP
@given(first=labels, extra=st.dictionaries(st.integers(100, 140).map(str),
                                           st.sampled_from(["old", "n1", "n2"]), max_size=15))
def test_incremental_records_never_renumber_unrelated_parties(mem, first, extra):
    r1 = run(mem, first)
    before = as_dict(r1)
    # new records either join the cluster of record `anchor` or form new clusters
    anchor = sorted(first)[0]
    second = dict(first)
    for k, v in extra.items():
        second[k] = first[anchor] if v == "old" else v + "-new"
    r2 = run(mem, second, r1, first=stable.next_party_number(r1.party_map.party_id))
    after = as_dict(r2)
    assert {k: after[k] for k in before} == before
    for k, v in extra.items():
        if v == "old":
            assert after[k] == before[anchor]
        else:
            assert after[k] not in set(before.values())
    assert set(r2.events.event) <= {"attached", "created"}


def test_engine_numbering_matches_the_python_format(mem):
    labels = {f"{i:03d}": str(i) for i in range(3)}
    r = run(mem, labels, first=99_999_999)  # the eighth digit rolls over to a ninth
    got = as_dict(r)
    assert [got[k] for k in sorted(got)] == [stable.format_party_id(n) for n in
                                             (99_999_999, 100_000_000, 100_000_001)]


def test_next_party_number_skips_every_used_id():
    assert stable.next_party_number(["P00000007", "P00000002", None, "X12"]) == 8
    assert stable.next_party_number([]) == 1


def test_next_party_number_in_the_engine_agrees_with_python(mem):
    ids = ["P00000007", "P00000002", None, "X12", "P12x", "p99", "P00000010"]
    t = mem.create_table("_ids", pd.DataFrame({"party_id": pd.Series(ids, dtype="string")}),
                         overwrite=True)
    assert stable.next_party_number_of(mem, [t]) == stable.next_party_number(ids) == 11
    empty = mem.create_table("_none", pd.DataFrame({"party_id": pd.Series([], dtype="string")}),
                             overwrite=True)
    assert stable.next_party_number_of(mem, [empty]) == 1


pair_lists = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(1, 4)),
    min_size=1, max_size=60, unique_by=lambda p: (p[0], p[1]),
)


@HYP
@given(pairs=pair_lists)
def test_matching_rounds_in_the_engine_give_the_greedy_matching(mem, pairs):
    df = pd.DataFrame({"cluster": [f"c{c}" for c, _, _ in pairs],
                       "cluster_key": [f"k{c:02d}" for c, _, _ in pairs],
                       "prev_party": [f"P{p:08d}" for _, p, _ in pairs],
                       "n": [n for _, _, n in pairs]})
    table = mem.create_table("_pairs", df, overwrite=True)
    names: list[str] = []

    def temp(name, expr):
        names.append(f"_m_{name}")
        return mem.create_table(f"_m_{name}", expr, temp=True, overwrite=True)

    kept = mem.to_pandas(stable._matching(mem, table, temp, above=0))
    for name in names:
        mem.drop_table(name)
    assert dict(zip(kept.cluster, kept.party_id, strict=True)) == \
        stable._greedy_matching(df)


def test_merges_and_splits_are_the_same_when_every_round_runs_in_the_engine(mem, monkeypatch):
    monkeypatch.setattr(stable, "ENGINE_ROUNDS_ABOVE", 0)
    first = run(mem, {"1": "x", "2": "x", "3": "x", "4": "y", "5": "z", "6": "z"})
    second = run(mem, {"1": "a", "2": "b", "3": "b", "4": "b", "5": "c", "6": "c", "7": "c"},
                 first, first=4)
    got = as_dict(second)
    assert got["2"] == got["3"] == got["4"] == "P00000001"  # P1 keeps its biggest part
    assert got["1"] == "P00000004" and got["5"] == got["7"] == "P00000003"
    assert second.merged == ["P00000002"] and second.split == ["P00000001"]
    assert as_dict(run(mem, {k: f"again-{v}" for k, v in
                             {"1": "a", "2": "b", "3": "b", "4": "b", "5": "c", "6": "c",
                              "7": "c"}.items()}, second, first=5)) == got
