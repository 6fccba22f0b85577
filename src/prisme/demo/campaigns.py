"""Marketing campaigns with randomised control groups and heterogeneous, planted effects.

Each campaign picks a random sample of the customers its system can reach (e-mail: shop
accounts with an address; post and SMS: CRM records; phone: the call centre's contacts),
acquired before the send date, and holds out a random control group large enough to measure
the effect (a quarter to a third of the contacts). Every person has an *uplift kind*
(:func:`uplift_kinds`), drawn from traits the warehouse shows indirectly (purchase frequency,
satisfaction measured by surveys and complaints):

* **sleeping dogs** — very dissatisfied customers (satisfaction z < ``SLEEPING_DOG_Z``):
  contacting one who is still active cancels, with probability ``SLEEPING_DOG_LOSS``, the
  orders it would have placed in the response window anyway (a negative effect);
* **sure things** — frequent buyers (λ ≥ ``SURE_THING_LAMBDA`` a week): they buy anyway, the
  contact changes nothing;
* **lost causes** — very rare buyers (λ < ``LOST_CAUSE_LAMBDA``) and anyone who has dropped
  out: no effect;
* **persuadables** — the rest: a treated, active persuadable places an *extra* order within
  the window with probability ``PERSUADE[channel]``.

Organic orders continue for everybody, so the control group's conversion is the baseline. The
truth (``truth/campaign_effects.csv``, ``truth/channel_effects.csv``, ``truth/uplift.csv``)
records, for every contact, both potential outcomes (converted if treated / if not), so each
campaign's and channel's true effect on conversion is exact, not a formula.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from prisme.demo import writers as W
from prisme.demo.process import Purchases, alive_at

#: P(extra order within the window | treated, active persuadable), by channel
PERSUADE = {"email": 0.05, "post": 0.09, "sms": 0.03, "phone": 0.15}
#: kept for readers of earlier truth files: the planted effect on a persuadable
TRUE_UPLIFT = PERSUADE
SLEEPING_DOG_Z = -1.2
SLEEPING_DOG_LOSS = 0.6
SURE_THING_LAMBDA = 0.3
LOST_CAUSE_LAMBDA = 0.02
KINDS = np.array(["persuadable", "sure_thing", "lost_cause", "sleeping_dog"], dtype=object)
#: months between two campaigns, share of reachable customers contacted, control share, cost
SCHEDULE = {
    "email": (2, 0.5, 0.25, 0.002),
    "post": (3, 0.3, 0.3, 0.85),
    "sms": (4, 0.35, 0.3, 0.06),
    "phone": (4, 0.4, 0.3, 4.5),
}
SYSTEM = {"email": "shop", "post": "crm", "sms": "crm", "phone": "callcentre"}
WINDOW_DAYS = 21
#: ``campaign`` of the orders caused by advertising (campaign-caused orders have the index)
AD_ORDER = -2
THEMES = ["Soldes d'hiver", "Printemps maison", "Fête des mères", "Soldes d'été", "Rentrée",
          "Black Friday", "Noël", "Blanc de janvier", "Jardin", "Anniversaire client"]


def uplift_kinds(buys: Purchases) -> np.ndarray:
    """Index into ``KINDS`` of every person (sleeping dog first, then λ decides)."""
    kind = np.zeros(len(buys.lam), dtype=np.int8)
    kind[buys.lam >= SURE_THING_LAMBDA] = 1
    kind[buys.lam < LOST_CAUSE_LAMBDA] = 2
    kind[buys.z < SLEEPING_DOG_Z] = 3
    return kind


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


def _organic_in_window(buys: Purchases, person: np.ndarray, day: np.ndarray,
                       window: float = WINDOW_DAYS) -> np.ndarray:
    """Purchases of the process (first ones included) of each person in [day, day + window)."""
    # purchases are sorted by (buyer, time): bisect each person's slice
    start = np.searchsorted(buys.buyer, person, side="left")
    stop = np.searchsorted(buys.buyer, person, side="right")
    return _bisect(buys.at, start, stop, day + window) - _bisect(buys.at, start, stop, day)


def _bisect(at: np.ndarray, start: np.ndarray, stop: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Vectorised bisect_left of ``value`` in ``at[start:stop]`` (each slice sorted)."""
    lo, hi = start.copy(), stop.copy()
    while True:
        open_ = lo < hi
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        less = open_ & (at[np.minimum(mid, len(at) - 1)] < value)
        lo = np.where(less, mid + 1, lo)
        hi = np.where(open_ & ~less, mid, hi)


