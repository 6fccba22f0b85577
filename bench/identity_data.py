"""Loaders of the public identity datasets as canonical customer records (bench and tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PRISME_SHARED_DATA", REPO.parent / "shared" / "data"))


def febrl4(data: Path = SHARED_DATA) -> tuple[pd.DataFrame, pd.Series]:
    """Febrl dataset4a + dataset4b as one list; the truth is the number in ``rec-123-…``."""
    frames = []
    for part in ("a", "b"):
        raw = pd.read_csv(data / "febrl" / f"dataset4{part}.csv", dtype=str,
                          skipinitialspace=True)
        raw.columns = [c.strip() for c in raw.columns]
        frames.append(raw.assign(source=f"febrl4{part}"))
    raw = pd.concat(frames, ignore_index=True)
    address = (raw["street_number"].fillna("") + " " + raw["address_1"].fillna("")).str.strip()
    df = pd.DataFrame({
        "record_id": raw["rec_id"].str.strip(),
        "source": raw["source"],
        "source_customer_id": raw["rec_id"].str.strip(),
        "first_name": raw["given_name"],
        "last_name": raw["surname"],
        "address_line": address.where(address != ""),
        "city": raw["suburb"],
        "postal_code": raw["postcode"],
        "birth_date": raw["date_of_birth"],
        "country": "AU",
        "soc_sec_id": raw["soc_sec_id"],
    })
    truth = raw["rec_id"].str.extract(r"rec-(\d+)-", expand=False)
    return df, truth


def fake_1000(data: Path = SHARED_DATA) -> tuple[pd.DataFrame, pd.Series]:
    """Splink's fake_1000 demo list; the truth is the ``cluster`` column."""
    raw = pd.read_csv(data / "splink_fake_1000" / "fake_1000_from_splink_demos.csv", dtype=str)
    df = pd.DataFrame({
        "record_id": raw["unique_id"],
        "source": "fake_1000",
        "source_customer_id": raw["unique_id"],
        "first_name": raw["first_name"],
        "last_name": raw["surname"],
        "birth_date": raw["dob"],
        "city": raw["city"],
        "email": raw["email"],
        "country": "GB",
    })
    return df, raw["cluster"]


def demo_records(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customer records of a demo company (``prisme.demo.generate``), read from its source
    files with the column mapping of its ``prisme.toml``, and the truth of each record
    (``person_id``, ``household_id`` and the planted variations)."""
    from prisme.config import load_settings

    settings = load_settings(directory)
    frames = []
    for source in settings.sources.values():
        if source.entity != "customer":
            continue
        path = Path(directory) / source.path
        if source.format == "jsonl":
            raw = pd.read_json(path, lines=True, dtype=False)
        else:
            raw = pd.read_csv(path, sep=source.separator or ",", dtype=str,
                              encoding=source.encoding or "utf-8", keep_default_na=False,
                              na_values=[""])
        df = pd.DataFrame({canon: raw[col] for canon, col in source.columns.items()
                           if col in raw.columns})
        for canon, value in source.constants.items():
            df[canon] = value
        if "birth_date" in df and source.date_format:
            df["birth_date"] = pd.to_datetime(df["birth_date"], format=source.date_format,
                                              errors="coerce")
        frames.append(df.astype({"source_customer_id": str}))
    records = pd.concat(frames, ignore_index=True)
    records = records.drop_duplicates(["source", "source_customer_id"], ignore_index=True)
    records["record_id"] = records["source"] + ":" + records["source_customer_id"]
    truth = pd.read_csv(Path(directory) / "truth" / "persons.csv", dtype=str)
    truth["record_id"] = truth["source"] + ":" + truth["source_customer_id"]
    truth = records[["record_id"]].merge(truth.drop(columns=["source", "source_customer_id"]),
                                         on="record_id", how="left")
    return records, truth
