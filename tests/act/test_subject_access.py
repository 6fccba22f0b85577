"""Right of access on the small demo: everything held on one person, as JSON and HTML."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from prisme import engine as engine_mod
from prisme.access import audit
from prisme.cli import app
from prisme.config import load_settings

runner = CliRunner()


@pytest.mark.slow
def test_subject_access_exports_every_layer_and_is_audited(demo_copy, tmp_path):
    settings = load_settings(demo_copy)
    with engine_mod.connect(settings, read_only=True) as eng:
        pm = eng.to_pandas(eng.table("party_map"))
        dc = eng.to_pandas(eng.table("dim_customer"))
    several = pm.groupby("party_id").size()
    party = several[several == 3].index[0]
    keys = pm[pm.party_id == party]
    recs = dc.merge(keys, on=["source", "source_customer_id"])
    email = recs.email.dropna().iloc[0]
    audit.record(demo_copy, "alice", "view_customer", party)
    out = tmp_path / "access" / "person.json"
    result = runner.invoke(app, ["subject-access", "--project", str(demo_copy), "--email",
                                 email, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["parties"] == [party]
    assert set(data["records"]) == {f"{s}:{c}" for s, c in
                                    zip(keys.source, keys.source_customer_id, strict=True)}
    t = data["tables"]
    assert {r["email"] for r in t["core_customer_versions"]} >= {email}
    assert [r["party_id"] for r in t["customer_360"]] == [party]
    assert len(t["party_map"]) == 3 and "fact_sales" in t
    assert all(r["source_customer_id"] in set(keys.source_customer_id) for r in t["fact_sales"])
    assert [e["actor"] for e in data["audit"]] == ["alice"]
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert email in html and "core_customer_versions" in html
    ev = audit.events(demo_copy, action="subject_access")[0]
    assert ev["subject"] == party and ev["actor"].startswith("cli:")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_html_page_says_churn_reasons_in_words_and_the_json_keeps_codes(tmp_path, lang):
    import html

    from prisme.act.subject_access import write
    from prisme.i18n import reasons

    raw = '[{"code":"no_purchase","days":213,"usual_days":42},{"code":"complaints","n":2}]'
    data = {"generated_at": "2026-12-03T08:00:00+00:00", "records": ["crm:C1"],
            "parties": ["P1"], "audit": [],
            "tables": {"customer_360": [{"party_id": "P1", "churn_reasons": raw}],
                       "churn_scores": [{"party_id": "P1", "churn_reasons": None}]}}
    js, page = write(data, tmp_path / "person.json", lang)
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert reasons.text(raw, lang) in text
    assert '"code"' not in text and "no_purchase" not in text
    assert f'<html lang="{lang}">' in text
    assert ("Données personnelles détenues par Prisme" if lang == "fr" else
            "Personal data held by Prisme") in text
    if lang == "fr":
        assert "aucun achat depuis 7 mois" in text and "no purchase" not in text
    # the machine-readable file keeps what is stored
    assert json.loads(js.read_text(encoding="utf-8"))["tables"]["customer_360"][0][
        "churn_reasons"] == raw
