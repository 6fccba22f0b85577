"""Association rules counted in the engine, against brute force and against mlxtend."""

from __future__ import annotations

import itertools
import math

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import prisme.basket
from prisme import engine as engine_mod


def _brute_force(baskets: dict[str, set[str]], min_support: float | None, max_len: int = 3,
                 need: int | None = None):
    n = len(baskets)
    need = math.ceil(min_support * n) if need is None else need
    counts: dict[frozenset, int] = {}
    for items in baskets.values():
        for k in range(1, max_len + 1):
            for combo in itertools.combinations(sorted(items), k):
                counts[frozenset(combo)] = counts.get(frozenset(combo), 0) + 1
    freq = {s: c for s, c in counts.items() if c >= need}
    rules = {}
    for s, c in freq.items():
        for k in range(1, len(s)):
            for ante in itertools.combinations(sorted(s), k):
                a = frozenset(ante)
                conf = c / freq[a]
                rules[(tuple(sorted(a)), tuple(sorted(s - a)))] = (
                    c / n, conf, conf / (freq[s - a] / n))
    return rules


def _lines(baskets):
    return pd.DataFrame([{"order_id": b, "sku": i} for b, items in baskets.items()
                         for i in sorted(items)])


def test_rules_by_hand(engine):
    baskets = {"o1": {"milk", "bread"}, "o2": {"milk", "bread", "butter"},
               "o3": {"milk"}, "o4": {"bread", "butter"}}
    lines = engine.create_table("lines", ibis.memtable(_lines(baskets)))
    r = prisme.basket.rules(lines, basket="order_id", item="sku", min_support=0.5)
    got = {(tuple(a), tuple(c)): row for a, c, row in
           zip(r.antecedent, r.consequent, r.itertuples(), strict=True)}
    # pairs with support >= 0.5: milk+bread (2 of 4), bread+butter (2 of 4)
    assert set(got) == {(("bread",), ("milk",)), (("milk",), ("bread",)),
                        (("bread",), ("butter",)), (("butter",), ("bread",))}
    rule = got[(("butter",), ("bread",))]
    assert rule.support == 0.5 and rule.confidence == 1.0
    assert rule.lift == pytest.approx(1.0 / 0.75)
    assert rule.leverage == pytest.approx(0.5 - 0.5 * 0.75)
    assert rule.conviction == math.inf  # confidence 1: never wrong
    assert got[(("bread",), ("butter",))].conviction == pytest.approx((1 - 0.5) / (1 - 2 / 3))
    assert rule.baskets == 2


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3),
                       st.sets(st.sampled_from("ABCDEFG"), min_size=1, max_size=6),
                       min_size=1, max_size=30),
       st.sampled_from([0.05, 0.1, 0.2, 0.34]))
def test_rules_equal_brute_force(baskets, min_support):
    with engine_mod.connect(path=":memory:") as eng:
        r = prisme.basket.rules(_lines(baskets), basket="order_id", item="sku",
                                min_support=min_support, engine=eng)
    expected = _brute_force(baskets, min_support)
    got = {(tuple(a), tuple(c)): (s, cf, li) for a, c, s, cf, li in
           zip(r.antecedent, r.consequent, r.support, r.confidence, r.lift, strict=True)}
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-12)


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3),
                       st.sets(st.sampled_from("ABCDEFG"), min_size=1, max_size=6),
                       min_size=1, max_size=30),
       st.integers(1, 8))
def test_integer_baskets_and_a_count_threshold_give_the_same_rules(baskets, min_count):
    """Baskets coded as integers are taken as they are (not as text), with a threshold
    given as a number of baskets: the rules of the same baskets by name."""
    from prisme.analytics.basket import association_rules

    lines = _lines(baskets)
    coded = lines.assign(order_id=lines.order_id.map(
        {b: 10 * i + 3 for i, b in enumerate(sorted(baskets))}).astype("int64"))
    with engine_mod.connect(path=":memory:") as eng:
        got = association_rules(eng, ibis.memtable(coded), basket="order_id", item="sku",
                                min_count=min_count)
    expected = _brute_force(baskets, None, need=min(min_count, len(baskets)))
    got = {(tuple(a), tuple(c)): (s, cf, li) for a, c, s, cf, li in
           zip(got.antecedent, got.consequent, got.support, got.confidence, got.lift,
               strict=True)}
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-12)


def test_bad_arguments_say_what_is_expected():
    df = pd.DataFrame({"order_id": ["1"], "sku": ["A"]})
    with pytest.raises(ValueError, match="min_support must be a share"):
        prisme.basket.rules(df, min_support=5)
    with pytest.raises(ValueError, match="max_len must be 1, 2 or 3"):
        prisme.basket.rules(df, min_support=0.1, max_len=4)
    from prisme.analytics.basket import association_rules
    with pytest.raises(ValueError, match="min_support .* or min_count"):
        association_rules(None, ibis.memtable(df), basket="order_id", item="sku")
    with pytest.raises(ValueError, match="min_count must be a number of baskets"):
        association_rules(None, ibis.memtable(df), basket="order_id", item="sku", min_count=0)
    with pytest.raises(KeyError, match="no column 'invoice'"):
        prisme.basket.rules(df, basket="invoice", min_support=0.1)


@pytest.fixture(scope="module")
def online_retail_lines(shared_data):
    df = pd.read_csv(shared_data / "online_retail" / "Online_Retail.csv.gz",
                     dtype={"InvoiceNo": str, "StockCode": str},
                     usecols=["InvoiceNo", "StockCode", "Quantity"])
    # baskets: invoices without cancellations (InvoiceNo C…) or returned lines
    return df[~df.InvoiceNo.str.startswith("C") & (df.Quantity > 0)]


@pytest.mark.parametrize("min_support", [0.01, 0.005])
def test_online_retail_gives_exactly_the_rules_of_mlxtend(engine, online_retail_lines,
                                                           min_support):
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    lines = engine.create_table("retail_lines", ibis.memtable(online_retail_lines),
                                overwrite=True)
    got = prisme.basket.rules(lines, basket="InvoiceNo", item="StockCode",
                              min_support=min_support, max_len=3)
    baskets = online_retail_lines.groupby("InvoiceNo").StockCode.apply(set).tolist()
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    itemsets = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=3)
    ref = association_rules(itemsets, num_itemsets=len(onehot), metric="confidence",
                            min_threshold=0.0)
    ref_rules = {(tuple(sorted(a)), tuple(sorted(c))): (s, cf, li) for a, c, s, cf, li in
                 zip(ref.antecedents, ref.consequents, ref.support, ref.confidence, ref.lift,
                     strict=True)}
    got_rules = {(tuple(a), tuple(c)): (s, cf, li) for a, c, s, cf, li in
                 zip(got.antecedent, got.consequent, got.support, got.confidence, got.lift,
                     strict=True)}
    assert len(got_rules) == len(got) == len(ref) > 1000
    assert set(got_rules) == set(ref_rules)
    for key, values in ref_rules.items():
        assert got_rules[key] == pytest.approx(values, rel=1e-9)
    assert all(a == sorted(a) for a in got.antecedent)
