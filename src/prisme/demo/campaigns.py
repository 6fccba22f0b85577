"""Marketing campaigns with randomised control groups and a real effect by channel.

Each campaign picks a random sample of the customers its system can reach (e-mail: shop
accounts with an address; post and SMS: CRM records; phone: the call centre's contacts),
acquired before the send date, and holds out a random control group. A treated customer who is
still active (has not dropped out of the purchase process) places an *extra* order within the
response window with probability ``TRUE_UPLIFT[channel]``: that is the true causal effect,
recorded in ``truth/campaign_effects.csv``. Organic orders continue for everybody, so the
observed conversion of the control group is the baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prisme.demo.process import Purchases, alive_at

#: absolute increase of P(order within the window | active customer), by channel
TRUE_UPLIFT = {"email": 0.02, "post": 0.04, "sms": 0.015, "phone": 0.07}
#: months between two campaigns, share of reachable customers contacted, control share, cost
SCHEDULE = {
    "email": (2, 0.25, 0.10, 0.002),
    "post": (3, 0.10, 0.15, 0.85),
    "sms": (4, 0.12, 0.15, 0.06),
    "phone": (6, 0.08, 0.20, 4.5),
}
SYSTEM = {"email": "shop", "post": "crm", "sms": "crm", "phone": "callcentre"}
WINDOW_DAYS = 21
THEMES = ["Soldes d'hiver", "Printemps maison", "Fête des mères", "Soldes d'été", "Rentrée",
          "Black Friday", "Noël", "Blanc de janvier", "Jardin", "Anniversaire client"]


def schedule(start_day: float, end_day: float, categories: list[str]) -> pd.DataFrame:
    """The campaign calendar: one row per campaign (days since 1970-01-01)."""
    rows = []
    first = np.datetime64(int(start_day), "D").astype("datetime64[M]") + 1
    for channel, (every, share, control, unit_cost) in SCHEDULE.items():
        month = first + {"email": 0, "post": 1, "sms": 2, "phone": 0}[channel]
        k = 0
        while True:
            day = (month.astype("datetime64[D]") + 9).astype(int) + k % 5
            if day + WINDOW_DAYS >= end_day:
                break
            theme = THEMES[(int(month.astype(int)) + k) % len(THEMES)]
            rows.append({"channel": channel, "day": float(day) + 0.375, "theme": theme,
                         "share": share, "control": control, "unit_cost": unit_cost,
                         "category": categories[(k * 3 + len(rows)) % len(categories)]})
            month = month + every
            k += 1
    df = pd.DataFrame(rows).sort_values(["day", "channel"], kind="stable").reset_index(drop=True)
    df["campaign_id"] = [f"CMP{i + 1:03d}" for i in range(len(df))]
    return df


def contacts(rng, calendar: pd.DataFrame, reachable: dict[str, np.ndarray],
             buys: Purchases, end_day: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Who each campaign contacted (treatment/control) and the extra orders it caused."""
    frames, extra = [], []
    for c, row in enumerate(calendar.itertuples()):
        pool = reachable[row.channel]
        pool = pool[buys.t0[pool] < row.day]
        chosen = pool[rng.random(len(pool)) < row.share]
        control = rng.random(len(chosen)) < row.control
        active = alive_at(buys, chosen, np.full(len(chosen), row.day))
        respond = ~control & active & (rng.random(len(chosen)) < TRUE_UPLIFT[row.channel])
        delay = np.minimum(rng.exponential(4.0, len(chosen)), WINDOW_DAYS - 1)
        when = row.day + 0.1 + delay
        respond &= when < end_day
        frames.append(pd.DataFrame({"campaign": c, "person": chosen, "control": control,
                                    "active": active, "caused_order": respond,
                                    "contacted_day": row.day}))
        extra.append(pd.DataFrame({"person": chosen[respond], "day": when[respond],
                                   "campaign": c}))
    return pd.concat(frames, ignore_index=True), pd.concat(extra, ignore_index=True)


def conversions(contact: pd.DataFrame, orders: pd.DataFrame,
                order_revenue: np.ndarray) -> pd.DataFrame:
    """First order of each contacted person within the window: converted_at and its revenue."""
    known = orders["person"].to_numpy() >= 0
    o = orders[known]
    rev = order_revenue[known]
    key = o["person"].to_numpy() * 100_000.0 + o["day"].to_numpy()
    order = np.argsort(key, kind="stable")
    key, o_day, rev = key[order], o["day"].to_numpy()[order], rev[order]
    start = contact["person"].to_numpy() * 100_000.0 + contact["contacted_day"].to_numpy()
    pos = np.searchsorted(key, start, side="left")
    pos_ok = np.minimum(pos, len(key) - 1)
    hit = (pos < len(key)) & (key[pos_ok] - start < WINDOW_DAYS) & (key[pos_ok] >= start)
    out = contact.copy()
    out["converted_day"] = np.where(hit, o_day[pos_ok], np.nan)
    out["response_revenue"] = np.where(hit, rev[pos_ok], np.nan)
    return out


def effects(calendar: pd.DataFrame, contact: pd.DataFrame) -> pd.DataFrame:
    """The truth of each campaign: true effect, and what a perfect analyst would observe."""
    c = contact.assign(converted=contact["converted_day"].notna())
    g = c.groupby(["campaign", "control"])
    conv = g["converted"].mean().unstack()
    n = g.size().unstack()
    act = c[~c["control"]].groupby("campaign")["active"].mean()
    cal = calendar.reset_index(drop=True)
    out = pd.DataFrame({
        "campaign_id": cal["campaign_id"], "channel": cal["channel"],
        "started_at": (cal["day"].to_numpy() * 86400).astype("int64").astype("datetime64[s]"),
        "n_treatment": n[False].reindex(cal.index).fillna(0).astype(int).to_numpy(),
        "n_control": n[True].reindex(cal.index).fillna(0).astype(int).to_numpy(),
        "true_uplift_if_active": cal["channel"].map(TRUE_UPLIFT).to_numpy(),
        "share_active_treatment": act.reindex(cal.index).to_numpy(),
    })
    out["true_uplift"] = out["true_uplift_if_active"] * out["share_active_treatment"]
    out["observed_conversion_treatment"] = conv[False].reindex(cal.index).to_numpy()
    out["observed_conversion_control"] = conv[True].reindex(cal.index).to_numpy()
    out["observed_uplift"] = (out["observed_conversion_treatment"]
                              - out["observed_conversion_control"])
    out["window_days"] = WINDOW_DAYS
    return out
