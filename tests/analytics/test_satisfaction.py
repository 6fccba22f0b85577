"""Satisfaction drivers: the item that drives NPS and churn is found, factor analysis sees one
feeling behind correlated items, and data that cannot support a conclusion is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prisme.analytics.satisfaction import drivers


def answers(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)  # overall satisfaction
    service = np.clip(np.round(7 + 1.5 * z + rng.normal(0, 1, n)), 1, 10)
    product = np.clip(np.round(7 + 1.5 * z + rng.normal(0, 1, n)), 1, 10)
    company = np.clip(np.round(7 + 1.5 * z + rng.normal(0, 1, n)), 1, 10)
    # NPS driven by service only (beyond the shared feeling)
    nps = np.clip(np.round(2 + 0.7 * service + rng.normal(0, 1, n)), 0, 10)
    churn = (rng.random(n) < 1 / (1 + np.exp(-(-1 - 0.5 * (service - 7))))).astype(int)
    return pd.DataFrame({"sat_product": product, "sat_service": service.astype(str),
                         "sat_company": company, "nps": nps, "churned": churn})


def test_the_driver_is_found_with_intervals_and_sentences():
    d = drivers(answers(), churned="churned")
    n = d.nps.set_index("item")
    assert n["effect_per_sd"].idxmax() == "sat_service"
    assert n.loc["sat_service", "effect_low"] > 0.5
    assert n.loc["sat_product", "effect_low"] < 0.2
    c = d.churn.set_index("item")
    assert c.loc["sat_service", "odds_high"] < 1
    assert d.loadings.shape[1] == 1 and d.variance_explained > 0.5
    assert "Service satisfaction goes with recommendation most" in d.sentences[0]
    assert any("less likely to leave" in s for s in d.sentences)
    assert any("move together" in s for s in d.sentences)
    assert -100 <= d.nps_score <= 100


def test_bad_input_gets_a_clear_message():
    a = answers(200)
    with pytest.raises(ValueError, match="at least 30"):
        drivers(a.head(10))
    with pytest.raises(ValueError, match="nothing to explain"):
        drivers(a.assign(nps=8))
    with pytest.raises(ValueError, match="no survey item varies"):
        drivers(a.assign(sat_product=5, sat_service=5, sat_company=5))
    one = drivers(a.assign(churned=0), churned="churned")
    assert one.churn.empty and "one class" in one.notes[-1]
    d = drivers(a.assign(sat_company=7))  # a constant item is left out, and said so
    assert "sat_company" not in set(d.nps["item"])
    assert any("sat_company: left out" in n for n in d.notes)


def test_the_findings_are_the_sentences_facts_as_codes():
    from prisme.i18n import findings as words

    d = drivers(answers(), churned="churned")
    codes = [f["code"] for f in d.findings]
    assert codes[0] == "nps_driver" and "churn_driver" in codes and "one_factor" in codes
    top = d.findings[0]
    assert top["item"] == "sat_service" and top["answers"] == d.answers
    assert top["nps"] == pytest.approx(d.nps_score, rel=1e-5)
    assert len(d.findings) == len(d.sentences)
    fr = words.sentences(d.findings, "fr")
    assert fr[0].startswith("Sur 1\u202f500 réponses aux enquêtes, le NPS est de ")
    assert "C'est la satisfaction sur le service qui va le plus de pair" in fr[0]
    assert any("de risque en moins de partir" in s for s in fr)
    en = words.sentences(d.findings, "en")
    assert "Service satisfaction goes with recommendation most" in en[0]
