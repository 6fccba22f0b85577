"""The quality bars on real and published data: Febrl 4, Splink's fake_1000, the demo company."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from prisme.config import IdentitySettings
from prisme.identity import evaluate, resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from identity_data import demo_records, fake_1000, febrl4  # noqa: E402


def test_febrl4_as_one_list(shared_data):
    """4a + 4b resolved together (5,000 true links); soc_sec_id declared an identifier."""
    df, truth = febrl4(shared_data)
    out = resolve(df, settings=IdentitySettings(identifier_columns=["soc_sec_id"]))
    score = evaluate(out["party_id"], truth)
    assert score["true_pairs"] == 5000
    assert score["f1"] >= 0.99, score


def test_splink_fake_1000(shared_data):
    df, truth = fake_1000(shared_data)
    out = resolve(df)
    score = evaluate(out["party_id"], truth)
    assert truth.nunique() == 181
    assert score["f1"] >= 0.95, score


@pytest.mark.slow
def test_demo_company_with_households(tmp_path):
    from prisme.demo import generate

    generate(customers=4000, seed=21, directory=tmp_path)
    df, truth = demo_records(tmp_path)
    out = resolve(df)
    score = evaluate(out["party_id"], truth["person_id"])
    households = evaluate(out["party_id"], truth["person_id"], within=truth["household_id"])
    assert score["f1"] >= 0.97, score
    assert households["precision"] >= 0.97, households
