"""UpliftModel: scikit-learn shape, raw tables, each learner finds a planted effect, and bad
input gets a clear message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from prisme.analytics.models.uplift import LEARNERS
from prisme.campaigns import qini, uplift_at_k
from prisme.models import UpliftModel


def planted(n: int = 6000, seed: int = 0):
    """Persuadables (young, effect +0.3), sleeping dogs (unhappy, −0.2), the rest none."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    sat = rng.integers(0, 11, n)
    t = rng.random(n) < 0.5
    tau = np.where(age < 35, 0.3, 0.0) - np.where(sat <= 2, 0.2, 0.0)
    base = 0.3
    y = rng.random(n) < base + t * tau
    X = pd.DataFrame({
        "party_id": [f"P{i}" for i in range(n)],
        "age": age.astype(str),  # numbers written as text
        "satisfaction": np.where(rng.random(n) < 0.05, "", sat.astype(str)),  # blanks
        "city": rng.choice(["Paris", "Lyon", "Lille"], n),
        "country": "FR",  # constant: left out
    })
    return X, y.astype(int), t.astype(int), tau


@pytest.mark.parametrize("learner", LEARNERS)
def test_each_learner_finds_the_planted_effect(learner):
    X, y, t, tau = planted()
    m = UpliftModel(learner).fit(X.iloc[:4000], y[:4000], t[:4000])
    assert m.fit(X.iloc[:4000], y[:4000], t[:4000]) is m
    pred = m.predict(X.iloc[4000:])
    assert np.corrcoef(pred, tau[4000:])[0, 1] > 0.6
    assert pred[tau[4000:] > 0].mean() > 0.15 > pred[tau[4000:] < 0].mean()
    ideal = qini(y[4000:], t[4000:], tau[4000:] + np.arange(2000) * 1e-9).coefficient
    assert qini(y[4000:], t[4000:], pred).coefficient > 0.7 * ideal > 0
    assert ("country", "constant") in m.dropped_features_
    assert "party_id" not in m.feature_names_
    assert m.get_params()["learner"] == learner


def test_bad_input_gets_a_clear_message():
    X, y, t, _ = planted(500)
    with pytest.raises(NotFittedError):
        UpliftModel().predict(X)
    with pytest.raises(ValueError, match="without a control group"):
        UpliftModel().fit(X, y, np.ones(len(X)))
    with pytest.raises(ValueError, match="one class only"):
        UpliftModel().fit(X, np.zeros(len(X)), t)
    with pytest.raises(ValueError, match="no usable feature"):
        UpliftModel().fit(pd.DataFrame({"c": np.ones(len(X))}), y, t)
    with pytest.raises(ValueError, match="must be 0/1"):
        UpliftModel().fit(X, y, np.where(t == 1, "yes", "maybe"))
    with pytest.raises(ValueError, match="not one of"):
        UpliftModel("magic").fit(X, y, t)


def test_out_of_sample_on_hillstrom_the_top_third_gains_more_than_average(shared_data):
    df = pd.read_csv(shared_data / "hillstrom_email" /
                     "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv")
    df = df[df.segment.isin(["Mens E-Mail", "No E-Mail"])].reset_index(drop=True)
    X = df[["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
            "channel"]]
    t = (df.segment == "Mens E-Mail").astype(int).to_numpy()
    y = df.visit.to_numpy()
    fit = np.random.default_rng(0).random(len(df)) < 0.5
    m = UpliftModel().fit(X[fit], y[fit], t[fit])
    pred = m.predict(X[~fit])
    ate = y[~fit][t[~fit] == 1].mean() - y[~fit][t[~fit] == 0].mean()
    assert uplift_at_k(y[~fit], t[~fit], pred, 0.3) > ate + 0.005
    assert qini(y[~fit], t[~fit], pred).coefficient > 0.005
    assert m.ate_ == pytest.approx(0.0766, abs=0.01)  # men's e-mail: +7.7 points of visits
