import datetime as _dt

import ibis
import numpy as np
import pandas as pd
import pytest
from act_tables import HOSTILE, customers, write_c360
from hypothesis import given, settings
from hypothesis import strategies as st

from prisme.access import audit
from prisme.act import targets
from prisme.warehouse import core
from prisme.warehouse.schema import ENTITIES


@pytest.fixture
def c360(engine):
    df = customers(400)
    write_c360(engine, df)
    return df


def test_export_keeps_consenting_reachable_customers_and_records_the_control(
        engine, settings, c360, tmp_path):
    out = tmp_path / "list.csv"
    tl = targets.export_list(engine, settings.root, out, channel="email", control=0.2,
                             where="clv_12m > 50", actor="cli:test", seed=5)
    chosen = c360[c360.clv_12m > 50]
    ok = chosen[(chosen.consent_email == True) & chosen.email.notna()]  # noqa: E712
    rec = engine.to_pandas(engine.table("target_lists"))
    assert set(rec.party_id) == set(ok.party_id)
    assert rec.groupby("party_id").size().max() == 1
    assert set(rec.group) == {"treatment", "control"}
    assert (rec.channel == "email").all() and (rec.exported_by == "cli:test").all()
    # the file: the treatment group only, with the e-mail and the list id
    file = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert set(file.party_id) == set(rec.party_id[rec.group == "treatment"])
    assert (file.list_id == tl.list_id).all()
    assert file.email.notna().all()
    # the control share is the asked one within each segment (stratified)
    merged = rec.merge(c360[["party_id", "rfm_segment"]], on="party_id")
    for _, g in merged.groupby("rfm_segment"):
        assert abs((g.group == "control").sum() - 0.2 * len(g)) <= 0.5
    # counted what was left out
    assert tl.without_consent == int((chosen.consent_email != True).sum())  # noqa: E712
    assert tl.selected == len(chosen)
    ev = audit.events(settings.root, action="export")
    assert ev[0]["subject"] == tl.list_id and ev[0]["actor"] == "cli:test"
    assert ev[0]["detail"]["treatment"] == len(file)


@pytest.mark.parametrize("channel, needs", [
    ("post", ["address_line", "postal_code", "city"]), ("sms", ["phone"]), ("phone", ["phone"])])
def test_each_channel_needs_its_consent_and_contact(engine, settings, c360, channel, needs):
    tl = targets.draw_list(engine, channel=channel, segment="loyal", control=0.0)
    consent = targets.CHANNELS[channel][0]
    chosen = c360[c360.rfm_segment == "loyal"]
    ok = chosen[(chosen[consent] == True) & chosen[needs].notna().all(axis=1)]  # noqa: E712
    assert set(tl.treatment.party_id) == set(ok.party_id)
    assert len(tl.control) == 0


def test_hostile_names_come_out_as_text(engine, settings, c360, tmp_path):
    from openpyxl import load_workbook

    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"l.{fmt}"
        targets.export_list(engine, settings.root, out, channel="email", segment="champions",
                            control=0.0, actor="cli:test")
        if fmt == "csv":
            cells = pd.read_csv(out, dtype=str, encoding="utf-8-sig").to_numpy().ravel()
        else:
            cells = [c.value for row in load_workbook(out).active.iter_rows() for c in row]
        cells = [c for c in cells if isinstance(c, str)]
        assert "'" + HOSTILE[0] in cells and "'" + HOSTILE[1] in cells
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_unknown_segment_and_channel_are_refused(engine, c360):
    with pytest.raises(ValueError, match="unknown segment 'champs'; customer_360 has: at risk"):
        targets.draw_list(engine, channel="email", segment="champs")
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        targets.draw_list(engine, channel="fax", segment="loyal")


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 60), min_size=1, max_size=5),
       share=st.floats(0.0, 0.9), seed=st.integers(0, 2**31))
def test_control_draw_is_stratified_seeded_and_order_free(sizes, share, seed):
    strata = pd.Series([f"s{k}" for k, n in enumerate(sizes) for _ in range(n)])
    ids = pd.Series([f"P{i:05d}" for i in range(len(strata))])
    drawn = targets.draw_control(ids, strata, share, seed)
    for k, n in enumerate(sizes):
        assert abs(drawn[(strata == f"s{k}").to_numpy()].sum() - share * n) <= 0.5 + 1e-9
    order = np.random.default_rng(seed).permutation(len(ids))
    again = targets.draw_control(ids.iloc[order], strata.iloc[order], share, seed)
    assert set(ids.iloc[order][again]) == set(ids[drawn])


