"""Plotly figure of one series of ``mart_forecasts`` (actual months, forecast, interval)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def forecast_figure(forecasts: pd.DataFrame, series: str = "revenue",
                    dimension: str = "total", member: str = "all") -> go.Figure:
    f = forecasts[(forecasts["series"] == series) & (forecasts["dimension"] == dimension)
                  & (forecasts["member"] == member)].sort_values("month")
    if f.empty:
        raise ValueError(f"mart_forecasts has no series {series!r} / {dimension} {member!r}")
    act, fc = f[f["kind"] == "actual"], f[f["kind"] == "forecast"]
    fig = go.Figure()
    fig.add_scatter(x=act["month"], y=act["value"], name="actual", mode="lines+markers")
    if len(fc):
        fig.add_scatter(x=list(fc["month"]) + list(fc["month"])[::-1],
                        y=list(fc["upper"]) + list(fc["lower"])[::-1], fill="toself",
                        fillcolor="rgba(42,122,185,0.2)", line={"width": 0},
                        name="95% interval", hoverinfo="skip")
        fig.add_scatter(x=fc["month"], y=fc["value"], name=f"forecast ({fc['model'].iloc[0]})",
                        mode="lines+markers", line={"dash": "dash"})
    title = series if dimension == "total" else f"{series} — {dimension} {member}"
    sentence = fc["sentence"].iloc[0] if len(fc) else act["sentence"].dropna().iloc[-1] \
        if act["sentence"].notna().any() else ""
    fig.update_layout(title={"text": f"{title}<br><sup>{sentence}</sup>"}, xaxis_title=None,
                      yaxis_title=series)
    return fig
