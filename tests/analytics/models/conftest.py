"""CDNOW data for the model tests, read in place from the shared data folder."""

from __future__ import annotations

import pandas as pd
import pytest

from prisme.models import summary_data_from_transactions

CAL_END, HOLDOUT_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_transactions(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                       names=["master_id", "customer_id", "date", "cds", "dollars"],
                       dtype={"date": str})


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_transactions) -> pd.DataFrame:
    """The 39-week calibration summary on whole days (weeks = days / 7), as in Fader, Hardie &
    Lee's spreadsheet; the published CSV is the same with weeks rounded to 2 decimals."""
    return summary_data_from_transactions(cdnow_transactions, "customer_id", "date",
                                          observation_end=CAL_END)


@pytest.fixture(scope="session")
def cdnow_holdout_purchases(cdnow_transactions, cdnow_calibration) -> pd.Series:
    """Purchase days per customer in weeks 40-78."""
    day = pd.to_datetime(cdnow_transactions["date"])
    hold = cdnow_transactions[(day > CAL_END) & (day <= HOLDOUT_END)]
    return hold.groupby("customer_id")["date"].nunique().reindex(
        cdnow_calibration.index, fill_value=0)


@pytest.fixture(scope="session")
def cdnow_csv(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary.csv")
