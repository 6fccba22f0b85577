"""The churn evaluation figures build from the evaluation tables' rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prisme.analytics.churn import evaluate

pytest.importorskip("plotly")
from prisme.serve import churn_charts  # noqa: E402


def test_figures_from_an_evaluation():
    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(int)
    metrics, calib, lift = evaluate(y, p)
    fig = json.loads(churn_charts.calibration_figure(calib))
    assert fig["data"][1]["x"] and len(fig["data"][1]["x"]) == len(calib)
    fig = json.loads(churn_charts.lift_figure(lift))
    assert len(fig["data"][0]["y"]) == 10
    fig = json.loads(churn_charts.gain_figure(lift))
    assert fig["data"][1]["y"][-1] == pytest.approx(1.0)
    text = churn_charts.captions(metrics, 180, "2025-12-31")
    assert "riskiest 10 %" in text["lift"] and "ROC-AUC" in text["gain"]
