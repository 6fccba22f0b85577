"""The management report: ``prisme report --out FILE.html|FILE.pdf [--lang en|fr]``.

One self-contained page (Plotly's JavaScript inlined from the installed package: it opens
offline and can be mailed) with the overview, segments, customer value, churn, campaigns and
forecasts — each with the sentences a manager acts on and its charts — read from the
published marts. A section whose table the warehouse does not hold yet says so plainly
instead of showing an empty chart. PDF is the same page printed by Chromium
(``chromium --headless --print-to-pdf``; Debian's package, nothing downloaded).
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from prisme.act.report_text import CURRENCY, TEXT, fmt_money, fmt_num, fmt_pct, segment_name
from prisme.i18n import findings
from prisme.i18n import reasons as churn_reasons

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
PALETTE = ["#2f6db5", "#e08a2b", "#3d9a5b", "#c0392b", "#7d5ba6", "#8c6d31", "#d95f9a",
           "#5a8f9e", "#9aa13b", "#555555", "#b07aa1"]


@dataclass
class Section:
    key: str
    title: str
    sentences: list[str] = field(default_factory=list)
    figures: list = field(default_factory=list)  # plotly figures
    tables: list[pd.DataFrame] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: str | None = None  # the sentence saying what is not there yet


def _mart(engine, s: Section, t: dict, name: str) -> pd.DataFrame | None:
    """The mart, or None with the section saying it is missing or empty."""
    if not engine.has_table(name):
        s.missing = t["missing"].format(table=name)
        return None
    df = engine.to_pandas(engine.table(name))
    if df.empty:
        s.missing = t["empty"].format(table=name)
        return None
    return df


def _has_values(engine, table: str, column: str) -> bool:
    if not engine.has_table(table) or column not in engine.table(table).columns:
        return False
    t = engine.table(table)
    return bool(engine.scalar(t[column].notnull().sum()) or 0)


def _fig(title: str, height: int = 300):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=height, width=720,
                      margin=dict(l=60, r=20, t=40, b=50), template="plotly_white",
                      font=dict(family="DejaVu Sans, Arial, sans-serif", size=11),
                      legend=dict(orientation="h", y=-0.3, yanchor="top"),
                      xaxis=dict(automargin=True), yaxis=dict(automargin=True))
    return fig


# ---------------------------------------------------------------------------- sections
def _overview(engine, t: dict, lang: str) -> Section:
    s = Section("overview", t["overview"])
    if not engine.has_table("customer_360"):
        s.missing = t["missing"].format(table="customer_360")
        return s
    c = engine.table("customer_360")
    row = engine.to_pandas(c.aggregate(
        parties=c.count(), buyers=(c.orders.fill_null(0) > 0).sum() if "orders" in c.columns
        else c.count(), revenue=c.revenue.sum().cast("float64"),
        clv=c.clv_12m.sum(), as_of=c.as_of.max())).iloc[0]
    as_of = pd.Timestamp(row.as_of).date() if pd.notna(row.as_of) else None
    s.sentences.append(t["overview_s"].format(
        parties=fmt_num(row.parties, lang), buyers=fmt_num(row.buyers, lang),
        revenue=fmt_money(row.revenue, lang), clv=fmt_money(row.clv, lang),
        as_of=as_of or "—"))
    if engine.has_table("fact_sales") and engine.has_table("party_map"):
        from prisme.warehouse import core

        sales = core.active_sales(engine) if hasattr(core, "active_sales") else \
            engine.table("fact_sales")
        month = sales.ordered_at.truncate("M")
        by = engine.to_pandas(sales.group_by(month=month).aggregate(
            revenue=sales.revenue.sum().cast("float64"), orders=sales.order_id.nunique())
            .order_by("month"))
        by = by.tail(25)
        if len(by) >= 2:
            fig = _fig(t["revenue_by_month"])
            fig.add_bar(x=by.month, y=by.revenue, marker_color=PALETTE[0], name=t["revenue"])
            s.figures.append(fig)
            last = by.iloc[-2] if len(by) >= 2 else by.iloc[-1]  # the last full month
            year_before = by[by.month == last.month - pd.DateOffset(years=1)]
            if len(year_before):
                change = last.revenue / year_before.revenue.iloc[0] - 1
                s.sentences.append(t["month_vs_year"].format(
                    month=f"{last.month:%m/%Y}", revenue=fmt_money(last.revenue, lang),
                    change=fmt_pct(change, lang, signed=True)))
    return s


def _segments(engine, t: dict, lang: str) -> Section:
    s = Section("segments", t["segments"])
    seg = _mart(engine, s, t, "mart_rfm_segments")
    if seg is None:
        return s
    seg["revenue"] = seg.revenue.astype(float)
    seg = seg.sort_values("revenue_share", ascending=False)
    for row in seg.head(3).itertuples():
        s.sentences.append(t["segment_s"].format(
            seg=segment_name(row.rfm_segment, lang), cust=fmt_pct(row.customer_share, lang),
            rev=fmt_pct(row.revenue_share, lang), risk=fmt_pct(row.churn_risk, lang)))
    names = [segment_name(x, lang) for x in seg.rfm_segment]
    fig = _fig(t["segment_chart"], 330)
    fig.add_bar(x=names, y=seg.customer_share, name=t["share_customers"],
                marker_color=PALETTE[0])
    fig.add_bar(x=names, y=seg.revenue_share, name=t["share_revenue"],
                marker_color=PALETTE[1])
    fig.update_layout(barmode="group", yaxis_tickformat=".0%")
    s.figures.append(fig)
    if engine.has_table("mart_clusters"):
        cl = engine.to_pandas(engine.table("mart_clusters"))
        for row in cl.sort_values("customers", ascending=False).head(4).itertuples():
            s.sentences.append(t["cluster_s"].format(
                label=row.cluster_label, cust=fmt_pct(row.customer_share, lang),
                rev=fmt_pct(row.revenue_share, lang)))
    return s


def _value(engine, t: dict, lang: str) -> Section:
    s = Section("value", t["value"])
    if not _has_values(engine, "customer_360", "clv_12m"):
        s.missing = t["missing_col"].format(column="clv_12m", table="customer_360")
        return s
    c = engine.table("customer_360")
    clv = engine.to_pandas(c.filter(c.clv_12m.notnull()).select("clv_12m", "clv_12m_low",
                                                                 "clv_12m_high", "rfm_segment"))
    total = clv.clv_12m.sum()
    top = clv.clv_12m.sort_values(ascending=False)
    k = max(1, int(math.ceil(0.2 * len(top))))
    share = top.head(k).sum() / total if total else float("nan")
    s.sentences.append(t["value_s"].format(
        total=fmt_money(total, lang), low=fmt_money(clv.clv_12m_low.sum(), lang),
        high=fmt_money(clv.clv_12m_high.sum(), lang), top=fmt_pct(share, lang)))
    by = clv.groupby("rfm_segment", dropna=True).clv_12m.agg(["sum", "mean"]) \
        .sort_values("sum", ascending=False)
    fig = _fig(t["value_chart"], 330)
    fig.add_bar(x=[segment_name(x, lang) for x in by.index], y=by["sum"],
                marker_color=PALETTE[2], name=t["clv"])
    s.figures.append(fig)
    if len(by):
        s.sentences.append(t["value_top_seg"].format(
            seg=segment_name(by.index[0], lang), sum=fmt_money(by["sum"].iloc[0], lang),
            mean=fmt_money(by["mean"].iloc[0], lang)))
    return s


def _churn(engine, t: dict, lang: str) -> Section:
    s = Section("churn", t["churn"])
    if not _has_values(engine, "customer_360", "churn_probability"):
        s.missing = t["churn_missing"]
        if engine.has_table("mart_rfm_segments"):
            seg = engine.to_pandas(engine.table("mart_rfm_segments")).dropna(
                subset=["churn_risk"])
            seg = seg.sort_values("churn_risk", ascending=False)
            fig = _fig(t["risk_chart"])
            fig.add_bar(x=[segment_name(x, lang) for x in seg.rfm_segment], y=seg.churn_risk,
                        marker_color=PALETTE[3], name=t["churn"])
            fig.update_layout(yaxis_tickformat=".0%", yaxis_range=[0, 1])
            s.figures.append(fig)
            risky = seg[seg.churn_risk >= 0.5].sort_values("clv_12m", ascending=False)
            if len(risky):
                r = risky.iloc[0]
                s.sentences.append(t["palive_s"].format(
                    seg=segment_name(r.rfm_segment, lang), n=fmt_num(r.customers, lang),
                    risk=fmt_pct(r.churn_risk, lang)))
        return s
    c = engine.table("customer_360")
    df = engine.to_pandas(c.filter(c.churn_probability.notnull()).select(
        "churn_probability", "churn_reasons", "clv_12m"))
    high = df[df.churn_probability >= 0.5]
    s.sentences.append(t["churn_s"].format(
        n=fmt_num(len(high), lang), share=fmt_pct(len(high) / len(df), lang),
        clv=fmt_money(high.clv_12m.fillna(0).sum(), lang)))
    import plotly.graph_objects as go

    fig = _fig(t["churn_chart"])
    fig.add_trace(go.Histogram(x=df.churn_probability, nbinsx=20, marker_color=PALETTE[3],
                               name=t["customers"]))
    fig.update_layout(xaxis_tickformat=".0%", bargap=0.05)
    s.figures.append(fig)
    # what the reasons are about (their codes), counted per customer at risk
    reasons = churn_reasons.topic_counts(high.churn_reasons.dropna(), lang).head(5)
    if len(reasons):
        s.tables.append(pd.DataFrame({t["reason"]: reasons.index,
                                      t["customers"]: reasons.to_numpy()}))
    return s


def _rows_with_sentences(df: pd.DataFrame, lang: str) -> list[str]:
    """Each row's findings in ``lang`` (``prisme.i18n.findings``); a mart built before the
    findings gives its stored English sentence."""
    if "findings" in df.columns:
        said = [findings.text(x, lang, CURRENCY.get("code")) for x in df["findings"]]
        return [x for x in said if x]
    return [str(x) for x in df["sentence"].dropna()] if "sentence" in df.columns else []


def _campaigns(engine, t: dict, lang: str) -> Section:
    s = Section("campaigns", t["campaigns"])
    found = False
    if engine.has_table("mart_channels"):
        found = True
        ch = engine.to_pandas(engine.table("mart_channels"))
        s.sentences.extend(_rows_with_sentences(ch, lang))
        if {"channel", "lift"} <= set(ch.columns) and ch.lift.notna().any():
            ch = ch.dropna(subset=["lift"])
            fig = _fig(t["lift_chart"])
            err = None
            if {"lift_low", "lift_high"} <= set(ch.columns):
                err = dict(type="data", symmetric=False,
                           array=(ch.lift_high - ch.lift).tolist(),
                           arrayminus=(ch.lift - ch.lift_low).tolist())
            fig.add_bar(x=ch.channel, y=ch.lift, error_y=err, marker_color=PALETTE[4],
                        name=t["lift"])
            fig.update_layout(yaxis_tickformat=".1%")
            s.figures.append(fig)
    if engine.has_table("mart_campaigns"):
        found = True
        cp = engine.to_pandas(engine.table("mart_campaigns"))
        if "p_adjusted" in cp.columns:  # the campaigns with the strongest evidence first
            cp = cp.sort_values(["p_adjusted", "lift"], ascending=[True, False],
                                na_position="last")
        s.sentences.extend(_rows_with_sentences(cp, lang)[:3])
        show = [c for c in ("name", "channel", "contacted", "converted", "revenue", "cost",
                            "lift", "p_adjusted", "roi") if c in cp.columns]
        if show:
            table = cp[show].head(15).copy()
            for col in ("lift", "roi"):
                if col in table.columns:
                    table[col] = [fmt_pct(v, lang, signed=True) for v in table[col]]
            if "channel" in table.columns:
                table["channel"] = [findings.channel_name(c, lang) if isinstance(c, str) else c
                                    for c in table["channel"]]
            s.tables.append(table)
    if not found:
        s.missing = t["missing"].format(table="mart_campaigns / mart_channels")
    if engine.has_table("mart_target_lists"):
        from prisme.act.targets import say_lift

        tl = engine.to_pandas(engine.table("mart_target_lists"))
        for row in tl.to_dict("records"):
            sentence, warning = say_lift(row, lang)
            s.sentences.append(sentence + (f" ({warning})" if warning else ""))
    return s


def _forecasts(engine, t: dict, lang: str) -> Section:
    s = Section("forecasts", t["forecasts"])
    fc = _mart(engine, s, t, "mart_forecasts")
    if fc is None:
        return s
    if "dimension" in fc.columns and (fc.dimension == "total").any():
        fc = fc[fc.dimension == "total"]  # the company's totals; the breakdowns are online
    if {"findings", "series", "kind", "value"} <= set(fc.columns):
        for key, g in fc.groupby("series", sort=True):
            s.sentences.append(findings.forecast_sentence(
                g[g.kind == "forecast"], lang, CURRENCY.get("code"),
                money=key in ("revenue", "margin"),
                label=findings.series_label(key, lang=lang)))
    else:
        s.sentences.extend(dict.fromkeys(_rows_with_sentences(fc, lang)))  # once each
    when = next((c for c in fc.columns if pd.api.types.is_datetime64_any_dtype(fc[c])
                 or c in ("month", "date", "period", "ds")), None)
    value = next((c for c in ("value", "mean", "forecast", "yhat") if c in fc.columns), None)
    series = next((c for c in ("series", "measure", "metric", "target") if c in fc.columns),
                  None)
    if when is None or value is None:
        s.tables.append(fc.head(20))
        return s
    groups = fc.groupby(series) if series else [(t["forecasts"], fc)]
    for name, g in groups:
        g = g.sort_values(when)
        if "kind" in g.columns:
            past, ahead = g[g.kind != "forecast"], g[g.kind == "forecast"]
        else:
            past, ahead = g.iloc[:0], g
        fig = _fig(f"{t['forecasts']} — {name}")
        if len(past):
            fig.add_scatter(x=past[when], y=past[value], mode="lines", name=t["actual"],
                            line=dict(color=PALETTE[9]))
        if {"lower", "upper"} <= set(ahead.columns) and ahead.lower.notna().any():
            fig.add_scatter(x=ahead[when], y=ahead.upper, mode="lines", line=dict(width=0),
                            showlegend=False, hoverinfo="skip")
            fig.add_scatter(x=ahead[when], y=ahead.lower, mode="lines", line=dict(width=0),
                            fill="tonexty", fillcolor="rgba(47,109,181,0.2)",
                            name=t["interval"])
        fig.add_scatter(x=ahead[when], y=ahead[value], mode="lines+markers",
                        name=t["forecast"], line=dict(color=PALETTE[0]))
        s.figures.append(fig)
    return s


SECTIONS = (_overview, _segments, _value, _churn, _campaigns, _forecasts)


def gather(engine, lang: str = "en", currency: str = "EUR") -> list[Section]:
    """Every section, from the published marts (amounts in ``currency``)."""
    if lang not in TEXT:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(TEXT)}")
    t = TEXT[lang]
    CURRENCY["code"] = currency
    return [make(engine, t, lang) for make in SECTIONS]


# ---------------------------------------------------------------------------- rendering
_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;color:#222;margin:0 auto;max-width:780px;
 padding:24px;line-height:1.45}
h1{font-size:22px;margin:0 0 4px} .sub{color:#666;font-size:12px;margin-bottom:18px}
h2{font-size:17px;border-bottom:2px solid #2f6db5;padding-bottom:3px;margin-top:28px}
ul.s{padding-left:18px} ul.s li{margin:3px 0}
.missing{background:#fff6e0;border-left:4px solid #e0a52b;padding:6px 10px;font-size:13px}
.warn{color:#a0522d;font-size:12px}
table{border-collapse:collapse;font-size:11px;margin:8px 0} th,td{border:1px solid #ddd;
 padding:3px 6px;text-align:left} th{background:#f2f4f8}
.fig{margin:6px 0}
@media print{body{max-width:none;padding:0} section{break-inside:auto}
 .fig,table{break-inside:avoid} h2{break-after:avoid}}
@page{size:A4;margin:14mm 12mm}
"""


