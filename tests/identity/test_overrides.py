"""Steward overrides: the file, the CLI helper, and their precedence over the model."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from identity_tables import customers
from test_build import email_resolver, party_of

from prisme.identity import build, overrides


def test_add_override_writes_the_file_and_reads_back(settings):
    o = overrides.add_override(settings, "must-link", "crm:C1", ("shop", "S9"),
                               note="same person, moved", author="j.doe")
    overrides.add_override(settings, "cannot_link", "crm:C2", "crm:C3", "twins", "j.doe")
    path = settings.root / "overrides.csv"
    assert path.read_text().splitlines()[0] == \
        "rule,source_a,id_a,source_b,id_b,note,author,created_at"
    got = overrides.read_overrides(settings)
    assert [(x.rule, x.a, x.b, x.note, x.author, x.line) for x in got] == [
        ("must_link", ("crm", "C1"), ("shop", "S9"), "same person, moved", "j.doe", 2),
        ("cannot_link", ("crm", "C2"), ("crm", "C3"), "twins", "j.doe", 3),
    ]
    assert (o.rule, o.line) == ("must_link", 2)


@pytest.mark.parametrize(
    "content, message",
    [
        ("rule,source_a,id_a\nmust_link,crm,1\n", "line 1: the header misses source_b, id_b"),
        ("rule,source_a,id_a,source_b,id_b\nmaybe,crm,1,crm,2\n",
         "line 2, column rule: expected must_link or cannot_link, got 'maybe'"),
        ("rule,source_a,id_a,source_b,id_b\nmust_link,crm,1,crm,2\ncannot_link,crm,,crm,2\n",
         "line 3, column id_a: a value is required"),
        ("rule,source_a,id_a,source_b,id_b\nmust_link,crm,1,crm,1\n",
         "line 2: a record cannot be paired with itself"),
    ],
)
def test_bad_files_say_where(settings, content, message):
    (settings.root / "overrides.csv").write_text(content)
    with pytest.raises(overrides.OverrideError, match=message):
        overrides.read_overrides(settings)


def test_bad_cli_arguments_are_explained(settings):
    with pytest.raises(overrides.OverrideError, match="source:source_customer_id"):
        overrides.add_override(settings, "must_link", "C1", "crm:C2")
    with pytest.raises(overrides.OverrideError, match="must_link or cannot_link"):
        overrides.add_override(settings, "merge", "crm:C1", "crm:C2")


def assignment(labels: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"source": "crm", "source_customer_id": list(labels),
                         "cluster": list(labels.values())})


def rule(kind, a, b, line=2):
    return overrides.Override(kind, ("crm", a), ("crm", b), line=line)


def test_enforce_must_link_joins_whole_clusters_and_cannot_link_separates():
    got = overrides.enforce(assignment({"1": "x", "2": "x", "3": "y", "4": "z", "5": "z"}),
                            [rule("must_link", "2", "3"), rule("cannot_link", "4", "5")])
    c = dict(zip(got.source_customer_id, got.cluster, strict=True))
    assert c["1"] == c["2"] == c["3"]
    assert c["4"] != c["5"]
    assert len(set(c.values())) == 3


def test_enforce_moves_the_must_linked_company_of_a_cannot_link():
    got = overrides.enforce(assignment({"1": "x", "2": "x", "3": "x", "4": "x"}),
                            [rule("must_link", "3", "4"), rule("cannot_link", "1", "3")])
    c = dict(zip(got.source_customer_id, got.cluster, strict=True))
    assert c["3"] == c["4"] != c["1"] == c["2"]


def test_contradictory_overrides_name_their_lines():
    rules = [rule("must_link", "1", "2", 2), rule("must_link", "2", "3", 3),
             rule("cannot_link", "1", "3", 4)]
    with pytest.raises(overrides.OverrideError, match="line 4 .* must_link lines 2, 3"):
        overrides.enforce(assignment({"1": "x", "2": "y", "3": "z"}), rules)


def test_overrides_for_absent_records_wait_for_them():
    got = overrides.enforce(assignment({"1": "x", "2": "y"}), [rule("must_link", "1", "99")])
    assert got.cluster.tolist() == ["x", "y"]


BASE = [
    {"source": "crm", "source_customer_id": "C1", "email": "anne@x.fr"},
    {"source": "shop", "source_customer_id": "S9", "email": "anne.m@y.fr"},
    {"source": "crm", "source_customer_id": "C2", "email": "family@x.fr"},
    {"source": "crm", "source_customer_id": "C3", "email": "family@x.fr"},
]


def test_overrides_win_over_the_model_and_survive_reruns(engine, settings):
    customers(engine, BASE)
    build.resolve_parties(engine, settings, resolver=email_resolver)
    got = party_of(engine)
    assert got[("crm", "C1")] != got[("shop", "S9")]
    assert got[("crm", "C2")] == got[("crm", "C3")]
    overrides.add_override(settings, "must_link", "crm:C1", "shop:S9", "moved", "steward")
    overrides.add_override(settings, "cannot_link", "crm:C2", "crm:C3", "twins", "steward")
    for _ in range(2):
        build.resolve_parties(engine, settings, resolver=email_resolver)
        got = party_of(engine)
        assert got[("crm", "C1")] == got[("shop", "S9")]
        assert got[("crm", "C2")] != got[("crm", "C3")]


def test_the_real_resolver_receives_the_overrides(engine, settings):
    customers(engine, [
        {"source": "crm", "source_customer_id": "C1", "first_name": "Jean", "last_name": "Roux",
         "email": "jean.roux@x.fr", "phone": "+33611111111", "postal_code": "75011"},
        {"source": "shop", "source_customer_id": "S1", "first_name": "Jean", "last_name": "Roux",
         "email": "jean.roux@x.fr", "phone": "+33611111111", "postal_code": "75011"},
        {"source": "crm", "source_customer_id": "C2", "first_name": "Marie",
         "last_name": "Dupont", "email": "marie.d@y.fr", "phone": "+33622222222",
         "postal_code": "13001"},
    ])
    overrides.add_override(settings, "cannot_link", "crm:C1", "shop:S1", "father/son", "st")
    overrides.add_override(settings, "must_link", "crm:C1", "crm:C2", "test", "st")
    build.resolve_parties(engine, settings)
    got = party_of(engine)
    assert got[("crm", "C1")] == got[("crm", "C2")] != got[("shop", "S1")]


def test_enforce_looks_only_at_the_clusters_the_overrides_touch():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    ids = st.integers(0, 30).map(str)

    @settings(max_examples=60, deadline=None)
    @given(labels=st.dictionaries(ids, st.integers(0, 6).map(str), min_size=1, max_size=30),
           pairs=st.lists(st.tuples(st.sampled_from(["must_link", "cannot_link"]),
                                    st.integers(0, 34).map(str), st.integers(0, 34).map(str))
                          .filter(lambda p: p[1] != p[2]), max_size=5))
    def check(labels, pairs):
        frame = assignment(labels)
        rules = [rule(kind, a, b, line) for line, (kind, a, b) in enumerate(pairs, start=2)]
        try:  # the whole frame, as the algorithm always did it
            everything = overrides._enforce_on(frame, rules)
        except overrides.OverrideError as exc:
            with pytest.raises(overrides.OverrideError, match=re.escape(str(exc))):
                overrides.enforce(frame, rules)
            return
        got = overrides.enforce(frame, rules)
        assert got.cluster.astype(str).tolist() == everything.cluster.astype(str).tolist()

    check()
