"""Plotly figures for the pages (titles, units, one palette), as JSON for ``Plotly.newPlot``."""

from __future__ import annotations

import plotly.graph_objects as go

PALETTE = ["#2f5d8a", "#e08a2e", "#3c9a6a", "#b5475b", "#7a5ea8", "#8a8a3c", "#3aa0b5",
           "#c46fae", "#6b6b6b", "#d2b13a", "#4f7fbf", "#9b6a3a"]


def _layout(fig: go.Figure, y_title: str = "", x_title: str = "", height: int = 320):
    fig.update_layout(
        height=height, margin=dict(l=60, r=20, t=30, b=50), colorway=PALETTE,
        paper_bgcolor="white", plot_bgcolor="white", font=dict(family="system-ui, sans-serif",
                                                                size=12),
        # the legend above the plot: below it, it ran into slanted category labels
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"), hovermode="x unified",
    )
    fig.update_yaxes(title=y_title, gridcolor="#e6e9ee", zerolinecolor="#c9ced6")
    fig.update_xaxes(title=x_title, gridcolor="#f1f3f6")
    return fig


def to_json(fig: go.Figure) -> str:
    return fig.to_json()


def bars(x, series: dict[str, list], y_title: str, x_title: str = "", horizontal=False,
         height: int = 320, errors: dict | None = None) -> str:
    fig = go.Figure()
    for name, y in series.items():
        err = (errors or {}).get(name)
        kw = {"error_y": dict(type="data", symmetric=False, array=err[0], arrayminus=err[1])} \
            if err else {}
        if horizontal:
            fig.add_bar(y=list(x), x=list(y), name=name, orientation="h")
        else:
            fig.add_bar(x=list(x), y=list(y), name=name, **kw)
    if horizontal:
        fig = _layout(fig, x_title, y_title, height)
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(hovermode="y unified")
        return to_json(fig)
    return to_json(_layout(fig, y_title, x_title, height))


def lines(x, series: dict[str, list], y_title: str, x_title: str = "",
          bands: dict[str, tuple[list, list]] | None = None, height: int = 320,
          secondary: dict[str, list] | None = None, y2_title: str = "",
          vline: tuple[str, str] | None = None) -> str:
    fig = go.Figure()
    for name, (lo, hi) in (bands or {}).items():
        fig.add_scatter(x=list(x) + list(x)[::-1], y=list(hi) + list(lo)[::-1], fill="toself",
                        fillcolor="rgba(47,93,138,0.15)", line=dict(width=0), name=name,
                        hoverinfo="skip")
    for name, y in series.items():
        fig.add_scatter(x=list(x), y=list(y), mode="lines+markers", name=name,
                        marker=dict(size=4))
    for name, y in (secondary or {}).items():
        fig.add_scatter(x=list(x), y=list(y), mode="lines", name=name, yaxis="y2",
                        line=dict(dash="dot"))
    _layout(fig, y_title, x_title, height)
    if vline is not None:
        fig.add_vline(x=vline[0], line_dash="dash", line_color="#888")
        fig.add_annotation(x=vline[0], y=1, yref="paper", text=vline[1], showarrow=False,
                           xanchor="left", font=dict(color="#666"))
    if secondary:
        # ticks of its own (an overlaying axis syncs to the first one's by default, which
        # gave ticks such as 1, 47, 93); both axes from zero, so the lines compare
        fig.update_layout(yaxis=dict(rangemode="tozero"),
                          yaxis2=dict(title=y2_title, overlaying="y", side="right",
                                      showgrid=False, rangemode="tozero", tickmode="auto",
                                      tickformat=",d"))
    return to_json(fig)


def histogram(centres, counts, x_title: str, y_title: str, height: int = 300) -> str:
    fig = go.Figure()
    fig.add_bar(x=list(centres), y=list(counts), marker_color=PALETTE[0], name=y_title)
    fig.update_layout(bargap=0.05)
    return to_json(_layout(fig, y_title, x_title, height))
