"""prisme.forecast: the airline model's published coefficients, the scikit-learn shape,
rolling-origin backtests and clear messages for short series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from prisme.forecast import (
    ExponentialSmoothing,
    SeasonalARIMA,
    SeasonalNaive,
    SeriesTooShort,
    backtest,
    choose,
)


@pytest.fixture(scope="module")
def air(shared_data):
    df = pd.read_csv(shared_data / "airpassengers/AirPassengers.csv")
    return pd.Series(df.passengers.to_numpy(float),
                     index=pd.PeriodIndex(df.month, freq="M"))


def test_airline_model_matches_box_and_jenkins(air):
    m = SeasonalARIMA((0, 1, 1), (0, 1, 1, 12), log=True).fit(air)
    assert m.params_["ma.L1"] == pytest.approx(-0.4018, abs=5e-4)
    assert m.params_["ma.S.L12"] == pytest.approx(-0.5569, abs=5e-4)
    assert m.params_["sigma2"] == pytest.approx(0.001348, rel=1e-3)
    assert m.log_likelihood_ == pytest.approx(244.7, abs=0.05)
    f = m.predict(12)
    assert list(f.columns) == ["mean", "lower", "upper"]
    assert str(f.index[0]) == "1961-01"
    assert (f["lower"] < f["mean"]).all() and (f["mean"] < f["upper"]).all()
    assert 400 < f["mean"].iloc[0] < 500  # January 1961, about 450 thousand passengers
    assert m.get_params()["seasonal_order"] == (0, 1, 1, 12)


def test_exponential_smoothing_and_baseline_shape(air):
    m = ExponentialSmoothing(seasonal="mul").fit(air)
    assert {"smoothing_level", "smoothing_seasonal", "damping_trend"} <= set(m.params_)
    f = m.predict(6)
    assert (f["lower"] < f["upper"]).all() and len(f) == 6
    n = SeasonalNaive().fit(air).predict(14)
    assert n["mean"].iloc[0] == air.iloc[-12] and n["mean"].iloc[12] == air.iloc[-12]
    assert (n["upper"] - n["lower"]).iloc[12] > (n["upper"] - n["lower"]).iloc[0]
    with pytest.raises(NotFittedError):
        SeasonalARIMA().predict(3)


def test_backtest_and_choice_beat_the_seasonal_naive_on_air_passengers(air):
    b = backtest(SeasonalARIMA(log=True), air, horizon=12, folds=3)
    assert b.folds == 3 and len(b.errors) == 36
    assert 0 < b.mape < 10
    c = choose(air, horizon=6, folds=2)
    assert c.backtest.mase < c.baseline.mase
    assert c.name != "seasonal naive"
    assert "better than repeating last year" in c.sentence("passengers")


def test_short_series_get_a_clear_message():
    y = pd.Series(np.arange(1.0, 11.0))
    with pytest.raises(SeriesTooShort, match=r"10 observations; this model needs at least 2\d"):
        SeasonalARIMA().fit(y)
    with pytest.raises(SeriesTooShort, match="two full seasons"):
        ExponentialSmoothing().fit(y)
    with pytest.raises(SeriesTooShort, match="needs at least 16"):
        choose(y)
    with pytest.raises(ValueError, match="values ≤ 0"):
        SeasonalARIMA(log=True).fit(pd.Series(np.r_[0.0, np.ones(40)]))
    with pytest.raises(ValueError, match="missing values"):
        SeasonalNaive().fit(pd.Series([1.0, np.nan] * 10))


def test_choice_on_a_short_but_usable_series_skips_what_it_cannot_fit():
    rng = np.random.default_rng(3)
    t = np.arange(20)
    y = pd.Series(100 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, 20))
    c = choose(y, horizon=3, folds=2)
    assert any("too few" in n for n in c.notes)
    assert c.name in c.scores
