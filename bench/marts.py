"""Customer marts at scale: prisme (in the engine) vs pandas / lifetimes, same data, one run.

    python bench/marts.py [--quick] [--sizes 100000 1000000]

Data: N customers with 1 + Geometric(mean 4) orders each over two years (a line per order,
a spend level per customer, costs known, two channels, five categories), generated inside DuckDB. Compared on the same rows:

* RFM (recency, frequency, monetary, quintile scores): ``prisme.analytics.rfm.rfm_table`` in the
  engine vs the same computation in pandas (groupby + rank) on the fetched lines;
* the purchase-model summary (frequency, recency, T, monetary_value):
  ``prisme.analytics.features.purchase_summary`` vs ``lifetimes.utils.
  summary_data_from_transaction_data`` (freq "D", freq_multiplier 7), checked equal;
* prisme only: customer value (BG/NBD + Gamma-Gamma fit, scoring with a 200-draw interval),
  behavioural clusters (k = 2..8), and the whole ``build_marts``.

Peak memory is the process's max RSS (``resource``), so it is cumulative over the run.
``--quick`` runs 100k customers only.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from prisme import engine as engine_mod  # noqa: E402
from prisme.analytics.clusters import BehaviourClusters  # noqa: E402
from prisme.analytics.clv import CustomerValue  # noqa: E402
from prisme.analytics.features import customer_summary, purchase_summary  # noqa: E402
from prisme.analytics.marts import build_marts  # noqa: E402
from prisme.analytics.rfm import rfm_table  # noqa: E402
from prisme.config import Settings  # noqa: E402
from prisme.warehouse.core import core_schema  # noqa: E402
from prisme.warehouse.schema import ENTITIES  # noqa: E402

AS_OF = "2023-12-31"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_warehouse(eng, n: int) -> int:
    eng.create_table("fact_sales", schema=core_schema(ENTITIES["transaction"]), overwrite=True)
    eng.execute_sql("SELECT setseed(0.42)")
    eng.execute_sql(f"""
        INSERT INTO fact_sales BY NAME
        WITH c AS (
            SELECT range AS cid, 1 + CAST(floor(-ln(1 - random()) * 4) AS INTEGER) AS k,
                   random() * 600 AS t0, 10 + 90 * random() AS lvl
            FROM range({n})
        ), o AS (SELECT cid, t0, lvl, unnest(range(k)) AS j FROM c),
        v AS (SELECT *, round(lvl * (0.5 + random()), 2) AS amount FROM o)
        SELECT 'shop' AS source, 'o' || cid || '-' || j AS order_id,
               'c' || cid AS source_customer_id,
               TIMESTAMP '2022-01-01 10:00:00'
                   + to_days(CAST(least(t0 + j * random() * 40, 729) AS INTEGER)) AS ordered_at,
               'K' || (cid % 50) AS sku, 1.0 AS quantity,
               CAST(amount AS DECIMAL(18, 4)) AS revenue,
               CAST(round(amount * 0.6, 2) AS DECIMAL(18, 4)) AS cost,
               CASE WHEN cid % 3 = 0 THEN 'web' ELSE 'store' END AS channel
        FROM v
    """)
    eng.execute_sql("""
        CREATE OR REPLACE TABLE dim_product AS
        SELECT 'K' || range AS sku, 'product ' || range AS name,
               'cat' || (range % 5) AS category, NULL::DECIMAL(18,4) AS unit_price,
               NULL::DECIMAL(18,4) AS unit_cost, TRUE AS is_current
        FROM range(50)
    """)
    return int(eng.execute_sql("SELECT count(*) FROM fact_sales")[0][0])


def pandas_rfm(lines: pd.DataFrame) -> pd.DataFrame:
    orders = lines.groupby(["source_customer_id", "order_id"]).agg(
        day=("ordered_at", "min"), net=("revenue", "sum"))
    orders["day"] = orders["day"].dt.normalize()
    g = orders.groupby(level=0)
    out = pd.DataFrame({"frequency": g.size(), "monetary": g.net.sum(), "last": g.day.max()})
    out["recency_days"] = (pd.Timestamp(AS_OF) - out["last"]).dt.days
    n = len(out)
    for col, asc, name in (("recency_days", False, "r"), ("frequency", True, "f"),
                           ("monetary", True, "m")):
        rank0 = out[col].rank(method="min", ascending=asc) - 1
        out[f"{name}_score"] = (1 + np.floor(5 * rank0 / n)).astype(int)
    return out


def timed(fn):
    t = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t
    print(f"  … {elapsed:,.1f} s", flush=True)
    return out, elapsed


def run(n: int) -> list[dict]:
    from lifetimes.utils import summary_data_from_transaction_data

    s = Settings()
    s.engine.memory_limit = "4GB"
    rows = []
    with engine_mod.connect(s, path=":memory:") as eng:
        lines = make_warehouse(eng, n)
        print(f"\n{n:,} customers, {lines:,} sale lines", flush=True)
        fetched = eng.to_pandas(eng.table("fact_sales").select(
            "source_customer_id", "order_id", "ordered_at", "revenue"))
        fetched["revenue"] = fetched.revenue.astype(float)

        p_rfm, t_p = timed(lambda: eng.to_pandas(rfm_table(eng, as_of=AS_OF)))
        x_rfm, t_x = timed(lambda: pandas_rfm(fetched))
        same = (p_rfm.set_index("party_id").f_score.sort_index().to_numpy()
                == x_rfm.f_score.sort_index().to_numpy()).all()
        rows.append({"customers": n, "step": "RFM scores", "prisme_s": t_p, "peer": "pandas",
                     "peer_s": t_x, "same result": bool(same)})

        p_sum, t_p = timed(lambda: eng.to_pandas(purchase_summary(eng, as_of=AS_OF)))
        l_sum, t_l = timed(lambda: summary_data_from_transaction_data(
            fetched, "source_customer_id", "ordered_at", observation_period_end=AS_OF,
            freq="D", freq_multiplier=7))
        p_idx = p_sum.assign(k=p_sum.party_id.str[5:]).set_index("k").sort_index()
        same = (p_idx.frequency.to_numpy() == l_sum.sort_index().frequency.to_numpy()).all()
        rows.append({"customers": n, "step": "purchase summary", "prisme_s": t_p,
                     "peer": "lifetimes", "peer_s": t_l, "same result": bool(same)})

        full, t_f = timed(lambda: eng.to_pandas(customer_summary(eng, as_of=AS_OF)))
        rows.append({"customers": n, "step": "full feature table", "prisme_s": t_f})
        cv, t_fit = timed(lambda: CustomerValue().fit(full))
        rows.append({"customers": n, "step": "CLV fit (BG/NBD + GG)", "prisme_s": t_fit})
        _, t_pred = timed(lambda: cv.predict(full))
        rows.append({"customers": n, "step": "CLV scoring + 200-draw interval",
                     "prisme_s": t_pred})
        feats = full.assign(recency_days=(full["T"] - full.recency) * 7)
        _, t_cl = timed(lambda: BehaviourClusters(seed=7).fit(feats))
        rows.append({"customers": n, "step": "clusters k=2..8", "prisme_s": t_cl})
        _, t_b = timed(lambda: build_marts(eng, s, as_of=AS_OF))
        rows.append({"customers": n, "step": "build_marts (all of it)", "prisme_s": t_b})
    for r in rows:
        r["peak_rss_mib"] = round(_rss_mib())
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k customers only")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    args = ap.parse_args()
    sizes = args.sizes or ([100_000] if args.quick else [100_000, 1_000_000])
    warnings.filterwarnings("ignore")
    rows = []
    for n in sizes:
        rows.extend(run(n))
        table = pd.DataFrame(rows)
        if "peer_s" in table:
            table["peer / prisme"] = table.peer_s / table.prisme_s
        print(table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"), flush=True)


if __name__ == "__main__":
    main()
