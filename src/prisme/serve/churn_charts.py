"""Plotly figures of the churn model's evaluation (the tables ``churn_calibration`` and
``churn_lift`` of one model version), for the churn page. Each builder takes the rows of one
version as a DataFrame and returns the figure as JSON for ``Plotly.newPlot``; the caption to
show beside it comes from :func:`captions`."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from prisme.serve.charts import PALETTE, _layout, to_json

#: the words of the figures in French
_FR = {"perfect calibration": "calibration parfaite", "churn model": "modèle d'attrition",
       "observed churn rate": "taux d'attrition observé",
       "predicted churn probability": "probabilité d'attrition prédite",
       "× average churn rate": "× le taux d'attrition moyen",
       "decile of predicted risk (1 = riskiest)": "décile de risque prédit (1 = le plus risqué)",
       "random order": "ordre au hasard",
       "share of the customers who left": "part des clients partis trouvés",
       "share of customers contacted": "part des clients contactés"}


def _w(text: str, lang: str) -> str:
    return _FR.get(text, text) if lang == "fr" else text


def calibration_figure(calibration: pd.DataFrame, lang: str = "en") -> str:
    """Predicted vs observed churn rate per band of predicted risk (a calibrated score lies
    on the diagonal); marker size = customers in the band."""
    c = calibration.sort_values("bin")
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=_w("perfect calibration", lang),
                    line=dict(dash="dot", color="#9aa3ad"))
    size = 8 + 22 * c.customers / max(float(c.customers.max()), 1.0)
    fig.add_scatter(x=c.predicted.tolist(), y=c.observed.tolist(), mode="lines+markers", name=_w("churn model", lang),
                    marker=dict(size=size.tolist(), color=PALETTE[0]),
                    customdata=c.customers.tolist(),
                    hovertemplate="predicted %{x:.0%}<br>observed %{y:.0%}<br>"
                                  "%{customdata:,} customers<extra></extra>")
    fig = _layout(fig, _w("observed churn rate", lang), _w("predicted churn probability", lang))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return to_json(fig)


def lift_figure(lift: pd.DataFrame, lang: str = "en") -> str:
    """Churn rate per decile of predicted risk (1 = riskiest), as a multiple of the average."""
    d = lift.sort_values("decile")
    fig = go.Figure()
    fig.add_bar(x=d.decile.tolist(), y=d.lift.tolist(), name="lift", marker_color=PALETTE[1],
                customdata=d.churn_rate.tolist(),
                hovertemplate="decile %{x}: %{y:.1f}× the average "
                              "(churn rate %{customdata:.0%})<extra></extra>")
    fig.add_hline(y=1.0, line_dash="dot", line_color="#9aa3ad")
    fig = _layout(fig, _w("× average churn rate", lang),
                  _w("decile of predicted risk (1 = riskiest)", lang))
    fig.update_xaxes(dtick=1)
    return to_json(fig)


def gain_figure(lift: pd.DataFrame, lang: str = "en") -> str:
    """Cumulative share of the customers who left, found by calling the riskiest first."""
    d = lift.sort_values("decile")
    share = d.customers.cumsum() / d.customers.sum()
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=_w("random order", lang),
                    line=dict(dash="dot", color="#9aa3ad"))
    fig.add_scatter(x=[0.0, *share.tolist()], y=[0.0, *d.cumulative_gain.tolist()], mode="lines+markers",
                    name=_w("churn model", lang), line=dict(color=PALETTE[0]))
    fig = _layout(fig, _w("share of the customers who left", lang),
                  _w("share of customers contacted", lang))
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return to_json(fig)


def captions(metrics: dict[str, float], horizon_days: int, evaluated_as_of) -> dict[str, str]:
    """One sentence per figure, with the figures a manager acts on."""
    top = metrics.get("top_decile_lift", float("nan"))
    return {
        "calibration": (
            f"On the {horizon_days} days after {evaluated_as_of}, unseen when the model was "
            f"trained, a predicted risk of x % came true about x % of the time (average gap "
            f"{metrics.get('calibration_error', float('nan')):.1%})."),
        "lift": (f"The riskiest 10 % of customers left {top:.1f}× as often as the average "
                 "customer: start retention calls there."),
        "gain": (f"ROC-AUC {metrics.get('roc_auc', float('nan')):.2f}, PR-AUC "
                 f"{metrics.get('pr_auc', float('nan')):.2f} (churn rate "
                 f"{metrics.get('base_rate', float('nan')):.0%})."),
    }
