"""mart_campaigns and mart_channels built in the warehouse (every engine of the suite) agree
with prisme.campaigns.lift computed on the same contacts in pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.analytics.warehouse_tables import write_core

from prisme.analytics.manager import ManagerSummary, campaign_stage
from prisme.campaigns import lift, pooled_difference

#: campaign → channel, cost, contacts, control share, P(convert) treated / control
PLAN = {
    "E1": ("email", 500.0, 3000, 0.3, 0.08, 0.05),
    "E2": ("email", 700.0, 4000, 0.2, 0.12, 0.10),
    "P1": ("post", 2500.0, 3000, 0.3, 0.07, 0.07),
    "S1": ("sms", 300.0, 1000, 0.0, 0.09, 0.0),
}


@pytest.fixture
def contacts():
    rng = np.random.default_rng(5)
    rows = []
    for cid, (_, _, n, share, pt, pc) in PLAN.items():
        control = rng.random(n) < share
        conv = rng.random(n) < np.where(control, pc, pt)
        rev = np.where(conv, np.round(rng.gamma(2, 40, n), 2), np.nan)
        for i in range(n):
            rows.append({"source": "crm", "campaign_id": cid, "source_customer_id": f"{cid}-{i}",
                         "contacted_at": pd.Timestamp("2025-03-01"),
                         "group": " Control" if control[i] else "treatment",
                         "opened": bool(rng.random() < 0.3) if cid.startswith("E") else None,
                         "converted_at": pd.Timestamp("2025-03-05") if conv[i] else None,
                         "response_revenue": rev[i]})
    return pd.DataFrame(rows)


@pytest.fixture
def loaded(engine, contacts):
    write_core(engine, "campaign_contact", contacts)
    write_core(engine, "campaign", [
        {"campaign_id": cid, "name": f"Spring {cid}", "channel": ch, "cost": cost,
         "started_at": pd.Timestamp("2025-03-01")} for cid, (ch, cost, *_) in PLAN.items()])
    write_core(engine, "transaction", [
        {"source": "crm", "order_id": "1", "ordered_at": pd.Timestamp("2025-01-01"), "sku": "A",
         "quantity": 1.0, "revenue": 100.0, "cost": 60.0}])
    return engine


def test_marts_agree_with_lift_in_pandas(loaded, contacts):
    summary = ManagerSummary()
    campaign_stage(loaded, None, summary)
    camp = loaded.to_pandas(loaded.table("mart_campaigns")).set_index("campaign_id")
    chan = loaded.to_pandas(loaded.table("mart_channels")).set_index("channel")
    assert summary.marts == {"mart_campaigns": 4, "mart_channels": 3}
    c = contacts.assign(g=np.where(contacts.group.str.strip().str.lower() == "control",
                                   "control", "treated"),
                        y=contacts.converted_at.notna().astype(int))
    for cid in ("E1", "E2", "P1"):
        ref = lift(c[c.campaign_id == cid], group="g", control="control",
                   outcome="y").set_index("group").loc["treated"]
        row = camp.loc[cid]
        assert row.lift == pytest.approx(ref.lift)
        assert row.lift_low == pytest.approx(ref.lift_low)
        assert row.p_value == pytest.approx(ref.p_value)
        assert row.contacted == ref.n
        rev = lift(c[c.campaign_id == cid].assign(r=c.response_revenue.fillna(0)), group="g",
                   control="control", outcome="r", kind="mean").set_index("group").loc["treated"]
        assert row.revenue_lift == pytest.approx(rev.lift)
        assert row.revenue_p_value == pytest.approx(rev.p_value)
    assert camp.loc["E1", "opened"] == (c[(c.campaign_id == "E1") & (c.g == "treated")]
                                        .opened.fillna(False).sum())
    # Holm over the three campaigns with a control
    p = camp.loc[["E1", "E2", "P1"], "p_value"].sort_values()
    assert camp.loc[p.index[0], "p_adjusted"] == pytest.approx(min(1, 3 * p.iloc[0]))
    # no control: figures, and a plain statement
    s1 = camp.loc["S1"]
    assert not s1.has_control and pd.isna(s1.lift) and s1.contacted == 1000
    assert "no control group, so its effect cannot be measured" in s1.sentence
    assert "cannot be measured" in chan.loc["sms", "sentence"]
    # channel: MH-pooled over the email campaigns
    e = c[c.campaign_id.isin(["E1", "E2"])]
    k = e.groupby(["campaign_id", "g"]).y.agg(["sum", "count"]).unstack()
    ref = pooled_difference(k[("sum", "treated")], k[("count", "treated")],
                            k[("sum", "control")], k[("count", "control")])
    assert chan.loc["email", "lift"] == pytest.approx(ref["lift"])
    assert chan.loc["email", "lift_low"] < ref["lift"] < chan.loc["email", "lift_high"]
    assert chan.loc["email", "sentence"].startswith("email beats no contact by")
    # margin: 40% of revenue (the only sale with a known cost)
    assert camp.loc["E1", "margin"] == pytest.approx(0.4 * camp.loc["E1", "revenue"])
    gain = camp.loc["E1", "incremental_margin"]
    assert camp.loc["E1", "roi"] == pytest.approx((gain - 500) / 500)
    assert chan.loc["email", "cost"] == 1200


def test_without_contacts_the_stage_says_so(engine):
    summary = ManagerSummary()
    campaign_stage(engine, None, summary)
    assert "no campaign contact loaded" in summary.notes[0]
    assert not engine.has_table("mart_campaigns")


def test_manager_stages_on_an_empty_warehouse_say_what_is_missing(engine, settings):
    from prisme.analytics.manager import build_manager_marts
    from prisme.warehouse.core import ensure_tables

    ensure_tables(engine)
    summary = build_manager_marts(engine, settings)
    text = " | ".join(summary.notes)
    assert "no campaign contact loaded" in text
    assert "forecasts" in text and "advertising" in text and "satisfaction" in text
    assert summary.marts == {}


def test_marts_store_findings_as_codes_and_figures(loaded):
    """Beside the English sentence, each row's findings: codes and the figures of its columns
    (said in the reader's language by prisme.i18n.findings), on every engine."""
    from prisme.i18n import findings as words

    summary = ManagerSummary()
    campaign_stage(loaded, None, summary)
    camp = loaded.to_pandas(loaded.table("mart_campaigns")).set_index("campaign_id")
    chan = loaded.to_pandas(loaded.table("mart_channels")).set_index("channel")
    for cid in ("E1", "E2", "P1"):
        row = camp.loc[cid]
        found = words.parse(row.findings)
        effect = found[0]
        assert effect["code"] in ("beats", "worse", "not_significant")
        assert effect["campaign"] == cid and effect["name"] == f"Spring {cid}"
        assert effect["lift"] == pytest.approx(row.lift, rel=1e-5)
        assert effect["p"] == pytest.approx(row.p_adjusted, rel=1e-5)
        assert (effect["code"] == "beats") == bool(row.p_adjusted < 0.05 and row.lift > 0)
        assert found[1] == {"code": "responses", "contacted": row.contacted,
                            "converted": row.converted,
                            "rate": pytest.approx(row.conversion_rate, rel=1e-5)}
        assert found[2]["code"] == "roi" and found[2]["roi"] == pytest.approx(row.roi, rel=1e-5)
    assert [f["code"] for f in words.parse(camp.loc["S1", "findings"])] == ["no_control"]
    assert [f["code"] for f in words.parse(chan.loc["sms", "findings"])] == \
        ["channel_no_control"]
    email = words.parse(chan.loc["email", "findings"])
    assert email[0]["channel"] == "email" and email[0]["lift"] == pytest.approx(
        chan.loc["email", "lift"], rel=1e-5)
    # said in French: no English left, French numbers
    fr = words.text(chan.loc["email", "findings"], "fr", "EUR")
    assert fr.startswith("Le canal e-mail ") and "conversion" in fr
    assert "no contact" not in fr and "Return" not in fr
    s1 = words.text(camp.loc["S1", "findings"], "fr", "EUR")
    assert "1\u202f000 clients contactés" in s1 and "Sans groupe témoin" in s1