def _cell(v, lang: str) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else fmt_num(v, lang, 2 if abs(v) < 10 else 0)
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_html(sections: list[Section], *, lang: str = "en", title: str = "Prisme",
                generated: _dt.datetime | None = None) -> str:
    """The self-contained page (every text escaped; Plotly inlined once)."""
    from plotly.offline import get_plotlyjs

    t = TEXT[lang]
    generated = generated or _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    e = html.escape
    parts = [f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
             f"<title>{e(t['title'])} — {e(title)}</title><style>{_CSS}</style>"
             f"<script>{get_plotlyjs()}</script></head><body>",
             f"<h1>{e(t['title'])} — {e(title)}</h1>",
             f"<div class=\"sub\">{e(t['generated'])} {generated:%Y-%m-%d %H:%M} UTC</div>"]
    for s in sections:
        parts.append(f"<section id=\"{s.key}\"><h2>{e(s.title)}</h2>")
        if s.missing:
            parts.append(f"<p class=\"missing\">{e(s.missing)}</p>")
        if s.sentences:
            parts.append("<ul class=\"s\">" + "".join(f"<li>{e(_cap(x))}</li>"
                                                        for x in s.sentences)
                         + "</ul>")
        for w in s.warnings:
            parts.append(f"<p class=\"warn\">{e(w)}</p>")
        for fig in s.figures:
            parts.append("<div class=\"fig\">" + fig.to_html(
                full_html=False, include_plotlyjs=False,
                config={"displayModeBar": False, "responsive": False}) + "</div>")
        for tab in s.tables:
            head = "".join(f"<th>{e(str(c))}</th>" for c in tab.columns)
            body = "".join("<tr>" + "".join(f"<td>{e(_cell(v, lang))}</td>" for v in row)
                           + "</tr>" for row in tab.itertuples(index=False, name=None))
            parts.append(f"<table><tr>{head}</tr>{body}</table>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def chromium() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("PDF needs Chromium: install Debian's package "
                       "(apt-get update && apt-get install -y chromium), or write .html")


