"""The management report: sections from the marts, plain words when a mart is missing,
self-contained HTML, French, and a PDF printed by Chromium."""

from __future__ import annotations

import re

import ibis
import pandas as pd
import pytest
from act_tables import customers, write_c360

from prisme.access import audit
from prisme.act import report

HOSTILE = "<script>alert('x')</script>"


@pytest.fixture
def marts(engine):
    df = customers(200)
    df.loc[df.rfm_segment == "champions", "rfm_segment"] = HOSTILE
    write_c360(engine, df.assign(revenue=df.clv_12m * 3, p_alive=0.6))
    c = engine.table("customer_360")
    seg = c.group_by("rfm_segment").aggregate(
        customers=c.count(), revenue=c.revenue.sum(), clv_12m=c.clv_12m.sum(),
        churn_risk=(1 - c.p_alive).mean())
    seg = seg.mutate(customer_share=seg.customers / 200,
                     revenue_share=seg.revenue / df.clv_12m.sum() / 3)
    engine.create_table("mart_rfm_segments", seg, overwrite=True)
    return df


def test_sections_and_missing_stages_said_plainly(engine, settings, marts):
    sections = {s.key: s for s in report.gather(engine, "en")}
    assert list(sections) == ["overview", "segments", "value", "churn", "campaigns",
                              "forecasts"]
    assert "200 customers" in sections["overview"].sentences[0]
    assert sections["segments"].figures and sections["value"].figures
    assert sections["churn"].figures  # churn_probability is filled in this warehouse
    assert "mart_campaigns" in sections["campaigns"].missing
    assert "mart_forecasts" in sections["forecasts"].missing
    total = f"{marts.clv_12m.sum():,.0f}"
    assert total in sections["value"].sentences[0]


def test_html_is_self_contained_and_escapes_data(engine, settings, marts, tmp_path):
    out = report.write_report(engine, settings, tmp_path / "r.html", actor="cli:test")
    page = out.read_text(encoding="utf-8")
    assert "Plotly" in page and len(page) > 1_000_000  # plotly.js inlined
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"http", page)
    assert HOSTILE not in page  # neither in the sentences nor in the charts' data
    assert "&lt;script&gt;alert" in page
    assert audit.events(settings.root, action="report")[0]["detail"]["missing"] == [
        "campaigns", "forecasts"]


def test_french_report_and_other_helpers_marts(engine, settings, marts):
    engine.create_table("mart_channels", ibis.memtable(pd.DataFrame({
        "channel": ["email", "post"], "lift": [0.021, 0.004], "lift_low": [0.015, -0.002],
        "lift_high": [0.027, 0.010], "p_value": [0.001, 0.2],
        "sentence": ["email beats no contact by 2.1 points", "post: not significant"]})))
    months = pd.date_range("2025-01-01", periods=18, freq="MS")
    engine.create_table("mart_forecasts", ibis.memtable(pd.DataFrame({
        "series": "revenue", "date": months, "mean": range(18),
        "lower": [x - 2 for x in range(18)], "upper": [x + 2 for x in range(18)],
        "sentence": "revenue grows"})))
    sections = {s.key: s for s in report.gather(engine, "fr")}
    assert sections["overview"].title == "Vue d'ensemble"
    assert "clients" in sections["overview"].sentences[0]
    assert sections["campaigns"].missing is None
    assert "email beats no contact by 2.1 points" in sections["campaigns"].sentences
    assert len(sections["campaigns"].figures) == 1
    assert sections["forecasts"].sentences == ["revenue grows"]
    assert len(sections["forecasts"].figures) == 1
    assert any("à risque" in s or "fidèles" in s or "champions" in s
               for s in sections["segments"].sentences)


def test_pdf_through_chromium(engine, settings, marts, tmp_path):
    out = report.write_report(engine, settings, tmp_path / "r.pdf", lang="fr",
                              actor="cli:test")
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2


def test_unknown_format_and_language_are_refused(engine, settings, marts, tmp_path):
    with pytest.raises(ValueError, match=".html or .pdf"):
        report.write_report(engine, settings, tmp_path / "r.docx", actor="x")
    with pytest.raises(ValueError, match="unknown language"):
        report.gather(engine, "de")


def test_french_report_says_the_manager_findings_in_french(engine, settings, marts):
    """Marts with findings (codes and figures): the French report says them in French, not
    the stored English sentence; the English report in English."""
    from prisme.analytics.findings import encode, finding

    engine.create_table("mart_channels", ibis.memtable(pd.DataFrame({
        "channel": ["email", "post"], "lift": [0.021, 0.004], "lift_low": [0.015, -0.005],
        "lift_high": [0.027, 0.013], "p_value": [0.0001, 0.3],
        "sentence": ["email beats no contact by 2.1 points", "post: not significant"],
        "findings": [encode([finding("beats", channel="email", lift=0.021, low=0.015,
                                     high=0.027, p=0.0003),
                             finding("roi", roi=1.4, established=True)]),
                     encode([finding("not_significant", channel="post", lift=0.004,
                                     low=-0.005, high=0.013, p=0.62)])]})))
    months = pd.date_range("2025-01-01", periods=15, freq="MS")
    kind = ["actual"] * 12 + ["forecast"] * 3
    engine.create_table("mart_forecasts", ibis.memtable(pd.DataFrame({
        "series": "revenue", "dimension": "total", "member": "all", "month": months,
        "kind": kind, "value": [1000.0] * 15,
        "sentence": "revenue: airline (log) was off by 4.2% on average",
        "findings": [None] * 12 + [encode([finding(
            "backtest", model="airline (log)", mape=4.2, mase=0.7, base_mape=6.0,
            base_mase=0.9, folds=3, better=True)])] * 3})))
    fr = {s.key: s for s in report.gather(engine, "fr")}
    said = fr["campaigns"].sentences
    assert said[0] == ("Le canal e-mail fait mieux que l'absence de contact : +2,1 points de "
                       "conversion, à ±0,6 près (p ajusté < 0,001). Retour sur "
                       "investissement : +140\u00a0%.")
    assert said[1].startswith("Le canal courrier ne fait pas significativement mieux")
    assert not any("beats" in s or "not significant" in s for s in said)
    [forecast] = fr["forecasts"].sentences
    assert forecast.startswith("Chiffre d'affaires, prévision sur les 3 prochains mois : "
                               "3\u202f000\u00a0€. Le modèle retenu, airline sur le log, s'est "
                               "trompé de 4,2\u00a0%")
    en = {s.key: s for s in report.gather(engine, "en")}
    assert en["campaigns"].sentences[0].startswith("E-mail beats no contact by 2.1 points")
    assert en["forecasts"].sentences[0].startswith("Revenue, forecast over the next 3 months: "
                                                   "€3,000.")
