"""The manager stages of ``prisme build``: campaigns, channels, forecasts, advertising and
satisfaction, after the scores.

Each stage reads the core tables through Ibis (any engine), pulls a compact summary, fits its
statistics and writes its mart; a stage that lacks data (no campaign loaded, a series too
short) writes nothing and says why in the summary, and the others still run. Marts are written
under a temporary name and swapped in inside one transaction, so readers see the old table or
the new one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

#: the mart schemas (column → type); strings elsewhere
_FLOAT, _INT, _TEXT, _BOOL, _TS, _DATE = dt.float64, dt.int64, dt.string, dt.boolean, \
    dt.timestamp, dt.date
MART_CAMPAIGNS = {
    "campaign_id": _TEXT, "name": _TEXT, "channel": _TEXT, "started_at": _TS, "cost": _FLOAT,
    "contacted": _INT, "control_size": _INT, "opened": _INT, "clicked": _INT, "responded": _INT,
    "converted": _INT, "has_control": _BOOL, "sentence": _TEXT, "findings": _TEXT,
}
MART_CHANNELS = {"channel": _TEXT, "campaigns": _INT, "campaigns_with_control": _INT,
                 "contacted": _INT, "control_size": _INT, "opened": _INT, "clicked": _INT,
                 "responded": _INT, "converted": _INT, "sentence": _TEXT,
                 "findings": _TEXT}
MART_FORECASTS = {"series": _TEXT, "dimension": _TEXT, "member": _TEXT, "month": _DATE,
                  "kind": _TEXT, "model": _TEXT, "sentence": _TEXT, "backtest_folds": _INT,
                  "findings": _TEXT}
MART_ADVERTISING = {"channel": _TEXT, "evidence": _TEXT, "sentence": _TEXT, "weeks": _INT,
                    "note": _TEXT, "outcome": _TEXT, "sales_channel": _TEXT,
                    "findings": _TEXT}
MART_SATISFACTION = {"item": _TEXT, "outcome": _TEXT, "answers": _INT, "sentence": _TEXT,
                     "findings": _TEXT}


@dataclass
class ManagerSummary:
    """What the manager stages did, for the CLI and the demo summary."""

    marts: dict[str, int] = field(default_factory=dict)
    sentences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{name}: {n:,} rows" for name, n in self.marts.items()]
        return out + self.sentences + self.notes


def _typed(df: pd.DataFrame, types: dict) -> ibis.Table:
    schema = {c: types.get(c, _FLOAT) for c in df.columns}
    data = df.copy()
    for c, t in schema.items():
        if t == _FLOAT:
            data[c] = pd.to_numeric(data[c], errors="coerce").astype(float)
        elif t == _INT:
            data[c] = pd.to_numeric(data[c], errors="coerce").astype("Int64")
        elif t == _BOOL:
            data[c] = data[c].astype("boolean")
        elif t == _TS:
            data[c] = pd.to_datetime(data[c], errors="coerce")
        elif t == _DATE:
            data[c] = pd.to_datetime(data[c], errors="coerce").dt.date
        else:
            data[c] = data[c].astype(object).where(data[c].notna(), None)
    return ibis.memtable(data).cast(ibis.schema(schema))


def write_marts(engine, marts: dict[str, tuple[pd.DataFrame, dict]]) -> None:
    """Write each mart under ``name__building`` then swap them all in one transaction."""
    try:
        for name, (df, types) in marts.items():
            engine.create_table(f"{name}__building", _typed(df, types), overwrite=True)
        with engine.transaction():
            for name in marts:
                engine.drop_table(name, force=True)
                engine.rename_table(f"{name}__building", name)
    finally:
        for name in marts:
            engine.drop_table(f"{name}__building", force=True)


def campaign_stage(engine, settings, summary: ManagerSummary) -> None:
    from prisme.analytics import campaigns as C

    if not engine.has_table("fact_campaign_contacts"):
        summary.notes.append("campaigns: no campaign contact loaded; mart_campaigns not built")
        return
    counts = C.contact_counts(engine)
    if counts.empty:
        summary.notes.append("campaigns: no campaign contact loaded; mart_campaigns not built")
        return
    meta = C._campaign_table(engine)
    margin = C.margin_rate(engine)
    camp = C.campaign_results(counts, meta, margin)
    chan = C.channel_results(counts, meta, margin)
    write_marts(engine, {"mart_campaigns": (camp, MART_CAMPAIGNS),
                         "mart_channels": (chan, MART_CHANNELS)})
    summary.marts.update({"mart_campaigns": len(camp), "mart_channels": len(chan)})
    summary.sentences.extend(chan["sentence"])
    missing = camp[~camp.has_control]
    if len(missing):
        summary.notes.append(f"{len(missing)} campaign(s) without a control group: "
                             + ", ".join(missing.campaign_id.astype(str).head(5))
                             + (" …" if len(missing) > 5 else "")
                             + " — their effect cannot be measured")
    if margin is None:
        summary.notes.append("campaigns: no product cost known, so ROI is on revenue, not margin")


def forecast_stage(engine, settings, summary: ManagerSummary, *, as_of=None) -> None:
    from prisme.analytics import forecast as F

    if not engine.has_table("fact_sales"):
        summary.notes.append("forecasts: no sale loaded; mart_forecasts not built")
        return
    monthly = F.monthly_series(engine, as_of=as_of)
    table, notes = F.forecast_table(monthly)
    summary.notes.extend(notes)
    if table.empty:
        return
    write_marts(engine, {"mart_forecasts": (table, MART_FORECASTS)})
    summary.marts["mart_forecasts"] = len(table)
    totals = table[(table.dimension == "total") & (table.kind == "forecast")]
    summary.sentences.extend(totals.drop_duplicates("series")["sentence"].dropna())


def advertising_stage(engine, settings, summary: ManagerSummary, *, as_of=None) -> None:
    from prisme.analytics import advertising as A

    if not (engine.has_table("fact_ad_spend") and engine.has_table("fact_sales")):
        summary.notes.append("advertising: no ad spend loaded; mart_advertising not built")
        return
    # online ads act on online sales: measured on the web channel's revenue when there is one
    s = engine.table("fact_sales")
    channels = set(engine.to_pandas(s.select(c=s.channel.strip().lower()).distinct())["c"]
                   .dropna())
    online = next((c for c in ("web", "online", "e-commerce", "internet") if c in channels), None)
    weekly = A.weekly_table(engine, as_of=as_of, sales_channel=online)
    if weekly.empty:
        summary.notes.append("advertising: no week with both spend and sales")
        return
    r = A.fit_response(weekly)
    table = r.table.assign(weeks=r.weeks, r2=r.r2, note=r.note,
                           outcome=f"weekly revenue of the {online} channel" if online
                           else "weekly revenue", sales_channel=online)
    write_marts(engine, {"mart_advertising": (table, MART_ADVERTISING)})
    summary.marts["mart_advertising"] = len(table)
    summary.sentences.extend(table["sentence"])
    summary.notes.append(r.note)


def satisfaction_stage(engine, settings, summary: ManagerSummary, *, as_of=None) -> None:
    from prisme.analytics import satisfaction as S
    from prisme.analytics.findings import encode

    if not engine.has_table("fact_surveys"):
        summary.notes.append("satisfaction: no survey loaded; mart_satisfaction not built")
        return
    answers = S.survey_table(engine, as_of=as_of)
    if answers.empty:
        summary.notes.append("satisfaction: no survey answer linked to a customer; "
                             "mart_satisfaction not built")
        return
    d = S.drivers(answers, churned="churned")
    rows = d.nps.assign(outcome="nps")
    if len(d.churn):
        rows = pd.concat([rows, d.churn.rename(columns={
            "odds_ratio_per_sd": "effect_per_sd", "odds_low": "effect_low",
            "odds_high": "effect_high"}).assign(outcome="churn (odds ratio)")],
            ignore_index=True)
    load = d.loadings.iloc[:, 0]
    rows["loading_factor_1"] = rows["item"].map(load)
    rows["answers"] = d.answers
    rows["nps_score"] = d.nps_score
    rows["sentence"] = " ".join(d.sentences)
    rows["findings"] = encode(d.findings)
    write_marts(engine, {"mart_satisfaction": (rows, MART_SATISFACTION)})
    summary.marts["mart_satisfaction"] = len(rows)
    summary.sentences.extend(d.sentences)
    summary.notes.extend(d.notes)


STAGES = {"campaigns": campaign_stage, "forecasts": forecast_stage,
          "advertising": advertising_stage, "satisfaction": satisfaction_stage}


def build_manager_marts(engine, settings, *, as_of=None, progress=None) -> ManagerSummary:
    """Run every manager stage; a stage that fails on its data is noted, not fatal."""
    summary = ManagerSummary()
    for i, (name, stage) in enumerate(STAGES.items()):
        if progress is not None:
            progress(f"manager: {name}", i, len(STAGES))
        started = time.perf_counter()
        try:
            if name == "campaigns":
                stage(engine, settings, summary)
            else:
                stage(engine, settings, summary, as_of=as_of)
        except ValueError as exc:  # data the stage cannot use: say so, run the others
            summary.notes.append(f"{name}: not built — {exc}")
        summary.seconds[name] = time.perf_counter() - started
    return summary
