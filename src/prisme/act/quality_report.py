"""The data-quality audit as one self-contained HTML file (``prisme quality --html FILE``).

Per-source score cards, completeness and validity bar charts, the score trend over loads and
the detail of every check. Plotly's JavaScript is embedded from the installed package, so the
file opens offline and can be mailed as is (no CDN, no external script).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from prisme.analytics import quality
from prisme.i18n import quality as words

_TEMPLATES = Path(__file__).parent / "templates"


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES),
                              autoescape=jinja2.select_autoescape(["html", "j2"]))


def _grade(score: float) -> str:
    return "good" if score >= 90 else "fair" if score >= 70 else "poor"


def _cards(audit_df: pd.DataFrame) -> list[dict]:
    sc = quality.scores(audit_df)
    sc = sc[sc.loaded_at == sc.groupby("source").loaded_at.transform("max")]
    last = quality.latest(audit_df)
    cards = []
    for r in sc.itertuples():
        rec = last[(last.source == r.source) & (last.check == "records")].n
        comps = [(f"{k} ({w:.0%})", "–" if pd.isna(getattr(r, k)) else f"{getattr(r, k):.0f}")
                 for k, w in quality.WEIGHTS.items()]
        total = 0.0 if pd.isna(r.total) else float(r.total)
        cards.append({"source": r.source, "load_id": r.load_id, "total": total,
                      "grade": _grade(total), "records": int(rec.iloc[0]) if len(rec) else 0,
                      "components": comps})
    return cards


def _bars(last: pd.DataFrame, check: str, title: str, fields=None) -> go.Figure:
    rows = last[(last.check == check) & last.value.notna()]
    if fields is not None:
        rows = rows[rows.field.isin(fields)]
    fig = go.Figure()
    for source, g in rows.groupby("source"):
        fig.add_bar(name=str(source), x=g.field.astype(str), y=100 * g.value,
                    customdata=[words.text(d) for d in g.detail],
                    hovertemplate="%{x}: %{y:.1f}%<br>%{customdata}<extra>" + str(source)
                    + "</extra>")
    fig.update_layout(title=title, barmode="group", yaxis={"title": "%", "range": [0, 100]},
                      height=380, margin={"t": 50, "b": 80})
    return fig


def _trend(audit_df: pd.DataFrame) -> go.Figure:
    tr = quality.trend(audit_df)
    fig = go.Figure()
    days = sorted({str(d) for d in tr.load_date})
    for source, g in tr.groupby("source"):
        fig.add_scatter(name=str(source), x=[str(d) for d in g.load_date], y=g.total,
                        mode="lines+markers", text=g.load_id.astype(str),
                        hovertemplate="loaded %{x} (load %{text}): %{y:.1f}<extra>"
                        + str(source) + "</extra>")
    # one point per load date, the dates in order (a category axis: never hours or seconds)
    fig.update_layout(title="Quality score over loads (by load date)",
                      xaxis={"title": "load date", "type": "category",
                             "categoryorder": "array", "categoryarray": days},
                      yaxis={"title": "score", "range": [0, 100]},
                      height=360, margin={"t": 50})
    return fig


def _fmt(v, check) -> str:
    if v is None or pd.isna(v):
        return ""
    if check in ("score", "score_component", "freshness", "records"):
        return f"{v:,.1f}" if check != "records" else f"{v:,.0f}"
    return f"{100 * v:.1f}%"


def render_html(audit_df: pd.DataFrame, *, title: str = "Data quality of the source lists") -> str:
    """The report as an HTML string (Plotly JS inline)."""
    audit_df = audit_df.copy()
    last = quality.latest(audit_df)
    figures = [
        _bars(last, "completeness", "Completeness by field (latest load)",
              [*quality.CONTACT_FIELDS, *quality.CONSENT, "near_empty"]),
        _bars(last, "validity", "Validity by field (latest load)"),
        _trend(audit_df),
    ]
    html_figs = [f.to_html(full_html=False, include_plotlyjs=False) for f in figures]
    checks = [{"source": r.source, "check": r.check, "field": "" if pd.isna(r.field) else r.field,
               "value": _fmt(r.value, r.check), "n": "" if pd.isna(r.n) else f"{int(r.n):,}",
               "detail": words.text(r.detail)}
              for r in last.itertuples()]
    weights = quality.weights_table()
    audited = audit_df.audited_at.max()
    when = "" if pd.isna(audited) else f"{pd.Timestamp(audited):%Y-%m-%d %H:%M} UTC"
    if when:  # ages depend on the day of the audit: say which
        fresh = weights.component == "freshness"
        weights.loc[fresh, "measures"] += (f"; the days since the load and since the latest "
                                           f"record are counted up to the audit of {when}")
    return _env().get_template("quality_report.html.j2").render(
        title=title,
        plotly_js=get_plotlyjs(),
        audited_at=when,
        sources=sorted(audit_df.source.dropna().unique()),
        loads=audit_df.load_id.nunique(),
        cards=_cards(audit_df),
        weights=weights.to_dict("records"),
        weights_text=" + ".join(f"{w:.0%} × {k}" for k, w in quality.WEIGHTS.items()),
        figures=html_figs,
        checks=checks,
    )


def write_html(audit_df: pd.DataFrame, path: str | Path) -> Path:
    """Write the self-contained report to ``path`` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(audit_df), encoding="utf-8")
    return path
