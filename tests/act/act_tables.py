"""A small customer_360 (and the sales behind a campaign), written straight into a warehouse
for the act tests: they test export, lift and write-back, not the build."""

from __future__ import annotations

import datetime as _dt

import ibis
import numpy as np
import pandas as pd

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0"]
SEGMENTS = ["champions", "loyal", "at risk", "lost"]

C360 = ibis.schema({
    "party_id": "string", "first_name": "string", "last_name": "string", "email": "string",
    "phone": "string", "address_line": "string", "postal_code": "string", "city": "string",
    "country": "string", "consent_email": "boolean", "consent_phone": "boolean",
    "consent_post": "boolean", "rfm_segment": "string", "clv_12m": "float64",
    "clv_12m_low": "float64", "clv_12m_high": "float64", "churn_probability": "float64",
    "churn_reasons": "string", "next_best_offers": "string", "orders": "int64",
    "as_of": "date", "branch": "string", "advisor": "string",
})


def customers(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = [f"P{i:08d}" for i in range(1, n + 1)]
    consent = rng.choice([True, False, None], size=(n, 3), p=[0.6, 0.3, 0.1])
    df = pd.DataFrame({
        "party_id": ids,
        "first_name": [f"Prénom{i}" for i in range(n)],
        "last_name": [f"Nom{i}" for i in range(n)],
        "email": [None if i % 7 == 3 else f"c{i}@example.fr" for i in range(n)],
        "phone": [None if i % 5 == 4 else f"+3361234{i:04d}" for i in range(n)],
        "address_line": [None if i % 11 == 5 else f"{i} rue Haute" for i in range(n)],
        "postal_code": ["75001"] * n,
        "city": ["Paris"] * n,
        "country": ["FR"] * n,
        "consent_email": consent[:, 0],
        "consent_phone": consent[:, 1],
        "consent_post": consent[:, 2],
        "rfm_segment": rng.choice(SEGMENTS, size=n, p=[0.2, 0.3, 0.3, 0.2]),
        "clv_12m": rng.gamma(2.0, 100.0, size=n).round(2),
        "orders": rng.integers(0, 10, size=n),
        "churn_probability": rng.uniform(0, 1, size=n).round(3),
        "churn_reasons": ["recency; frequency"] * n,
        "next_best_offers": ["SKU1; SKU2"] * n,
        "as_of": [_dt.date(2026, 11, 30)] * n,
        "branch": rng.choice(["Lyon", "Paris"], size=n),
        "advisor": rng.choice(["adv1", "adv2", "adv3"], size=n),
    })
    df["clv_12m_low"] = (df.clv_12m * 0.8).round(2)
    df["clv_12m_high"] = (df.clv_12m * 1.2).round(2)
    df.loc[0, "first_name"] = HOSTILE[0]
    df.loc[1, "last_name"] = HOSTILE[1]
    for col in ("consent_email", "consent_phone", "consent_post"):
        df.loc[[0, 1], col] = True
    df.loc[[0, 1], "rfm_segment"] = "champions"
    return df[list(C360.names)]


def write_c360(engine, df: pd.DataFrame) -> None:
    engine.create_table("customer_360", ibis.memtable(df).cast(C360), overwrite=True)
