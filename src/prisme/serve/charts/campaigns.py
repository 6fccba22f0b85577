"""Plotly figures of the campaign marts (presentation only: the numbers come from
``mart_channels``, ``mart_campaigns`` and :func:`prisme.campaigns.qini`)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def channel_lift_figure(channels: pd.DataFrame) -> go.Figure:
    """Conversion lift of each channel over no contact, in points, with its interval; a bar
    whose interval crosses zero is grey (not significantly different from no contact)."""
    c = channels.dropna(subset=["lift"]).sort_values("lift")
    sig = (c["lift_low"] > 0) | (c["lift_high"] < 0)
    fig = go.Figure(go.Bar(
        x=100 * c["lift"], y=c["channel"].astype(str), orientation="h",
        marker_color=["#2a7ab9" if s else "#b0b0b0" for s in sig],
        error_x={"type": "data", "symmetric": False,
                 "array": 100 * (c["lift_high"] - c["lift"]),
                 "arrayminus": 100 * (c["lift"] - c["lift_low"])},
        hovertext=c["sentence"], hoverinfo="text"))
    fig.add_vline(x=0, line_color="#444")
    fig.update_layout(title="Conversion lift over no contact (points, 95% interval)",
                      xaxis_title="points of conversion", yaxis_title=None,
                      margin={"l": 80, "r": 20, "t": 50, "b": 40})
    return fig


def qini_figure(curve: pd.DataFrame, name: str = "model") -> go.Figure:
    """The Qini curve of an uplift score against random targeting."""
    fig = go.Figure()
    fig.add_scatter(x=100 * curve["share_targeted"], y=curve["incremental_responses"],
                    name=name, mode="lines")
    fig.add_scatter(x=100 * curve["share_targeted"], y=curve["random"], name="random",
                    mode="lines", line={"dash": "dash", "color": "#888"})
    fig.update_layout(title="Qini curve: extra responses by share targeted",
                      xaxis_title="% of customers targeted (highest uplift first)",
                      yaxis_title="incremental responses")
    return fig
