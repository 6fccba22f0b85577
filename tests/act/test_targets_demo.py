"""``prisme export`` on the small demo, then a simulated campaign comes back through ingest:
the build measures the list's lift against its recorded control group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prisme import engine as engine_mod
from prisme.cli import app
from prisme.config import load_settings

runner = CliRunner()


@pytest.mark.slow
def test_export_on_the_demo_then_the_campaign_comes_back(demo_copy, tmp_path):
    root = demo_copy
    out = tmp_path / "list.csv"
    res = runner.invoke(app, ["export", "--project", str(root), "--where", "orders >= 1",
                              "--channel", "email", "--control", "0.2", "--seed", "3",
                              "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    settings = load_settings(root)
    with engine_mod.connect(settings, read_only=True) as eng:
        rec = eng.to_pandas(eng.table("target_lists"))
        c360 = eng.to_pandas(eng.table("customer_360"))
        pm = eng.to_pandas(eng.table("party_map"))
    listed = rec.merge(c360, on="party_id")
    # consent respected, contact present, nobody else
    assert (listed.consent_email == True).all() and listed.email.notna().all()  # noqa: E712
    eligible = c360[(c360.orders >= 1) & (c360.consent_email == True)  # noqa: E712
                    & c360.email.notna()]
    assert set(rec.party_id) == set(eligible.party_id)
    # the control group at the asked share, in every segment
    for _, g in listed.groupby("rfm_segment"):
        assert abs((g.group == "control").sum() - 0.2 * len(g)) <= 0.5
    file = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert set(file.party_id) == set(rec.party_id[rec.group == "treatment"])

    # the campaign comes back: 35 % of the contacted shop customers buy, 10 % of the control
    shop = pm[pm.source == "shop"].merge(rec, on="party_id").drop_duplicates("party_id")
    rng = np.random.default_rng(5)
    buys = shop[rng.uniform(size=len(shop)) < np.where(shop.group == "treatment", 0.35, 0.10)]
    # bought within hours of the export (a load refuses dates more than a day ahead)
    at = pd.Timestamp(rec.exported_at.iloc[0]) + pd.Timedelta(hours=12)
    # written like the shop's own order files (same columns), from one of its lines
    folder = root / "sources" / "shop" / "orders"
    template = pd.read_csv(sorted(folder.glob("orders_*.csv"))[-1], dtype=str,
                           encoding="utf-8-sig", keep_default_na=False)
    line = template[template.order_type == "SALE"].iloc[0]
    orders = pd.DataFrame([line] * len(buys)).reset_index(drop=True)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S")
    orders["order_id"] = [f"CAMP-{i:05d}" for i in range(len(buys))]
    orders["customer_id"] = buys.source_customer_id.to_numpy()
    for col in orders.columns:
        if col.endswith("_date"):  # order, due and payment dates: the campaign's day
            orders[col] = stamp
    orders.to_csv(folder / "orders_campaign.csv", index=False, encoding="utf-8-sig")
    for command in (["ingest"], ["build"]):
        done = runner.invoke(app, [*command, "--project", str(root)])
        assert done.exit_code == 0, done.output
    with engine_mod.connect(settings, read_only=True) as eng:
        mart = eng.to_pandas(eng.table("mart_target_lists"))
    row = mart.iloc[0]
    n1, n0 = (rec.group == "treatment").sum(), (rec.group == "control").sum()
    x1, x0 = (buys.group == "treatment").sum(), (buys.group == "control").sum()
    assert (row.treatment, row.control) == (n1, n0)
    assert (row.treatment_buyers, row.control_buyers) == (x1, x0)
    assert row.lift == pytest.approx(x1 / n1 - x0 / n0)
    assert row.p_value < 0.05 and row.lift_low > 0
    assert "made a difference" in row.sentence
