"""Calibration/holdout evaluation reproduces the published CDNOW table (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import pandas as pd
import pytest
from warehouse_tables import write_core

from prisme.analytics.holdout import calibration_holdout

ACTUAL = [0.237, 0.697, 1.393, 1.560, 2.532, 2.947, 3.862, 6.359]
BGNBD = [0.225, 0.523, 1.044, 1.520, 2.164, 2.654, 3.504, 6.157]
PUBLISHED = {"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262}
SIZES = [1411, 439, 214, 100, 62, 38, 29, 64]


def load_cdnow_sample(engine, shared_data) -> None:
    """CDNOW_sample.txt: whitespace separated, no header: master id, sample id, yyyymmdd, CDs, $."""
    df = pd.read_csv(
        shared_data / "cdnow" / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    assert len(df) == 6919 and df.customer.nunique() == 2357
    write_core(
        engine,
        "transaction",
        pd.DataFrame(
            {
                "source": "cdnow",
                "order_id": [f"line{i}" for i in range(len(df))],
                "source_customer_id": df.customer.astype(str),
                "ordered_at": pd.to_datetime(df.date, format="%Y%m%d"),
                "sku": "cd",
                "quantity": df.cds.astype(float),
                "revenue": df.dollars,
            }
        ),
    )


@pytest.fixture
def cdnow_report(engine, shared_data):
    load_cdnow_sample(engine, shared_data)
    return calibration_holdout(engine, cutoff="1997-09-30", end="1998-06-30")


def test_cdnow_holdout_table_reproduces_the_paper(cdnow_report):
    r = cdnow_report
    # weeks 1–39 calibration, 40–78 holdout
    assert (r.end - r.cutoff).days == 273
    # the paper's estimates come from the summary with recency and T rounded to 2 decimals
    # (checked by the models' own tests); from the exact summary computed here they agree to
    # 2e-4 relative (b: 2.42591 vs 2.4262), and the holdout table below to every printed digit
    for name, value in PUBLISHED.items():
        assert r.params[name] == pytest.approx(value, rel=2e-4), name
    t = r.by_frequency
    assert list(t.calibration_frequency) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert list(t.customers) == SIZES
    assert list(t.actual.round(3)) == ACTUAL
    assert list(t.predicted.round(3)) == BGNBD


def test_calibration_summary_matches_the_published_file(cdnow_report, shared_data):
    pub = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary.csv")
    got = cdnow_report.customers.assign(ID=lambda d: d.party_id.str.split(":").str[1].astype(int))
    got = got.set_index("ID").sort_index()
    pub = pub.set_index("ID").sort_index()
    assert list(got.index) == list(pub.index)
    assert (got.frequency == pub.frequency).all()
    assert (got.recency.round(2) == pub.recency).all()
    assert (got["T"].round(2) == pub["T"]).all()


def test_cdnow_tracking_curve_and_errors(cdnow_report):
    r = cdnow_report
    tr = r.tracking
    assert len(tr) == 78  # 78 weeks from 1997-01-01 to 1998-06-30
    assert tr.actual_cumulative.is_monotonic_increasing
    assert tr.expected_cumulative.is_monotonic_increasing
    # every repeat purchase of the cohort over the 78 weeks is on the curve
    calibration_repeats = r.customers.frequency.sum()
    assert tr.actual_cumulative.iloc[-1] == calibration_repeats + r.customers.actual.sum()
    e = r.errors
    assert e["customers"] == 2357
    assert e["actual_total"] == r.customers.actual.sum() == pytest.approx(1882)
    # the paper's Figure 3: the expected cumulative curve tracks the actual one closely
    assert e["tracking_mape"] < 0.05
    assert 0.5 < e["correlation"] < 1
    assert e["mae"] == pytest.approx((r.customers.actual - r.customers.predicted).abs().mean())
    assert "repeat purchases" in r.sentence()


def test_report_charts_are_offline_plotly(cdnow_report):
    fig = cdnow_report.figure()
    assert len(fig.data) == 4
    html = cdnow_report.to_html()
    assert "plotly.js" in html.lower() or "plotly" in html
    assert "<script src=\"http" not in html  # the JS is embedded, not fetched
    assert len(html) > 1_000_000


def test_holdout_end_must_follow_cutoff(engine, shared_data):
    load_cdnow_sample(engine, shared_data)
    with pytest.raises(ValueError, match="must be after the cut-off"):
        calibration_holdout(engine, cutoff="1998-01-01", end="1997-12-01")