def contacts(rng, calendar: pd.DataFrame, reachable: dict[str, np.ndarray],
             buys: Purchases, end_day: float
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Who each campaign contacted (treatment/control), the extra orders it caused, and the
    windows in which treated sleeping dogs lost their organic orders (person, start, end).

    Both potential outcomes are kept per contact: ``organic`` (orders the person places in the
    window anyway), ``would_lose`` (a sleeping dog that would lose them if treated) and
    ``would_respond`` (a persuadable that would place an extra order if treated)."""
    kinds = uplift_kinds(buys)
    frames, extra, lost = [], [], []
    for c, row in enumerate(calendar.itertuples()):
        pool = reachable[row.channel]
        pool = pool[buys.t0[pool] < row.day]
        chosen = pool[rng.random(len(pool)) < row.share]
        control = rng.random(len(chosen)) < row.control
        active = alive_at(buys, chosen, np.full(len(chosen), row.day))
        kind = kinds[chosen]
        delay = np.minimum(rng.exponential(4.0, len(chosen)), WINDOW_DAYS - 1)
        when = row.day + 0.1 + delay
        would_respond = (active & (kind == 0) & (rng.random(len(chosen)) < PERSUADE[row.channel])
                         & (when < end_day))
        organic = _organic_in_window(buys, chosen, np.full(len(chosen), row.day))
        would_lose = active & (kind == 3) & (organic > 0) & (
            rng.random(len(chosen)) < SLEEPING_DOG_LOSS)
        respond = ~control & would_respond
        frames.append(pd.DataFrame({"campaign": c, "person": chosen, "control": control,
                                    "active": active, "kind": kind,
                                    "organic": organic, "would_respond": would_respond,
                                    "would_lose": would_lose, "caused_order": respond,
                                    "contacted_day": row.day}))
        extra.append(pd.DataFrame({"person": chosen[respond], "day": when[respond],
                                   "campaign": c}))
        lose = ~control & would_lose
        lost.append(pd.DataFrame({"person": chosen[lose], "start": row.day,
                                  "end": row.day + WINDOW_DAYS}))
    return (pd.concat(frames, ignore_index=True), pd.concat(extra, ignore_index=True),
            pd.concat(lost, ignore_index=True))


def without_lost_orders(buys: Purchases, lost: pd.DataFrame) -> Purchases:
    """The purchase process minus the orders treated sleeping dogs did not place (their
    first purchase is never inside a campaign window: only acquired customers are contacted)."""
    if lost.empty:
        return buys
    pos = np.flatnonzero(np.isin(buys.buyer, lost["person"].to_numpy()))
    p = pd.DataFrame({"pos": pos, "person": buys.buyer[pos], "at": buys.at[pos]})
    m = p.merge(lost, on="person")
    drop = m.loc[(m["at"] >= m["start"]) & (m["at"] < m["end"]), "pos"].unique()
    keep = np.ones(len(buys.buyer), dtype=bool)
    keep[drop] = False
    keep |= buys.is_first
    from dataclasses import replace

    return replace(buys, buyer=buys.buyer[keep], at=buys.at[keep], is_first=buys.is_first[keep])


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
    """The truth of each campaign: its exact effect on conversion within the window (both
    potential outcomes of every contact) and what an analyst would observe."""
    c = contact.assign(converted=contact["converted_day"].notna())
    y0 = c["organic"] > 0
    y1 = (y0 & ~c["would_lose"]) | c["would_respond"]
    c = c.assign(effect=y1.astype(float) - y0.astype(float))
    g = c.groupby(["campaign", "control"])
    conv = g["converted"].mean().unstack().reindex(columns=[False, True])
    n = g.size().unstack().reindex(columns=[False, True])
    act = c[~c["control"]].groupby("campaign")["active"].mean()
    cal = calendar.reset_index(drop=True)
    by = c.groupby("campaign")
    out = pd.DataFrame({
        "campaign_id": cal["campaign_id"], "channel": cal["channel"],
        "started_at": (cal["day"].to_numpy() * 86400).astype("int64").astype("datetime64[s]"),
        "n_treatment": n[False].reindex(cal.index).fillna(0).astype(int).to_numpy(),
        "n_control": n[True].reindex(cal.index).fillna(0).astype(int).to_numpy(),
        "true_uplift_if_active": cal["channel"].map(PERSUADE).to_numpy(),
        "share_active_treatment": act.reindex(cal.index).to_numpy(),
    })
    out["true_uplift"] = by["effect"].mean().reindex(cal.index).to_numpy()
    for k, name in enumerate(KINDS):
        out[f"share_{name}"] = by["kind"].apply(lambda v, k=k: (v == k).mean()).reindex(
            cal.index).to_numpy()
    out["observed_conversion_treatment"] = conv[False].reindex(cal.index).to_numpy()
    out["observed_conversion_control"] = conv[True].reindex(cal.index).to_numpy()
    out["observed_uplift"] = (out["observed_conversion_treatment"]
                              - out["observed_conversion_control"])
    out["window_days"] = WINDOW_DAYS
    return out


def channel_effects(effects: pd.DataFrame) -> pd.DataFrame:
    """Each channel's true effect on conversion, pooled over its campaigns with the weights an
    analyst uses (Mantel–Haenszel, n_t·n_c/(n_t + n_c): see ``prisme.campaigns``)."""
    e = effects[(effects["n_treatment"] > 0) & (effects["n_control"] > 0)]
    w = e["n_treatment"] * e["n_control"] / (e["n_treatment"] + e["n_control"])
    rows = []
    for ch, part in e.assign(w=w).groupby("channel", sort=True):
        rows.append({"channel": ch, "campaigns": len(part),
                     "n_treatment": int(part["n_treatment"].sum()),
                     "n_control": int(part["n_control"].sum()),
                     "true_effect": float((part["w"] * part["true_uplift"]).sum()
                                          / part["w"].sum()),
                     "persuade_probability": PERSUADE[ch]})
    return pd.DataFrame(rows)


def person_uplift(buys: Purchases) -> pd.DataFrame:
    """Per person: the uplift kind and the expected effect of a contact on the probability of
    ordering within the window, if the person is active, by channel (λ: the person's rate)."""
    kinds = uplift_kinds(buys)
    base = 1 - np.exp(-buys.lam * WINDOW_DAYS / 7)  # P(organic order in the window)
    out = pd.DataFrame({"kind": KINDS[kinds]})
    for ch, p in PERSUADE.items():
        out[f"effect_if_active_{ch}"] = np.where(
            kinds == 0, p * (1 - base), np.where(kinds == 3, -SLEEPING_DOG_LOSS * base, 0.0))
    return out


README = """
## channel_effects.csv — one row per campaign channel
`true_effect`: the channel's exact effect on conversion within the window, pooled over its
campaigns with Mantel–Haenszel weights n_t·n_c/(n_t + n_c) (what `mart_channels.lift`
estimates); `persuade_probability`: P(extra order | treated active persuadable).

## uplift.csv — one row per person: who a contact moves
`kind`: `persuadable` (a contact may bring an extra order), `sure_thing` (buys anyway, λ ≥ {sure}
a week), `lost_cause` (λ < {lost}; anyone who has dropped out is one too), `sleeping_dog`
(satisfaction z < {dog}: a contact cancels, with probability {loss}, the orders they would
have placed in the window). `effect_if_active_<channel>`: the expected change of P(order within
{window} days) caused by a contact of that channel while the person is active (λ of
churners.csv; 0 once dropped out). In campaign_effects.csv `true_uplift` is each campaign's
exact effect on conversion over all its contacts (both potential outcomes are known), and
`share_<kind>` the mix of its contacts.

## ad_response.json — what advertising really does
Anonymous web orders caused by ad spend, per channel, weekly (weeks start on the first day of
ad_spend.csv): geometric adstock A_w = S_w + θ·A_(w−1), saturation orders_w = β·(1 −
exp(−A_w/κ)); `adstock_decay_weekly` θ, `saturation_kappa_eur` κ, `max_orders_per_week` β,
`caused_orders`, `revenue_per_order_eur` (mean revenue of those orders, before returns).
"""


def write_truth(root: Path, effects: pd.DataFrame, buys: Purchases, person_id,
                orders: pd.DataFrame, revenue: np.ndarray, ad_truth: dict) -> list[Path]:
    """``truth/channel_effects.csv``, ``truth/uplift.csv``, ``truth/ad_response.json`` and
    their section of ``truth/README.md`` (written after the rest of the truth)."""
    t = Path(root) / "truth"
    ch = channel_effects(effects)
    files = [W.write_csv({c: ch[c].astype(str).to_numpy(object) for c in ch},
                         t / "channel_effects.csv")]
    up = person_uplift(buys)
    cols = {"person_id": np.asarray(person_id, dtype=object), "kind": up["kind"].to_numpy(object)}
    cols.update({c: W.money_text(up[c].to_numpy(), ".", 5) for c in up if c != "kind"})
    files.append(W.write_csv(cols, t / "uplift.csv"))
    ad = orders["campaign"].to_numpy() == AD_ORDER
    per_order = float(revenue[ad].mean()) if ad.any() else 0.0
    truth = {ch: {**v, "revenue_per_order_eur": round(per_order, 2)} for ch, v in ad_truth.items()}
    (t / "ad_response.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
    files.append(t / "ad_response.json")
    with (t / "README.md").open("a", encoding="utf-8") as f:
        f.write(README.format(sure=SURE_THING_LAMBDA, lost=LOST_CAUSE_LAMBDA, dog=SLEEPING_DOG_Z,
                              loss=SLEEPING_DOG_LOSS, window=WINDOW_DAYS))
    return files
