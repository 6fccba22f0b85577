"""BG/BB on the donations recency/frequency matrix (Fader, Hardie & Shang 2010)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prisme.analytics.models import bgbb
from prisme.models import BetaGeoBetaBinom


@pytest.fixture(scope="module")
def donations(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "donations_bgbb" / "donations.csv")  # periods, weights


def test_published_parameters(donations):
    m = BetaGeoBetaBinom().fit(donations)
    p = m.params_
    assert (round(p["alpha"], 3), round(p["beta"], 3), round(p["gamma"], 3),
            round(p["delta"], 3)) == (1.204, 0.750, 0.657, 2.783)
    assert round(m.log_likelihood_, 2) == -33225.58
    assert m.n_customers_ == 11104
    share = m.probability_of_n_purchases(6, np.arange(7))
    assert share.sum() == pytest.approx(1.0, abs=1e-12)
    assert float(np.sum(np.arange(7) * share)) == pytest.approx(
        float(m.expected_purchases_unconditional(6)), rel=1e-10)
    alive = m.probability_alive(donations)
    assert np.all((alive >= 0) & (alive <= 1))
    nxt = m.expected_purchases(donations, np.array([[1.0], [5.0]]))
    assert np.all(nxt[1] >= nxt[0]) and np.all(nxt[0] >= 0)


def test_recovers_simulated_parameters():
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    sim = bgbb.simulate(truth, 100_000, 8, seed=3)
    m = BetaGeoBetaBinom().fit(sim)
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 4 * m.standard_errors_[k], (k, m.params_[k])


def test_recency_must_cover_frequency():
    df = pd.DataFrame({"frequency": [3, 1], "recency": [2, 1], "T": [6, 6], "weights": [5, 5]})
    with pytest.raises(ValueError, match="frequency <= recency"):
        BetaGeoBetaBinom().fit(df)
