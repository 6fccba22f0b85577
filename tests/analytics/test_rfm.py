"""RFM in the engine against an independent pandas computation on UCI Online Retail."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from warehouse_tables import write_core, write_core_expr

from prisme import engine as engine_mod
from prisme.analytics.rfm import RFM_SEGMENT_RULES, RFM_SEGMENTS, rfm_table

AS_OF = dt.date(2011, 12, 9)


def _load_online_retail(engine, path):
    raw = engine.read_csv([str(path)])
    sales = raw.select(
        source=ibis.literal("uci"),
        order_id=raw.InvoiceNo,
        source_customer_id=raw.CustomerID.cast("string"),
        ordered_at=raw.InvoiceDate,
        sku=raw.StockCode,
        quantity=raw.Quantity.cast("float64"),
        revenue=raw.Quantity.cast("decimal(18,4)") * raw.UnitPrice.cast("decimal(18,4)"),
        is_return=raw.InvoiceNo.startswith("C"),
    )
    write_core_expr(engine, "transaction", sales)


def _quintile(rank0: pd.Series, n: int) -> pd.Series:
    return (1 + np.floor(5 * rank0 / n)).astype(int)


def _pandas_rfm(path) -> pd.DataFrame:
    """Recency, frequency, monetary and scores computed directly from the CSV with pandas."""
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    df = df[df.CustomerID.notna()].copy()
    df["customer"] = "uci:" + df.CustomerID.astype("int64").astype(str)
    # exact money: ten-thousandths of a pound as integers
    df["value"] = df.Quantity.astype("int64") * np.rint(df.UnitPrice * 10_000).astype("int64")
    df["day"] = pd.to_datetime(df.InvoiceDate).dt.normalize()
    df["is_return"] = df.InvoiceNo.str.startswith("C")
    orders = df.groupby(["customer", "InvoiceNo"]).agg(
        day=("day", "min"), net=("value", "sum"), has_return=("is_return", "any")
    )
    orders = orders.reset_index()
    orders["purchase"] = (orders.net > 0) | ((orders.net == 0) & ~orders.has_return)
    g = orders.groupby("customer")
    out = pd.DataFrame(
        {
            "frequency": g.purchase.sum(),
            "monetary": g.net.sum(),
            "last_any": g.day.max(),
            "last_purchase": orders[orders.purchase].groupby("customer").day.max(),
        }
    )
    last = out.last_purchase.fillna(out.last_any)
    out["recency_days"] = (pd.Timestamp(AS_OF) - last).dt.days
    n = len(out)
    out["r_score"] = _quintile(out.recency_days.rank(method="min", ascending=False) - 1, n)
    out["f_score"] = _quintile(out.frequency.rank(method="min") - 1, n)
    out["m_score"] = _quintile(out.monetary.rank(method="min") - 1, n)
    fm = (out.f_score + out.m_score + 1) // 2
    out["rfm_segment"] = None
    for rule in reversed(RFM_SEGMENT_RULES):  # first matching rule wins
        hit = out.r_score.between(*rule.r) & fm.between(*rule.fm)
        out.loc[hit, "rfm_segment"] = rule.segment
    return out


def test_rfm_matches_pandas_on_online_retail(engine, shared_data):
    path = shared_data / "online_retail" / "Online_Retail.csv.gz"
    _load_online_retail(engine, path)
    got = engine.to_pandas(rfm_table(engine, as_of=AS_OF)).set_index("party_id").sort_index()
    want = _pandas_rfm(path).sort_index()
    assert len(got) == 4372
    assert got.index.is_unique
    assert list(got.index) == list(want.index)
    assert (got.frequency == want.frequency).all()
    assert (got.recency_days == want.recency_days).all()
    monetary_units = (got.monetary.map(lambda d: d * 10_000)).astype("int64")
    assert (monetary_units == want.monetary).all()
    for col in ("r_score", "f_score", "m_score", "rfm_segment"):
        assert (got[col] == want[col]).all(), col
    # every rule names a segment that occurs in real data
    assert set(got.rfm_segment) == set(RFM_SEGMENTS)


def test_rule_table_is_printable_and_covers_every_score_pair():
    text = str(RFM_SEGMENT_RULES)
    for name in ("champions", "cannot lose them", "hibernating", "lost", "new"):
        assert name in text
    for r in range(1, 6):
        for fm in range(1, 6):
            hits = [x.segment for x in RFM_SEGMENT_RULES if x.r[0] <= r <= x.r[1]
                    and x.fm[0] <= fm <= x.fm[1]]
            assert hits, (r, fm)
    assert len(RFM_SEGMENT_RULES.to_frame()) == 11


order_rows = st.lists(
    st.tuples(
        st.integers(0, 9),  # customer
        st.integers(0, 60),  # day offset
        st.integers(-50, 400),  # revenue
    ),
    min_size=1,
    max_size=40,
)


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=order_rows)
def test_scores_are_1_to_5_and_ties_share_a_score(settings, rows):
    with engine_mod.connect(settings, path=":memory:") as eng:
        write_core(
            eng,
            "transaction",
            [
                {
                    "source": "shop",
                    "order_id": f"o{i}",
                    "source_customer_id": f"c{c}",
                    "ordered_at": pd.Timestamp("2024-01-01") + pd.Timedelta(days=d),
                    "sku": "x",
                    "quantity": 1.0,
                    "revenue": float(v),
                }
                for i, (c, d, v) in enumerate(rows)
            ],
        )
        got = eng.to_pandas(rfm_table(eng, as_of="2024-03-31"))
    assert got.party_id.is_unique
    assert len(got) == len({c for c, _, _ in rows})
    for col in ("r_score", "f_score", "m_score"):
        assert got[col].between(1, 5).all()
    for value, score in (("recency_days", "r_score"), ("frequency", "f_score"),
                         ("monetary", "m_score")):
        assert (got.groupby(value)[score].nunique() == 1).all()
    assert got.rfm_segment.isin(RFM_SEGMENTS).all()
    # better values never get a worse score
    ordered = got.sort_values("frequency")
    assert ordered.f_score.is_monotonic_increasing
