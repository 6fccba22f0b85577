"""On the demo company at 20,000 customers, mart_channels recovers each channel's true effect
(truth/channel_effects.csv) within its interval, for all channels but at most one.

Cheaper than the whole chain: only the campaign files are loaded (the campaign marts need no
identity resolution), into the suite's warehouse on each engine."""

from __future__ import annotations

import pandas as pd

from prisme.analytics.manager import ManagerSummary, campaign_stage
from prisme.config import load_settings
from prisme.demo import generate
from prisme.ingest.load import ingest

CAMPAIGN_SOURCES = ["campaigns", "crm_campaign_contacts", "shop_campaign_contacts",
                    "callcentre_campaign_contacts"]


def test_true_channel_effects_lie_in_their_intervals(settings, engine):
    root = settings.root
    generate(customers=20_000, seed=42, directory=root)
    settings.sources = load_settings(root).sources
    results = ingest(settings, CAMPAIGN_SOURCES, engine=engine)
    assert all(r.rows_quarantined == 0 for r in results)
    campaign_stage(engine, settings, ManagerSummary())
    mart = engine.to_pandas(engine.table("mart_channels")).set_index("channel")
    truth = pd.read_csv(root / "truth/channel_effects.csv").set_index("channel")
    assert set(mart.index) == set(truth.index)
    inside = {ch: bool(mart.loc[ch, "lift_low"] <= truth.loc[ch, "true_effect"]
                       <= mart.loc[ch, "lift_high"]) for ch in truth.index}
    assert sum(not v for v in inside.values()) <= 1, (inside, mart[["lift", "lift_low",
                                                                    "lift_high"]], truth)
    # big enough to measure: the strongest channel is significant after the correction
    assert mart.loc["phone", "p_adjusted"] < 0.05
    assert mart.loc["phone", "sentence"].startswith("phone beats no contact by")
    assert (mart["contacted"] == truth["n_treatment"].reindex(mart.index)).all()
