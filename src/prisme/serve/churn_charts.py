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
       "share of customers contacted": "part des clients contactés",
       "predicted %{x:.0%}<br>observed %{y:.0%}<br>%{customdata:,} customers<extra></extra>":
       "prédit %{x:.0%}<br>observé %{y:.0%}<br>%{customdata:,} clients<extra></extra>",
       "decile %{x}: %{y:.1f}× the average (churn rate %{customdata:.0%})<extra></extra>":
       "décile %{x} : %{y:.1f}× la moyenne (taux d'attrition %{customdata:.0%})"
       "<extra></extra>"}


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
                    hovertemplate=_w("predicted %{x:.0%}<br>observed %{y:.0%}<br>"
                                     "%{customdata:,} customers<extra></extra>", lang))
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
                hovertemplate=_w("decile %{x}: %{y:.1f}× the average "
                                 "(churn rate %{customdata:.0%})<extra></extra>", lang))
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


def calibration_example(calibration: pd.DataFrame | None, min_share: float = 0.05):
    """(predicted, observed, customers) of the band that says the most: the riskiest band
    holding at least ``min_share`` of the customers (else the largest band); None without
    a calibration table."""
    if calibration is None or not len(calibration):
        return None
    c = calibration.dropna(subset=["predicted", "observed"])
    if not len(c):
        return None
    big = c[c.customers >= min_share * float(c.customers.sum())]
    row = (big.sort_values("predicted").iloc[-1] if len(big)
           else c.sort_values("customers").iloc[-1])
    return float(row.predicted), float(row.observed), int(row.customers)


def captions(metrics: dict[str, float], horizon_days: int, evaluated_as_of,
             calibration: pd.DataFrame | None = None, t=None) -> dict[str, str]:
    """One sentence per figure, with the figures a manager acts on, in the language of the
    translator ``t`` (English without one); the calibration sentence quotes a band of the
    ``calibration`` table: what was predicted and what happened."""
    from prisme.serve.i18n import Translator

    t = t or Translator("en")
    m = {k: metrics.get(k, float("nan")) for k in
         ("top_decile_lift", "calibration_error", "roc_auc", "pr_auc", "base_rate")}
    day = t.date(evaluated_as_of) if evaluated_as_of is not None else None
    example = calibration_example(calibration)
    gap = t.number(100 * m["calibration_error"], 1)
    if example is None:
        calib = t.pick(
            f"On the {horizon_days} days after {day}, unseen when the model was trained, the "
            f"predicted risks were {gap} from what happened, on average.",
            f"Sur les {horizon_days} jours suivant le {day}, inconnus du modèle à "
            f"l'entraînement, taux d'attrition prédits et observés se sont écartés en moyenne "
            f"de {gap} points.")
    else:
        predicted, observed, n = example
        calib = t.pick(
            f"On the {horizon_days} days after {day}, unseen when the model was trained, the "
            f"{t.number(n)} customers given a risk of about {t.percent(predicted)} left "
            f"{t.percent(observed)} of the time (over all bands, predicted and observed rates "
            f"are {gap} points apart on average).",
            f"Sur les {horizon_days} jours suivant le {day}, inconnus du modèle à "
            f"l'entraînement, les {t.number(n)} clients à qui il donnait un risque d'environ "
            f"{t.percent(predicted)} sont partis dans {t.percent(observed)} des cas (sur "
            f"l'ensemble des tranches, {gap} points d'écart en moyenne entre prédit et "
            "observé).")
    return {
        "calibration": calib,
        "lift": t.pick(f"The riskiest 10 % of customers left {t.number(m['top_decile_lift'], 1)}× "
                       "as often as the average customer: start retention calls there.",
                       f"Les 10\u00a0% de clients les plus risqués sont partis "
                       f"{t.number(m['top_decile_lift'], 1)}× plus souvent que la moyenne : "
                       "commencez les appels de fidélisation par eux."),
        "gain": t.pick(f"ROC-AUC {t.number(m['roc_auc'], 2)}, PR-AUC {t.number(m['pr_auc'], 2)} "
                       f"(churn rate {t.percent(m['base_rate'])}).",
                       f"ROC-AUC {t.number(m['roc_auc'], 2)}, PR-AUC {t.number(m['pr_auc'], 2)} "
                       f"(taux d'attrition {t.percent(m['base_rate'])})."),
    }
