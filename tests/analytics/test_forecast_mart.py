"""mart_forecasts: monthly revenue and orders from the warehouse (every engine of the suite),
complete months only, a forecast with its backtest error per series; a history too short to
forecast keeps its actuals and says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.analytics.warehouse_tables import write_core

from prisme.analytics.forecast import monthly_series
from prisme.analytics.manager import ManagerSummary, forecast_stage


def sales(months: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2022-01-01")
    for m in range(months):
        first = start + pd.DateOffset(months=m)
        n = int(20 + 8 * np.sin(2 * np.pi * m / 12) + rng.integers(0, 3))
        for i in range(n):
            day = first + pd.Timedelta(days=int(rng.integers(0, first.days_in_month)))
            rows.append({"source": "shop", "order_id": f"{m}-{i}",
                         "source_customer_id": None if i % 5 == 0 else f"C{i % 7}",
                         "ordered_at": day, "sku": "A", "quantity": 1.0,
                         "revenue": float(100 + 10 * (i % 3)),
                         "channel": "web" if i % 2 else "store", "is_return": False})
    # a return counts negatively, and is not an order
    rows.append({**rows[0], "order_id": "R1", "revenue": 100.0, "is_return": True})
    # the last month is incomplete (one sale on the 10th)
    last = start + pd.DateOffset(months=months)
    rows.append({**rows[1], "order_id": "LATE", "ordered_at": last + pd.Timedelta(days=9)})
    return pd.DataFrame(rows)


def test_monthly_series_and_mart(engine):
    df = sales(34)
    write_core(engine, "transaction", df)
    m = monthly_series(engine)
    total = m[m.dimension == "total"].set_index("month")
    assert len(total) == 34  # the incomplete 35th month is left out
    jan = df[(df.ordered_at < "2022-02-01")]
    expected = jan.revenue.where(~jan.is_return, -jan.revenue).sum()
    assert total.loc[pd.Period("2022-01", "M"), "revenue"] == expected
    assert total.loc[pd.Period("2022-01", "M"), "orders"] == (~jan.is_return).sum()
    assert set(m[m.dimension == "channel"].member) == {"web", "store"}

    summary = ManagerSummary()
    forecast_stage(engine, None, summary)
    mart = engine.to_pandas(engine.table("mart_forecasts"))
    f = mart[(mart.kind == "forecast") & (mart.dimension == "total") & (mart.series == "revenue")]
    assert len(f) == 6 and (f.lower <= f.value).all() and (f.value <= f.upper).all()
    assert f.mape.notna().all() and f.baseline_mase.notna().all()
    assert "backtest origins" in f.sentence.iloc[0]
    # its findings: the code and figures of the backtest, said in French by prisme.i18n
    from prisme.i18n import findings as words

    found = words.parse(f.findings.iloc[0])
    assert [x["code"] for x in found] == ["backtest"]
    assert found[0]["model"] == f.model.iloc[0] and found[0]["folds"] == f.backtest_folds.iloc[0]
    assert found[0]["mape"] == pytest.approx(f.mape.iloc[0], rel=1e-5)
    fr = words.forecast_sentence(f, "fr", "EUR", money=True)
    assert fr.startswith("Chiffre d'affaires, prévision sur les 6 prochains mois : ")
    assert "s'est trompé de" in fr and "was off" not in fr
    assert set(mart.dimension) == {"total", "channel"}
    assert summary.marts["mart_forecasts"] == len(mart)


def test_too_short_a_history_is_said(engine):
    write_core(engine, "transaction", sales(9))
    summary = ManagerSummary()
    forecast_stage(engine, None, summary)
    assert any("no forecast" in n and "needs at least" in n for n in summary.notes)
    mart = engine.to_pandas(engine.table("mart_forecasts"))
    assert (mart.kind == "actual").all()
    from prisme.i18n import findings as words

    said = [words.text(x, "fr") for x in mart.findings.dropna()]
    assert said and all(s.startswith("Pas de prévision : 9 mois d'historique, il en faut au "
                                     "moins ") for s in said), said
