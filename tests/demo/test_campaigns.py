"""Campaign truth: randomised control groups and a real, channel-specific effect that an
analyst comparing treatment with control recovers within sampling noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


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
    assert 0.08 < share < 0.2


def test_observed_uplift_recovers_the_true_effect(truth):
    e = truth["campaign_effects"]
    nt, nc = e["n_treatment"].astype(float), e["n_control"].astype(float)
    ct = e["observed_conversion_treatment"].replace("", "nan").astype(float).fillna(0)
    cc = e["observed_conversion_control"].replace("", "nan").astype(float).fillna(0)
    true = e["true_uplift"].replace("", "nan").astype(float).fillna(0)
    # pooled over all campaigns: difference of weighted conversion rates
    w = nt * nc / (nt + nc)
    diff = (w * (ct - cc)).sum() / w.sum()
    expected = (w * true * (1 - cc)).sum() / w.sum()
    var = (w**2 * (ct * (1 - ct) / nt.clip(lower=1) + cc * (1 - cc) / nc.clip(lower=1))).sum()
    se = np.sqrt(var) / w.sum()
    assert abs(diff - expected) < 4 * se
    assert expected > 0.01
    # the channels differ as declared: phone > post > email > sms
    by_channel = e.groupby("channel")["true_uplift_if_active"].first().astype(float)
    assert list(by_channel.sort_values().index) == ["sms", "email", "post", "phone"]


def test_caused_orders_follow_the_true_uplift(truth):
    e = truth["campaign_effects"]
    nt = e["n_treatment"].astype(float)
    true = e["true_uplift"].replace("", "nan").astype(float).fillna(0)
    caused = e["caused_orders"].astype(float)
    expected = (nt * true).sum()
    # a few caused orders fall after "today" and are not placed: at most a small shortfall
    assert abs(caused.sum() - expected) < 4 * np.sqrt(expected) + 0.05 * expected
    revenue = e["caused_revenue"].astype(float)
    assert (revenue[caused == 0] == 0).all() and (revenue[caused > 0] > 0).all()
