"""join_runs: the texts of each customer's rows joined, as pandas' groupby would."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prisme.analytics.texts import join_runs


@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", "P10", "[x]", ""]),
                          st.text(max_size=5)), max_size=40))
def test_same_as_pandas_groupby_on_rows_ordered_by_key(rows):
    rows = sorted(rows, key=lambda r: r[0])  # stable: each key's texts keep their order
    keys = [k for k, _ in rows]
    texts = [t for _, t in rows]
    got_keys, got = join_runs(keys, texts, " | ", prefix="[", suffix="]")
    want = pd.Series(texts, dtype=object).groupby(pd.Series(keys, dtype=object),
                                                  sort=False).agg(" | ".join)
    assert got_keys == list(want.index)
    assert got == ["[" + t + "]" for t in want.tolist()]


def test_rows_of_a_key_apart_are_refused():
    with pytest.raises(ValueError, match="not adjacent"):
        join_runs(["a", "b", "a"], ["1", "2", "3"], ",")
    with pytest.raises(ValueError, match="2 keys for 1 texts"):
        join_runs(["a", "b"], ["1"], ",")
    assert join_runs([], [], ",") == ([], [])
