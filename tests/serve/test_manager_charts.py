"""Figure builders of the manager marts: they draw what the marts hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prisme.campaigns import qini
from prisme.serve.charts.campaigns import channel_lift_figure, qini_figure
from prisme.serve.charts.forecasts import forecast_figure


def test_channel_lift_bars_grey_out_what_is_not_significant():
    ch = pd.DataFrame({"channel": ["email", "sms"], "lift": [0.02, 0.004],
                       "lift_low": [0.01, -0.005], "lift_high": [0.03, 0.013],
                       "sentence": ["email beats…", "sms is not…"]})
    fig = channel_lift_figure(ch)
    bar = fig.data[0]
    assert list(bar.y) == ["sms", "email"] and list(bar.x) == pytest.approx([0.4, 2.0])
    assert bar.marker.color[0] == "#b0b0b0" and bar.marker.color[1] != "#b0b0b0"


def test_qini_and_forecast_figures():
    rng = np.random.default_rng(0)
    y, t = rng.random(200) < 0.3, rng.random(200) < 0.5
    assert len(qini_figure(qini(y, t, rng.random(200)).curve).data) == 2
    months = pd.date_range("2024-01-01", periods=8, freq="MS").date
    f = pd.DataFrame({"series": "revenue", "dimension": "total", "member": "all",
                      "month": months, "kind": ["actual"] * 6 + ["forecast"] * 2,
                      "value": np.arange(8.0), "lower": np.nan, "upper": np.nan,
                      "model": "airline (log)", "sentence": "revenue: …"})
    fig = forecast_figure(f)
    assert [d.name for d in fig.data][0] == "actual" and len(fig.data) == 3
    with pytest.raises(ValueError, match="no series"):
        forecast_figure(f, series="orders")