def test_lift_of_a_list_after_the_campaign_comes_back(engine, settings, c360, tmp_path):
    """Simulated campaign: 30 % of the contacted buy within 30 days, 10 % of the control."""
    tl = targets.export_list(engine, settings.root, tmp_path / "l.parquet", channel="phone",
                             segment=None, where="orders >= 0", control=0.3, seed=1,
                             actor="cli:test")
    rec = engine.to_pandas(engine.table("target_lists"))
    rng = np.random.default_rng(0)
    rate = np.where(rec.group == "treatment", 0.30, 0.10)
    buy = rec[rng.uniform(size=len(rec)) < rate]
    core.ensure_tables(engine)
    at = pd.Timestamp(tl.exported_at)
    sales = pd.DataFrame({
        "source": "shop", "order_id": [f"O{i}" for i in range(len(buy))],
        "source_customer_id": buy.party_id.str.replace("P", "S"),
        "ordered_at": at + pd.Timedelta(days=3), "sku": "SKU1", "quantity": 1.0,
        "revenue": 50.0, "load_id": "L1", "loaded_at": at, "source_line": 2,
    })
    late = sales.iloc[:5].assign(ordered_at=at + pd.Timedelta(days=45),
                                 order_id=lambda d: d.order_id + "late")
    before = sales.iloc[:5].assign(ordered_at=at - pd.Timedelta(days=2),
                                   order_id=lambda d: d.order_id + "early")
    facts = core.storage_table(ENTITIES["transaction"])  # fact_sales is a view of it
    schema = engine.table(facts).schema()
    rows = pd.concat([sales, late, before])
    for name in schema.names:  # the other columns of fact_sales (whatever ingest adds) NULL
        if name not in rows.columns:
            rows[name] = False if name == "is_cancelled" else None
    engine.insert(facts, ibis.memtable(rows[list(schema.names)]).cast(schema))
    pm = pd.DataFrame({"source": "shop",
                       "source_customer_id": rec.party_id.str.replace("P", "S"),
                       "party_id": rec.party_id, "match_probability": 1.0})
    engine.create_table("party_map", ibis.memtable(pm), overwrite=True)
    r = targets.list_lift(engine, tl.list_id)
    n1, n0 = (rec.group == "treatment").sum(), (rec.group == "control").sum()
    x1 = buy.group.eq("treatment").sum()
    x0 = buy.group.eq("control").sum()
    assert (r["treatment"], r["control"]) == (n1, n0)
    assert (r["treatment_buyers"], r["control_buyers"]) == (x1, x0)
    assert r["lift"] == pytest.approx(x1 / n1 - x0 / n0)
    assert r["lift_low"] < r["lift"] < r["lift_high"]
    assert r["p_value"] < 0.01
    assert r["revenue_per_head_treatment"] == pytest.approx(50.0 * x1 / n1)
    assert r["complete"]  # a sale 45 days after the export is loaded
    assert "the campaign made a difference" in r["sentence"] and not r["warning"]
    mart = targets.measure_lists(engine)
    assert mart.lift.iloc[0] == pytest.approx(r["lift"])
    assert engine.to_pandas(engine.table("mart_target_lists")).list_id.tolist() == [tl.list_id]


def test_two_proportions_agree_with_statsmodels():
    from statsmodels.stats.proportion import proportions_ztest

    out = targets.two_proportions(60, 200, 30, 180)
    z, p = proportions_ztest([60, 30], [200, 180])
    assert out["p_value"] == pytest.approx(p)
    assert out["lift"] == pytest.approx(0.3 - 30 / 180)


def test_no_control_group_says_it_cannot_be_measured(engine, settings, c360, tmp_path):
    tl = targets.export_list(engine, settings.root, tmp_path / "l.csv", channel="email",
                             segment="lost", control=0.0, actor="cli:test")
    r = targets.list_lift(engine, tl.list_id, as_of=_dt.datetime(2030, 1, 1))
    assert "cannot be measured" in r["sentence"] and r["warning"]


def test_an_export_applies_the_users_rights(engine, settings, c360, tmp_path):
    from prisme.access.users import User

    manager = User("marie", "manager", branch="Lyon")
    tl = targets.export_list(engine, settings.root, tmp_path / "l.csv", channel="email",
                             where="orders >= 0", control=0.0, actor="ignored", user=manager)
    lyon = set(c360.party_id[c360.branch == "Lyon"])
    assert set(tl.treatment.party_id) <= lyon and len(tl.treatment)
    assert audit.events(settings.root, action="export")[0]["actor"] == "marie"
    masked = User("ana", "analyst")  # no grant: contact details masked, nobody to contact
    tl = targets.export_list(engine, settings.root, tmp_path / "m.csv", channel="email",
                             where="orders >= 0", control=0.0, actor="x", user=masked)
    assert len(tl.treatment) == 0 and tl.without_contact > 0
