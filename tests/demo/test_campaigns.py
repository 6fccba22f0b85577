"""Campaign truth: randomised control groups large enough to measure, and heterogeneous,
channel-specific effects that an analyst comparing treatment with control recovers within
sampling noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def test_contact_files_match_the_truth_counts(demo, truth):
    root = Path(demo.directory)
    eff = truth["campaign_effects"].set_index("campaign_id")
    contacts = pd.concat(pd.read_csv(root / f"sources/marketing/contacts_{s}.csv", sep=";",
                                     dtype=str, keep_default_na=False)
                         for s in ("crm", "shop", "callcentre"))
    n = contacts.groupby(["campaign", "group"]).size().unstack(fill_value=0)
    assert (n["treatment"] == eff.loc[n.index, "n_treatment"].astype(int)).all()
    assert (n["control"] == eff.loc[n.index, "n_control"].astype(int)).all()
    # control groups are a random share of each campaign's contacts
    share = n["control"].sum() / n.to_numpy().sum()
    assert 0.2 < share < 0.35


def test_observed_uplift_recovers_the_true_effect(truth):
    e = truth["campaign_effects"]
    nt, nc = e["n_treatment"].astype(float), e["n_control"].astype(float)
    ct = e["observed_conversion_treatment"].replace("", "nan").astype(float).fillna(0)
    cc = e["observed_conversion_control"].replace("", "nan").astype(float).fillna(0)
    true = e["true_uplift"].replace("", "nan").astype(float).fillna(0)
    # pooled over all campaigns: difference of weighted conversion rates
    w = nt * nc / (nt + nc)
    diff = (w * (ct - cc)).sum() / w.sum()
    expected = (w * true).sum() / w.sum()
    var = (w**2 * (ct * (1 - ct) / nt.clip(lower=1) + cc * (1 - cc) / nc.clip(lower=1))).sum()
    se = np.sqrt(var) / w.sum()
    assert abs(diff - expected) < 4 * se
    assert expected > 0.005
    # the channels differ as declared: phone > post > email > sms
    by_channel = e.groupby("channel")["true_uplift_if_active"].first().astype(float)
    assert list(by_channel.sort_values().index) == ["sms", "email", "post", "phone"]


def test_caused_orders_follow_the_planted_probability(truth):
    e = truth["campaign_effects"]
    nt = e["n_treatment"].astype(float)
    share = (e["share_active_treatment"].replace("", "nan").astype(float).fillna(0)
             * e["share_persuadable"].replace("", "nan").astype(float).fillna(0))
    caused = e["caused_orders"].astype(float)
    # persuadables are drawn among all contacts and activity among the treated: roughly
    # independent; a few caused orders fall after "today" and are not placed
    expected = (nt * share * e["true_uplift_if_active"].astype(float)).sum()
    assert abs(caused.sum() - expected) < 4 * np.sqrt(expected) + 0.15 * expected
    revenue = e["caused_revenue"].astype(float)
    assert (revenue[caused == 0] == 0).all() and (revenue[caused > 0] > 0).all()


def test_heterogeneous_effects_are_recorded(demo, truth):
    root = Path(demo.directory)
    up = pd.read_csv(root / "truth/uplift.csv")
    assert set(up["kind"]) == {"persuadable", "sure_thing", "lost_cause", "sleeping_dog"}
    assert len(up) == len(truth["churners"])
    assert (up.loc[up.kind == "sleeping_dog", "effect_if_active_post"] < 0).all()
    assert (up.loc[up.kind == "persuadable", "effect_if_active_post"] > 0).all()
    assert (up.loc[up.kind.isin(["sure_thing", "lost_cause"]), "effect_if_active_post"] == 0).all()
    ch = pd.read_csv(root / "truth/channel_effects.csv").set_index("channel")
    assert ch.loc["phone", "true_effect"] > ch.loc["post", "true_effect"] > \
        ch.loc["sms", "true_effect"]
    # the channel truth pools the campaigns' exact effects with Mantel-Haenszel weights
    e = truth["campaign_effects"].astype({"n_treatment": float, "n_control": float})
    post = e[(e.channel == "post") & (e.n_control > 0) & (e.n_treatment > 0)]
    w = post.n_treatment * post.n_control / (post.n_treatment + post.n_control)
    assert ch.loc["post", "true_effect"] == pytest.approx(
        (w * post.true_uplift.astype(float)).sum() / w.sum(), rel=1e-6)


def test_ad_response_truth(demo):
    import json

    ads = json.loads((Path(demo.directory) / "truth/ad_response.json").read_text())
    assert set(ads) == {"search", "social", "display", "video"}
    for v in ads.values():
        assert 0 < v["adstock_decay_weekly"] < 1 and v["saturation_kappa_eur"] > 0
        assert v["caused_orders"] > 0
