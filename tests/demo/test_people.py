"""The demo's geography grows with the company: a large list spreads over many postcodes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from prisme.demo import names as N
from prisme.demo.people import (
    MAX_POSTCODES_PER_TOWN,
    make_people,
    postcodes_per_town,
    town_postcodes,
)

TODAY, START = np.datetime64("2026-06-30"), np.datetime64("2023-01-01")


def test_small_companies_keep_one_postcode_per_town():
    assert postcodes_per_town(3_000) == postcodes_per_town(20_000) == 1
    assert [c for c, in town_postcodes(1)] == [post for _, post, _ in N.FR_TOWNS]


def test_postcodes_per_town_grow_with_the_company_and_are_capped():
    sizes = [postcodes_per_town(n) for n in (20_000, 100_000, 600_000, 10_000_000)]
    assert sizes == sorted(sizes) and sizes[1] == 5
    assert sizes[-1] == MAX_POSTCODES_PER_TOWN


def test_town_postcodes_are_french_shaped_distinct_and_in_the_towns_department():
    codes = town_postcodes(MAX_POSTCODES_PER_TOWN)
    flat = [c for town in codes for c in town]
    assert len(flat) == len(set(flat)) == len(N.FR_TOWNS) * MAX_POSTCODES_PER_TOWN
    for (_, own, _), town in zip(N.FR_TOWNS, codes, strict=True):
        assert town[0] == own
        assert all(len(c) == 5 and c.isdigit() and c[:2] == own[:2] for c in town)


def test_a_large_company_spreads_its_french_households_over_the_towns_postcodes():
    n = 120_000
    people = make_people(np.random.default_rng(5), n, TODAY, START)
    fr = pd.Series(people["postal_code"])[~people["uk"]]
    city = pd.Series(people["city"])[~people["uk"]]
    assert fr.nunique() == len(N.FR_TOWNS) * postcodes_per_town(n)
    # each postcode stays inside one town, and members of a household still share theirs
    assert (pd.DataFrame({"p": fr, "c": city}).groupby("p")["c"].nunique() == 1).all()
    by_household = pd.DataFrame({"h": people["household"], "p": people["postal_code"]})
    assert (by_household.groupby("h")["p"].nunique() == 1).all()
