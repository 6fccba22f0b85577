"""Advertising response: a planted adstock and saturation is found; bad input is refused;
every sentence says the result is correlational."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prisme.analytics.advertising import adstock, fit_response

TRUTH = {"search": (0.3, 30000.0), "social": (0.6, 15000.0), "display": (0.2, 0.0)}


def planted(seed: int = 0, n: int = 156) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    d = {"week": pd.date_range("2023-01-02", periods=n, freq="W-MON")}
    y = 100000 + 20000 * np.cos(2 * np.pi * np.arange(n) / 52) + rng.normal(0, 4000, n)
    contribution = {}
    for ch, (theta, beta) in TRUTH.items():
        s = 1000 * rng.choice([0.25, 1, 1.75], n // 4 + 1).repeat(4)[:n] * rng.lognormal(0, .1, n)
        a = adstock(s, theta)
        part = beta * (1 - np.exp(-a / a.mean()))
        y = y + part
        contribution[ch] = part.sum()
        d[f"spend_{ch}"] = s
    d["revenue"] = y
    return pd.DataFrame(d), contribution


def test_adstock_is_geometric():
    assert adstock(np.array([1.0, 0, 0]), 0.5).tolist() == [1.0, 0.5, 0.25]


def test_planted_response_is_recovered():
    weekly, contribution = planted()
    r = fit_response(weekly).table.set_index("channel")
    for ch in ("search", "social"):
        assert r.loc[ch, "contribution"] == pytest.approx(contribution[ch], rel=0.3)
        assert r.loc[ch, "p_value"] < 0.001
        assert abs(r.loc[ch, "adstock_decay"] - TRUTH[ch][0]) <= 0.3
        assert "correlational" in r.loc[ch, "sentence"]
    assert r.loc["search", "roas"] > r.loc["display", "roas"]
    assert r.loc["display", "effect_low"] < 0 < r.loc["display", "effect_high"] or \
        r.loc["display", "p_value"] > 0.001
    assert "no clear link" in r.loc["display", "sentence"] or r.loc["display", "p_value"] < 0.05


def test_bad_input_gets_a_clear_message():
    weekly, _ = planted()
    with pytest.raises(ValueError, match="needs at least 26"):
        fit_response(weekly.head(10))
    flat = weekly.assign(spend_search=500.0)
    with pytest.raises(ValueError, match="spend of search never changes"):
        fit_response(flat)
    with pytest.raises(ValueError, match="no spend column"):
        fit_response(weekly[["week", "revenue"]])


def test_each_channel_stores_its_finding_as_a_code_and_figures():
    from prisme.i18n import findings as words

    r = fit_response(planted()[0]).table.set_index("channel")
    for ch, row in r.iterrows():
        [f] = words.parse(row.findings)
        assert f["channel"] == ch and f["tested"] is False
        if f["code"] == "ad_response":
            assert row.p_value < 0.05
            assert f["roas"] == pytest.approx(row.roas, rel=1e-5)
            assert f["carry"] == pytest.approx(row.adstock_decay)
        else:
            assert f["code"] == "ad_no_clear_link" and row.p_value >= 0.05
    said = words.text(r.loc["search", "findings"], "fr", "EUR")
    assert said.startswith("Référencement payant : 1\u00a0€ dépensé va de pair avec ")
    assert "simple corrélation" in said and "correlational" not in said
    tested = fit_response(planted()[0], experiment=True).table
    assert all('"tested":true' in x for x in tested.findings)