def html_to_pdf(html_file: Path, pdf_file: Path, *, timeout: float = 120) -> Path:
    """Print a page to PDF with headless Chromium (JavaScript runs first: the charts are
    drawn before printing)."""
    with tempfile.TemporaryDirectory(prefix="prisme-chromium-") as profile:
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               "--virtual-time-budget=10000", f"--print-to-pdf={pdf_file}",
               Path(html_file).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not Path(pdf_file).exists() or Path(pdf_file).stat().st_size == 0:
        raise RuntimeError(f"Chromium could not print {html_file} to PDF: "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")
    return Path(pdf_file)


def write_report(engine, settings, out: Path, *, lang: str = "en", actor: str) -> Path:
    """Write the report as HTML or PDF (by the extension of ``out``); audited."""
    from prisme.access import audit

    out = Path(out)
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("html", "htm", "pdf"):
        raise ValueError(f"{out}: the report is written as .html or .pdf")
    sections = gather(engine, lang, settings.project.currency)
    page = render_html(sections, lang=lang, title=settings.project.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    if kind == "pdf":
        with tempfile.TemporaryDirectory(prefix="prisme-report-") as tmp:
            src = Path(tmp) / "report.html"
            src.write_text(page, encoding="utf-8")
            html_to_pdf(src, out)
    else:
        out.write_text(page, encoding="utf-8")
    audit.record(settings.root, actor, "report", out.name, {
        "format": kind, "lang": lang,
        "sections": [s.key for s in sections if not s.missing],
        "missing": [s.key for s in sections if s.missing]})
    return out


__all__ = ["Section", "gather", "html_to_pdf", "render_html", "write_report"]
