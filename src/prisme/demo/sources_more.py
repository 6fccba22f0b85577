"""The demo's interaction sources: web sessions, calls, campaigns and their contacts,
surveys and ad spend (see :mod:`prisme.demo.sources` for the table of forms)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from prisme.config import SourceSettings
from prisme.demo import writers as W
from prisme.demo.sources import JSON_FMT


def _ids(id_of_person: np.ndarray, person: np.ndarray) -> np.ndarray:
    return np.where(person >= 0, id_of_person[np.maximum(person, 0)], None)


def web_sessions(root: Path, df: pd.DataFrame, shop_id: np.ndarray):
    ts = W.days_to_datetime(df["day"].to_numpy())
    table = pa.table({
        "session_id": W.prefixed_numbers("S", np.arange(1, len(df) + 1), 9),
        "session_start": pa.array(ts, type=pa.timestamp("s")),
        "customer_id": W.text(_ids(shop_id, df["person"].to_numpy())),
        "ip_address": W.text(df["ip"]),
        "landing_page": W.text(df["landing_page"]),
        "page_views": pa.array(df["clicks"].to_numpy(np.int64)),
        "duration_sec": pa.array(df["duration_s"].to_numpy(float)),
        "referrer": W.text(df["referrer"]),
        "device_type": W.text(df["device"]),
    })
    path = W.write_parquet(table, root / "sources/web/sessions.parquet")
    s = SourceSettings(entity="web_session", path="sources/web/sessions.parquet",
                       format="parquet",
                       columns={"session_id": "session_id", "started_at": "session_start",
                                "source_customer_id": "customer_id", "ip": "ip_address",
                                "landing_page": "landing_page", "clicks": "page_views",
                                "duration_s": "duration_sec", "referrer": "referrer",
                                "device": "device_type"},
                       constants={"source": "shop"})
    return [path], s


def calls(root: Path, df: pd.DataFrame, cc_id: np.ndarray):
    ts = W.days_to_datetime(df["day"].to_numpy())
    out = pd.DataFrame({
        "callId": W.prefixed_numbers("CALL", np.arange(1, len(df) + 1), 8).to_numpy(
            zero_copy_only=False),
        "contactId": _ids(cc_id, df["person"].to_numpy()),
        "startTime": W.date_text(ts, "%Y-%m-%dT%H:%M:%S").to_numpy(zero_copy_only=False),
        "direction": df["direction"], "type": df["kind"], "reason": df["reason"],
        "durationSeconds": df["duration_s"].astype(int), "outcome": df["outcome"],
        "agent": df["agent"],
    })
    year = ts.astype("datetime64[Y]")
    files = []
    for y in np.unique(year):
        part = out[year == y]
        name = f"sources/callcentre/calls_{pd.Timestamp(y).year}.jsonl"
        files.append(W.write_jsonl(part, root / name))
    s = SourceSettings(entity="call", path="sources/callcentre/calls_*.jsonl", **JSON_FMT,
                       columns={"call_id": "callId", "source_customer_id": "contactId",
                                "at": "startTime", "direction": "direction", "kind": "type",
                                "reason": "reason", "duration_s": "durationSeconds",
                                "outcome": "outcome", "agent": "agent"},
                       constants={"source": "callcentre"})
    return files, s


def campaigns(root: Path, cal: pd.DataFrame, n_contacts: np.ndarray):
    start = W.days_to_datetime(cal["day"].to_numpy())
    end = W.days_to_datetime(cal["day"].to_numpy() + 21)
    cost = cal["unit_cost"].to_numpy() * n_contacts + 500.0
    cols = {
        "Code campagne": cal["campaign_id"],
        "Libellé": (cal["theme"] + " – " + cal["channel"]).to_numpy(object),
        "Canal": cal["channel"], "Début": W.date_text(start, "%d/%m/%Y"),
        "Fin": W.date_text(end, "%d/%m/%Y"), "Coût": W.money_text(cost, ","),
        "Famille ciblée": cal["category"],
    }
    path = W.write_csv(cols, root / "sources/marketing/campagnes.csv", separator=";")
    s = SourceSettings(entity="campaign", path="sources/marketing/campagnes.csv", format="csv",
                       separator=";", decimal=",", date_format="%d/%m/%Y", encoding="utf-8",
                       columns={"campaign_id": "Code campagne", "name": "Libellé",
                                "channel": "Canal", "started_at": "Début", "ended_at": "Fin",
                                "cost": "Coût", "product_or_category": "Famille ciblée"})
    return [path], s


def campaign_contacts(root: Path, contact: pd.DataFrame, cal: pd.DataFrame, system: str,
                      channels: list[str], id_of_person: np.ndarray, rng):
    """Contacts of the campaigns run from one system (customer ids of that system)."""
    df = contact[np.isin(cal["channel"].to_numpy()[contact["campaign"].to_numpy()], channels)]
    email = (cal["channel"].to_numpy()[df["campaign"].to_numpy()] == "email")
    conv = df["converted_day"].notna().to_numpy()
    opened = email & (rng.random(len(df)) < np.where(conv, 0.45, 0.22))
    clicked = opened & (rng.random(len(df)) < np.where(conv, 0.5, 0.12))
    yes_no = np.array(["0", "1"], dtype=object)
    cols = {
        "campaign": cal["campaign_id"].to_numpy()[df["campaign"].to_numpy()],
        "customer": _ids(id_of_person, df["person"].to_numpy()),
        "sent": W.date_text(W.days_to_datetime(df["contacted_day"].to_numpy()), "%d/%m/%Y"),
        "group": np.where(df["control"], "control", "treatment").astype(object),
        "opened": np.where(email, yes_no[opened.astype(int)], None),
        "clicked": np.where(email, yes_no[clicked.astype(int)], None),
        "converted": W.date_text(W.days_to_datetime(df["converted_day"].to_numpy()),
                                 "%d/%m/%Y %H:%M"),
        "revenue": W.money_text(df["response_revenue"].to_numpy(), ","),
    }
    rel = f"sources/marketing/contacts_{system}.csv"
    path = W.write_csv(cols, root / rel, separator=";")
    s = SourceSettings(entity="campaign_contact", path=rel, format="csv", separator=";",
                       decimal=",", date_format="%d/%m/%Y", encoding="utf-8",
                       columns={"campaign_id": "campaign", "source_customer_id": "customer",
                                "contacted_at": "sent", "group": "group", "opened": "opened",
                                "clicked": "clicked", "converted_at": "converted",
                                "response_revenue": "revenue"},
                       derive={"responded": "notnull(converted_at)"},
                       constants={"source": system})
    return [path], s


def surveys(root: Path, df: pd.DataFrame, crm_id: np.ndarray):
    """Survey answers of CRM customers, keyed by their CRM id."""
    key = crm_id[df["person"].to_numpy()]
    when = W.days_to_datetime(df["day"].to_numpy())
    cols = {
        "ID client": key, "Date réponse": W.date_text(when, "%d/%m/%Y %H:%M"),
        "Satisfaction produit": W.number_text(df["sat_product"]),
        "Satisfaction service": W.number_text(df["sat_service"]),
        "Satisfaction enseigne": W.number_text(df["sat_company"]),
        "Recommandation (0-10)": W.number_text(df["nps"]),
        "Commentaire": df["comment"].replace("", None).to_numpy(object),
    }
    rel = "sources/surveys/satisfaction.csv"
    path = W.write_csv(cols, root / rel, separator=";", bom=True)
    s = SourceSettings(entity="survey", path=rel, format="csv", separator=";", decimal=",",
                       date_format="%d/%m/%Y %H:%M", encoding="utf-8-sig",
                       columns={"source_customer_id": "ID client", "answered_at": "Date réponse",
                                "sat_product": "Satisfaction produit",
                                "sat_service": "Satisfaction service",
                                "sat_company": "Satisfaction enseigne",
                                "nps": "Recommandation (0-10)", "comment": "Commentaire"},
                       constants={"source": "crm"})
    return [path], s


def shop_surveys(root: Path, df: pd.DataFrame, shop_id: np.ndarray):
    """The web shop's post-purchase survey answers, keyed by shop customer id."""
    when = W.days_to_datetime(df["day"].to_numpy())
    cols = {
        "customer_id": shop_id[df["person"].to_numpy()],
        "answered_at": W.date_text(when, "%Y-%m-%dT%H:%M:%S"),
        "product_satisfaction": W.number_text(df["sat_product"]),
        "service_satisfaction": W.number_text(df["sat_service"]),
        "overall_satisfaction": W.number_text(df["sat_company"]),
        "likely_to_recommend": W.number_text(df["nps"]),
        "comment": df["comment"].replace("", None).to_numpy(object),
    }
    rel = "sources/shop/reviews.csv"
    path = W.write_csv(cols, root / rel)
    s = SourceSettings(entity="survey", path=rel, format="csv", separator=",", decimal=".",
                       date_format="%Y-%m-%dT%H:%M:%S", encoding="utf-8",
                       columns={"source_customer_id": "customer_id",
                                "answered_at": "answered_at",
                                "sat_product": "product_satisfaction",
                                "sat_service": "service_satisfaction",
                                "sat_company": "overall_satisfaction",
                                "nps": "likely_to_recommend", "comment": "comment"},
                       constants={"source": "shop"})
    return [path], s


def ad_spend(root: Path, df: pd.DataFrame):
    cols = {
        "Day": W.date_text(df["day"].to_numpy().astype("datetime64[D]"), "%Y-%m-%d"),
        "Channel": df["channel"], "Cost": W.money_text(df["spend"].to_numpy()),
        "Impressions": W.number_text(df["impressions"].to_numpy()),
        "Clicks": W.number_text(df["clicks"].to_numpy()),
    }
    path = W.write_csv(cols, root / "sources/ads/ad_spend.csv")
    s = SourceSettings(entity="ad_spend", path="sources/ads/ad_spend.csv", format="csv",
                       separator=",", decimal=".", date_format="%Y-%m-%d", encoding="utf-8",
                       columns={"date": "Day", "channel": "Channel", "spend": "Cost",
                                "impressions": "Impressions", "clicks": "Clicks"})
    return [path], s
