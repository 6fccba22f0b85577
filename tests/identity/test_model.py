"""Blocking keys: bounded blocks, names blocked within a place, typos caught by one end."""

from __future__ import annotations

import pandas as pd

from prisme.identity import model
from prisme.identity.normalise import normalise


def _keys(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["record_id"] = [str(i) for i in range(len(df))]
    return model.blocking_keys(normalise(df))


def _share(keys: pd.DataFrame, i: int, j: int) -> set[str]:
    cols = [c for c in keys.columns if c.startswith("blk_")]
    return {c for c in cols if pd.notna(keys.loc[i, c]) and keys.loc[i, c] == keys.loc[j, c]}


def test_names_are_blocked_within_a_place_never_nationwide():
    keys = _keys([
        {"first_name": "Jean", "last_name": "Dupont", "postal_code": "75011", "city": "Paris"},
        {"first_name": "Dupont", "last_name": "Jean", "postal_code": "75011", "city": "Paris"},
        {"first_name": "Jean", "last_name": "Dupont", "postal_code": "13008",
         "city": "Marseille"},
    ])
    assert {"blk_name_postcode", "blk_name_area", "blk_name_city"} <= _share(keys, 0, 1)
    assert _share(keys, 0, 2) == set()  # namesakes in two towns, nothing else: no pair
    assert not any(k in model.BLOCKING_KEYS for k in ("blk_name", "blk_name_swapped"))


def test_a_typo_in_one_name_is_caught_by_the_other_name_and_an_intact_end():
    keys = _keys([
        {"first_name": "Delphine", "last_name": "Lemoine", "postal_code": "59100"},
        {"first_name": "Delphine", "last_name": "Lemoune", "postal_code": "59100"},
        {"first_name": "Benjamin", "last_name": "Dubois", "postal_code": "33700"},
        {"first_name": "Benjamin", "last_name": "Duobis", "postal_code": "33700"},
        {"first_name": "Sarah", "last_name": "Legrand", "postal_code": "25000"},
        {"first_name": "Saarh", "last_name": "Legrand", "postal_code": "25000"},
    ])
    assert "blk_first_postcode_last_start" in _share(keys, 0, 1)
    assert "blk_first_postcode_last_start" in _share(keys, 2, 3)
    assert "blk_last_postcode_first_start" in _share(keys, 4, 5)


def test_key_parts_take_the_start_or_the_end_of_a_column():
    rec = pd.DataFrame({"x": pd.Series(["abcdef", None], dtype="string")})
    assert model._part(rec, "x:2").tolist() == ["ab", pd.NA]
    assert model._part(rec, "x:-2").tolist() == ["ef", pd.NA]
    assert model._part(rec, "x").tolist() == ["abcdef", pd.NA]


def test_a_value_shared_by_too_many_records_forms_no_block():
    rows = [{"first_name": "Marie", "last_name": "Martin", "postal_code": "75018"}] * 6
    keys = _keys(rows)
    capped = model.blocking_keys(normalise(pd.DataFrame(rows).assign(
        record_id=[str(i) for i in range(6)])), max_block=5)
    assert keys["blk_name_postcode"].notna().all()
    assert capped["blk_name_postcode"].isna().all()
    assert model.pair_count(capped)["blk_name_postcode"] == 0
    assert model.pair_count(keys)["blk_name_postcode"] == 15
