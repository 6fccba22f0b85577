"""Interactions around the sales: web sessions, calls, satisfaction surveys and ad spend.

* Surveys measure the latent satisfaction z that drives drop-out (see
  :mod:`prisme.demo.process`): each item is ``clip(round(7 + 1.5·z + noise), 1, 10)`` and the
  NPS answer ``clip(round(7.5 + 2·z + noise), 0, 10)``; low scores go with high p. Two
  surveys, as a retailer runs them: a relationship survey answered once by 30 % of the persons,
  and a post-purchase survey e-mailed after each order, answered for 20 % of the orders — by
  the survey tool of the CRM (keyed by CRM id) after a store or phone order, by the web shop's
  own (keyed by shop id) after a web order.
* Calls: customers of the call centre call about orders, deliveries, returns; unhappy ones
  (low z) complain more often.
* Web sessions: one before each web order (logged in), browsing sessions of shop customers, and
  anonymous sessions brought by paid ads (so ad spend and traffic move together).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from prisme.demo.process import Purchases, seasonality

AD_CHANNELS = {"search": (900.0, 0.035, 0.9), "social": (600.0, 0.012, 0.6),
               "display": (400.0, 0.004, 0.5), "video": (300.0, 0.006, 0.4)}
REASONS = np.array(["order", "delivery", "return", "complaint", "information", "cancellation"],
                   dtype=object)
OUTCOMES = np.array(["resolved", "escalated", "callback", "sale", "no_answer"], dtype=object)
AGENTS = np.array(["Agent 01 Sarah", "Agent 02 Mehdi", "Agent 03 Julie", "Agent 04 Tom",
                   "Agent 05 Aïcha", "Agent 06 Kevin", "Agent 07 Lucie", "Agent 08 Marc"],
                  dtype=object)
PAGES = np.array(["/", "/cuisine", "/linge-de-maison", "/decoration", "/literie",
                  "/electromenager", "/jardin", "/luminaire", "/promotions", "/panier",
                  "/compte"], dtype=object)
REFERRERS = np.array(["direct", "google", "newsletter", "facebook", "instagram", "bing"],
                     dtype=object)
DEVICES = np.array(["mobile", "desktop", "tablet"], dtype=object)


def _active_end(buys: Purchases, end_day: float) -> np.ndarray:
    return np.where(np.isnan(buys.dropout_at), end_day, buys.dropout_at + 30)


def surveys(rng, buys: Purchases, end_day: float, share: float = 0.3) -> pd.DataFrame:
    """The relationship survey: a share ``share`` of the persons answer once, at a random time
    while they are customers."""
    n = len(buys.t0)
    who = np.flatnonzero(rng.random(n) < share)
    last = np.minimum(_active_end(buys, end_day), end_day - 1)
    day = buys.t0[who] + 1 + rng.random(len(who)) * np.maximum(last[who] - buys.t0[who] - 1, 0)
    return _answers(rng, who, np.floor(day) + 0.4 + rng.random(len(who)) * 0.4, buys.z[who])


#: share of the orders of known customers whose post-purchase survey (e-mailed the day after
#: the order) is answered
POST_PURCHASE_RESPONSE = 0.2


def post_purchase_surveys(rng, buys: Purchases, orders: pd.DataFrame, end_day: float,
                          share: float = POST_PURCHASE_RESPONSE) -> pd.DataFrame:
    """The survey sent after each order of a known customer (``orders``: person, day),
    answered by a share ``share`` of them within ten days of the order — the same questions,
    measuring the same latent satisfaction z as the relationship survey. ``channel``: the
    order's (the web shop surveys its own orders, the CRM the others)."""
    known = orders[orders["person"].to_numpy() >= 0]
    answered = known[rng.random(len(known)) < share]
    day = np.floor(answered["day"].to_numpy()) + 1 + np.floor(rng.random(len(answered)) * 10)
    day = day + 0.3 + rng.random(len(answered)) * 0.6
    who = answered["person"].to_numpy()
    sent = day < end_day
    who, day = who[sent], day[sent]
    out = _answers(rng, who, day, buys.z[who])
    out["channel"] = answered["channel"].to_numpy()[sent]
    return out


