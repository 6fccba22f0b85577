"""The demo's purchases carry cross-category affinity, recorded in truth/category_affinity.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from prisme.demo.sales import CATEGORIES, FOLLOW_ON, FOLLOW_PROBABILITY, follow_on


def test_next_order_starts_in_the_following_category():
    rng = np.random.default_rng(3)
    n_orders = 40_000
    person = np.where(rng.random(n_orders) < 0.1, -1, rng.integers(0, 2_000, n_orders))
    orders = pd.DataFrame({"person": person, "day": np.arange(n_orders, dtype=float)})
    order = np.repeat(np.arange(n_orders), rng.integers(1, 4, n_orders))
    drawn = rng.integers(0, len(CATEGORIES), len(order))
    cat = follow_on(np.random.default_rng(4), orders, order, drawn)
    first = np.r_[True, order[1:] != order[:-1]]
    # only first lines of customers' orders change
    assert (cat[~first] == drawn[~first]).all()
    anonymous = first & (person[order] < 0)
    assert (cat[anonymous] == drawn[anonymous]).all()
    names = [c[0] for c in CATEGORIES]
    nxt = np.array([names.index(FOLLOW_ON[c][0]) for c in names])
    firsts = pd.DataFrame({"person": person, "cat": cat[first]})
    firsts = firsts[firsts.person >= 0]
    firsts["prev"] = firsts.groupby("person").cat.shift(1)
    pairs = firsts.dropna(subset=["prev"])
    followed = (pairs.cat.to_numpy() == nxt[pairs.prev.astype(int).to_numpy()]).mean()
    # followed with FOLLOW_PROBABILITY, else drawn uniformly here (1 in 10 by chance)
    expected = FOLLOW_PROBABILITY + (1 - FOLLOW_PROBABILITY) / len(CATEGORIES)
    assert abs(followed - expected) < 0.02
    # a customer's first order is never changed
    firsts_of_person = first & (person[order] >= 0)
    one = pd.Series(np.flatnonzero(firsts_of_person)).groupby(person[order][firsts_of_person]).min()
    assert (cat[one.to_numpy()] == drawn[one.to_numpy()]).all()


def test_truth_records_the_affinity(demo):
    t = Path(demo.directory) / "truth"
    aff = pd.read_csv(t / "category_affinity.csv", dtype=str, keep_default_na=False)
    assert dict(zip(aff.category, aff.followed_by, strict=True)) == {
        c: f for c, (f, _) in FOLLOW_ON.items()}
    assert set(aff.probability) == {str(FOLLOW_PROBABILITY)}
    assert "category_affinity.csv" in (t / "README.md").read_text(encoding="utf-8")