def _answers(rng, who: np.ndarray, day: np.ndarray, z: np.ndarray) -> pd.DataFrame:
    """Survey answers of persons ``who`` on ``day`` (latent satisfaction ``z``)."""

    def item(center, slope, lo, hi):
        v = np.round(center + slope * z + rng.normal(0, 1.2, len(who)))
        return np.clip(v, lo, hi)

    df = pd.DataFrame({"person": who, "day": day,
                       "sat_product": item(7, 1.5, 1, 10), "sat_service": item(7, 1.5, 1, 10),
                       "sat_company": item(7, 1.5, 1, 10), "nps": item(7.5, 2.0, 0, 10)})
    df.loc[rng.random(len(df)) < 0.05, "sat_service"] = np.nan  # skipped questions
    comments = np.array(["", "Très satisfait", "Livraison trop lente", "Produit abîmé",
                         "Vendeur très aimable", "Prix trop élevés", "Great service",
                         "SAV injoignable"], dtype=object)
    pick = np.where(df["nps"] <= 5, rng.choice([2, 3, 5, 7], len(df)),
                    rng.choice([0, 0, 1, 4, 6], len(df)))
    df["comment"] = comments[pick]
    return df


def calls(rng, buys: Purchases, persons: np.ndarray, end_day: float) -> pd.DataFrame:
    """Calls of the call centre's contacts (``persons``: person index per contact)."""
    z = buys.z[persons]
    k = rng.poisson(0.8 + 1.2 * (z < -0.5), size=len(persons))
    who = np.repeat(persons, k)
    zz = buys.z[who]
    last = np.minimum(_active_end(buys, end_day), end_day - 1)
    day = buys.t0[who] + rng.random(len(who)) * np.maximum(last[who] - buys.t0[who], 0)
    m = len(who)
    p_complaint = np.where(zz < -0.5, 0.35, 0.08)
    base = rng.choice([0, 1, 2, 4, 5], size=m, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    reason = np.where(rng.random(m) < p_complaint, 3, base)
    outcome = rng.choice(len(OUTCOMES), size=m, p=[0.6, 0.1, 0.12, 0.1, 0.08])
    df = pd.DataFrame({
        "person": who, "day": np.floor(day) + (9 + rng.random(m) * 9) / 24,
        "direction": np.where(rng.random(m) < 0.85, "inbound", "outbound"),
        "kind": np.where(rng.random(m) < 0.9, "call", "callback"),
        "reason": REASONS[reason], "outcome": OUTCOMES[outcome],
        "duration_s": np.round(rng.gamma(2.0, 150, m) + 20 * (reason == 3)),
        "agent": AGENTS[rng.integers(0, len(AGENTS), m)],
    })
    return df.sort_values(["day", "person"], kind="stable").reset_index(drop=True)


#: planted weekly response of orders to ad spend, per channel: geometric adstock
#: A_w = S_w + θ·A_(w-1) (spend in EUR) and saturation orders_w = β·(1 − exp(−A_w/κ)), with
#: β in orders a week per 100k customers and κ = the channel's typical weekly adstock
AD_RESPONSE = {"search": (0.3, 800.0), "social": (0.5, 500.0), "display": (0.4, 160.0),
               "video": (0.7, 300.0)}
#: spend is bought in flights of this many weeks, each at one of these multiples of the base
FLIGHT_WEEKS, FLIGHTS = 4, (0.25, 1.0, 1.75)


def ad_spend(rng, start_day: float, end_day: float, customers: int) -> pd.DataFrame:
    """Daily spend per ad channel, scaled to the size of the company (base: 100k customers),
    seasonal, bought in flights (a multiple of the base for 4 weeks at a time)."""
    days = np.arange(int(start_day), int(end_day))
    scale = customers / 100_000
    rows = []
    m = seasonality(days.astype(float))
    flight_of_day = (days - days[0]) // (7 * FLIGHT_WEEKS)
    for ch, (base, ctr, _) in AD_CHANNELS.items():
        flight = rng.choice(FLIGHTS, size=int(flight_of_day.max()) + 1)[flight_of_day]
        spend = np.round(base * scale * m * flight * rng.lognormal(0, 0.25, len(days)), 2)
        impressions = rng.poisson(spend * {"search": 60, "social": 180, "display": 900,
                                           "video": 250}[ch])
        clicks = rng.binomial(impressions, ctr)
        rows.append(pd.DataFrame({"day": days, "channel": ch, "spend": spend,
                                  "impressions": impressions, "clicks": clicks}))
    return pd.concat(rows, ignore_index=True).sort_values(["day", "channel"], kind="stable")


def ad_orders(rng, ads: pd.DataFrame, customers: int) -> tuple[pd.DataFrame, dict]:
    """Anonymous web orders caused by advertising (the planted response, weekly) and its truth.

    Weeks start on the first day of ``ads``; the orders of a week are spread over its days."""
    scale = customers / 100_000
    first = int(ads["day"].min())
    out, truth = [], {}
    for ch, (theta, beta) in AD_RESPONSE.items():
        a = ads[ads["channel"] == ch]
        week = (a["day"].to_numpy() - first) // 7
        spend = np.bincount(week, weights=a["spend"].to_numpy())
        stock = np.zeros(len(spend))
        for w in range(len(spend)):
            stock[w] = spend[w] + (theta * stock[w - 1] if w else 0.0)
        kappa = float(np.mean(spend) / (1 - theta))
        expected = beta * scale * (1 - np.exp(-stock / kappa))
        n = rng.poisson(expected)
        day = first + 7 * np.repeat(np.arange(len(spend)), n) + rng.random(n.sum()) * 7
        day = day[day < a["day"].max() + 1]
        out.append(pd.DataFrame({"person": -1, "day": day, "campaign": -2}))
        truth[ch] = {"adstock_decay_weekly": theta, "saturation_kappa_eur": round(kappa, 2),
                     "max_orders_per_week": beta * scale,
                     "mean_weekly_spend_eur": round(float(np.mean(spend)), 2),
                     "orders_per_week_at_mean_spend": float(
                         beta * scale * (1 - np.exp(-1.0))),
                     "caused_orders": int(len(day))}
    return pd.concat(out, ignore_index=True), truth


def web_sessions(rng, buys: Purchases, orders: pd.DataFrame, shop_persons: np.ndarray,
                 ads: pd.DataFrame, end_day: float) -> pd.DataFrame:
    """Sessions: before each web order, browsing by shop customers, and ad-driven visits."""
    web = orders[(orders["channel"] == 1)]
    pre = pd.DataFrame({"person": web["person"].to_numpy(),
                        "day": web["day"].to_numpy() - rng.random(len(web)) * 0.02,
                        "referrer": REFERRERS[rng.choice(6, len(web),
                                                         p=[.35, .3, .15, .1, .05, .05])],
                        "ordered": True})
    k = rng.poisson(1.5, size=len(shop_persons))
    who = np.repeat(shop_persons, k)
    last = np.minimum(_active_end(buys, end_day), end_day - 0.01)
    day = buys.t0[who] + rng.random(len(who)) * np.maximum(last[who] - buys.t0[who], 0)
    browse = pd.DataFrame({"person": who, "day": day,
                           "referrer": REFERRERS[rng.choice(6, len(who),
                                                            p=[.4, .25, .2, .08, .04, .03])],
                           "ordered": False})
    visits = []
    for ch, (_, _, per_click) in AD_CHANNELS.items():
        a = ads[ads["channel"] == ch]
        n = rng.binomial(a["clicks"].to_numpy(), per_click * 0.05)
        d = np.repeat(a["day"].to_numpy(), n) + rng.random(n.sum())
        visits.append(pd.DataFrame({"person": -1, "day": d,
                                    "referrer": "google" if ch == "search" else
                                    ("facebook" if ch == "social" else f"ads_{ch}"),
                                    "ordered": False}))
    df = pd.concat([pre, browse, *visits], ignore_index=True)
    m = len(df)
    # a logged-in session carries the customer's id; some are not logged in
    logged = (df["person"] >= 0) & (df["ordered"] | (rng.random(m) < 0.6))
    df["person"] = np.where(logged, df["person"], -1)
    df["landing_page"] = PAGES[rng.integers(0, len(PAGES), m)]
    df["clicks"] = 1 + rng.poisson(np.where(df["ordered"], 9, 4))
    df["duration_s"] = np.round(df["clicks"] * rng.gamma(2.0, 20, m))
    df["device"] = DEVICES[rng.choice(3, m, p=[0.58, 0.34, 0.08])]
    octets = rng.integers([77, 0, 0, 1], [95, 256, 256, 255], size=(m, 4))
    df["ip"] = pc.binary_join_element_wise(
        *[pa.array(octets[:, j]).cast(pa.string()) for j in range(4)], ".").to_numpy(
        zero_copy_only=False)
    return df.sort_values(["day", "person"], kind="stable").reset_index(drop=True)
