"""Products, orders and order lines of the demo retailer (a home-and-living chain).

Orders come from the purchase process (:mod:`prisme.demo.process`) plus the extra orders the
campaigns caused (:mod:`prisme.demo.campaigns`) plus anonymous ones (store tickets without a
loyalty card, guest check-outs on the web). Each order has 1–5 lines; some orders are later
partly or wholly returned (a credit note, "AVOIR" in the CRM, "RETURN" on the web shop), with
negative quantities. Customer sales are invoiced: due 30 days after the order, paid on time
or late according to the customer's payment lateness (:func:`payment_days`).

Purchases carry cross-category affinity (:data:`FOLLOW_ON`): the first line of a customer's
next order is, with probability :data:`FOLLOW_PROBABILITY`, in the category that follows the
first line of their previous order (the coffee machine, then the cups and the teapot; the
mattress, then the sheets), so the rules and the next best offers have something to find
(``truth/category_affinity.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prisme.demo.process import Purchases, seasonality, seasonality_max

#: category, margin rate (of the selling price), median price, popularity, items
CATEGORIES = [
    ("Cuisine", 0.42, 35, 0.18, "Poêle Casserole Couteau Cocotte Planche Moule Théière Bol"),
    ("Linge de maison", 0.55, 40, 0.14, "Drap Housse Serviette Nappe Plaid Coussin Peignoir"),
    ("Décoration", 0.60, 28, 0.14, "Vase Cadre Bougie Miroir Horloge Photophore Statuette"),
    ("Literie", 0.48, 180, 0.06, "Matelas Oreiller Couette Sommier Surmatelas"),
    ("Électroménager", 0.22, 120, 0.10, "Bouilloire Grille-pain Mixeur Aspirateur Cafetière"),
    ("Jardin", 0.38, 55, 0.08, "Transat Parasol Jardinière Arrosoir Lanterne Hamac"),
    ("Luminaire", 0.50, 60, 0.08, "Lampe Suspension Applique Lampadaire Guirlande"),
    ("Rangement", 0.45, 30, 0.10, "Panier Boîte Étagère Portemanteau Malle Corbeille"),
    ("Salle de bain", 0.52, 22, 0.08, "Tapis Porte-savon Gobelet Rideau Miroir Distributeur"),
    ("Enfants", 0.47, 25, 0.04, "Peluche Veilleuse Tapis Gigoteuse Mobile"),
]
MODELS = ["Classic", "Nordic", "Loft", "Provence", "Zen", "Atelier", "Riviera", "Bohème"]
LINES_PER_ORDER = np.array([0.40, 0.27, 0.17, 0.10, 0.06])
RETURN_RATE = 0.06
GBP_RATE = 1.17  #: euros per pound (prisme.toml's exchange rate)
CHANNELS = np.array(["store", "web", "phone"], dtype=object)
STORE, WEB, PHONE = 0, 1, 2
#: days between an order and its invoice's due date
PAYMENT_TERMS_DAYS = 30
#: category of a customer's order → the category their next order starts with (with
#: probability FOLLOW_PROBABILITY), and why (truth/category_affinity.csv)
FOLLOW_ON = {
    "Cuisine": ("Électroménager", "the pans, then the kettle or the mixer"),
    "Électroménager": ("Cuisine", "the coffee machine, then the cups and the teapot"),
    "Literie": ("Linge de maison", "the mattress, then the sheets and the duvet cover"),
    "Linge de maison": ("Salle de bain", "the towels, then the bath mat"),
    "Salle de bain": ("Rangement", "the bathroom, then its baskets and shelves"),
    "Décoration": ("Luminaire", "the frames and vases, then the lamps"),
    "Luminaire": ("Décoration", "the lamp, then the candles and the mirror"),
    "Jardin": ("Luminaire", "the garden furniture, then the lanterns and the garlands"),
    "Enfants": ("Rangement", "the toys, then the toy boxes"),
    "Rangement": ("Décoration", "the shelves, then what goes on them"),
}
FOLLOW_PROBABILITY = 0.6


def payment_days(rng: np.random.Generator, orders: pd.DataFrame, lateness: np.ndarray,
                 end_day: float) -> tuple[np.ndarray, np.ndarray]:
    """Per order: the invoice's due day and the day it was paid (NaN: anonymous order, or
    not paid by ``end_day``). A customer with lateness w pays after the due date with
    probability Φ(w − 1) (16 % at w = 0, half at w = 1), 1 + Exp(mean 6 + 12·max(w, 0)) days
    late; otherwise 0–25 days before it (never before the order)."""
    from scipy import stats

    day = orders["day"].to_numpy()
    person = orders["person"].to_numpy()
    known = person >= 0
    w = np.where(known, lateness[np.maximum(person, 0)], 0.0)
    due = np.where(known, np.floor(day) + PAYMENT_TERMS_DAYS + 0.75, np.nan)
    late = rng.random(len(day)) < stats.norm.cdf(w - 1.0)
    days_late = 1 + np.round(rng.exponential(1.0, len(day)) * (6 + 12 * np.maximum(w, 0)))
    early = np.round(rng.random(len(day)) * 25)
    paid = np.where(late, due + days_late, np.maximum(due - early, day + 1 / 1440))
    paid = np.where(known & (paid < end_day), paid, np.nan)
    return due, paid


def make_products(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for c, (cat, margin, median, _, items) in enumerate(CATEGORIES):
        for j, item in enumerate(items.split()):
            for k, model in enumerate(MODELS[: 3 + (j + c) % 5]):
                price = np.round(median * rng.lognormal(0, 0.45), 0) - 0.01
                price = max(price, 2.99)
                m = float(np.clip(margin + rng.normal(0, 0.05), 0.05, 0.85))
                rows.append({"sku": f"{cat[:3].upper()}{c:02d}{j:02d}{k:02d}".replace("É", "E"),
                             "name": f"{item} {model}", "category": cat,
                             "unit_price": round(price, 2), "unit_cost": round(price * (1 - m), 2)})
    return pd.DataFrame(rows)


def channel_of_orders(rng, person: np.ndarray, in_crm: np.ndarray, in_shop: np.ndarray):
    """Store or phone for CRM members, web for shop members; both: a personal mix."""
    web_share = np.where(in_crm & in_shop, 0.45, np.where(in_shop, 1.0, 0.0))
    u = rng.random(len(person))
    web = u < web_share[person]
    phone = ~web & (rng.random(len(person)) < 0.08)
    return np.where(web, WEB, np.where(phone, PHONE, STORE))


def anonymous_times(rng, n: int, start_day: float, end_day: float) -> np.ndarray:
    """``n`` times over the history following the seasonality (rejection sampling)."""
    out = []
    m_max = seasonality_max()
    while sum(len(x) for x in out) < n:
        t = start_day + rng.random(2 * n + 10) * (end_day - start_day)
        out.append(t[rng.random(len(t)) * m_max < seasonality(t)])
    return np.concatenate(out)[:n]


def make_orders(rng, buys: Purchases, in_crm, in_shop, extra: pd.DataFrame, start_day,
                end_day) -> pd.DataFrame:
    """All orders (not yet lines): person (-1 anonymous), day, channel, campaign."""
    person = np.concatenate([buys.buyer, extra["person"].to_numpy()])
    day = np.concatenate([buys.at, extra["day"].to_numpy()])
    campaign = np.concatenate([np.full(len(buys.buyer), -1), extra["campaign"].to_numpy()])
    channel = channel_of_orders(rng, person, in_crm, in_shop)
    n_store = int((channel == STORE).sum() * 0.08)
    n_web = int((channel == WEB).sum() * 0.05)
    anon_day = anonymous_times(rng, n_store + n_web, start_day, end_day)
    person = np.concatenate([person, np.full(n_store + n_web, -1)])
    day = np.concatenate([day, anon_day])
    campaign = np.concatenate([campaign, np.full(n_store + n_web, -1)])
    channel = np.concatenate([channel, np.full(n_store, STORE), np.full(n_web, WEB)])
    # time of day by channel: shops 09:00-19:30, phone 09:00-18:00, web 07:00-24:00
    lo = np.array([9.0, 7.0, 9.0])[channel]
    hi = np.array([19.5, 23.98, 18.0])[channel]
    minute = np.round((lo + rng.random(len(day)) * (hi - lo)) * 60)
    day = np.floor(day) + minute / 1440
    orders = pd.DataFrame({"person": person, "day": day, "channel": channel,
                           "campaign": campaign})
    return orders.sort_values(["day", "person"], kind="stable").reset_index(drop=True)


def follow_on(rng: np.random.Generator, orders: pd.DataFrame, order: np.ndarray,
              cat: np.ndarray) -> np.ndarray:
    """Line categories with the cross-category affinity: walking each customer's orders in
    time order, the first line of an order is, with probability FOLLOW_PROBABILITY, the
    category FOLLOW_ON gives for the (final) category of the previous order's first line.
    ``order`` is each line's order (orders sorted by time, lines grouped by order)."""
    names = [c[0] for c in CATEGORIES]
    nxt = np.array([names.index(FOLLOW_ON[c][0]) for c in names])
    cat = cat.copy()
    person = orders["person"].to_numpy()
    first_line = np.r_[0, np.flatnonzero(np.diff(order)) + 1]  # first line of each order
    first_cat = cat[first_line]
    known = np.flatnonzero(person >= 0)
    by_person = known[np.argsort(person[known], kind="stable")]  # time order within person
    p = person[by_person]
    new_person = np.r_[True, p[1:] != p[:-1]]
    rank = np.arange(len(p)) - np.maximum.accumulate(np.where(new_person, np.arange(len(p)), 0))
    follows = rng.random(len(by_person)) < FOLLOW_PROBABILITY
    for r in range(1, int(rank.max()) + 1 if len(rank) else 0):
        at = np.flatnonzero((rank == r) & follows)
        cur, prev = by_person[at], by_person[at - 1]
        first_cat[cur] = nxt[first_cat[prev]]
    cat[first_line] = first_cat
    return cat


def make_lines(rng, orders: pd.DataFrame, products: pd.DataFrame, n_persons: int,
               uk: np.ndarray, end_day: float,
               affinity_rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Order lines (sales then returns), with prices in the order's currency; with
    ``affinity_rng``, the categories follow each other (:func:`follow_on`, drawn from that
    stream so the main stream is unchanged)."""
    n_lines = rng.choice(5, size=len(orders), p=LINES_PER_ORDER) + 1
    order = np.repeat(np.arange(len(orders)), n_lines)
    person = orders["person"].to_numpy()[order]
    cat_pop = np.array([c[3] for c in CATEGORIES])
    cat_pop = cat_pop / cat_pop.sum()
    fav = rng.choice(len(CATEGORIES), size=n_persons + 1, p=cat_pop)
    cat = np.where(rng.random(len(order)) < 0.45, fav[person],
                   rng.choice(len(CATEGORIES), size=len(order), p=cat_pop))
    if affinity_rng is not None:
        cat = follow_on(affinity_rng, orders, order, cat)
    prod_cat = products["category"].map({c[0]: i for i, c in enumerate(CATEGORIES)}).to_numpy()
    start_of = np.searchsorted(prod_cat, np.arange(len(CATEGORIES)))
    size_of = np.bincount(prod_cat, minlength=len(CATEGORIES))
    pick = start_of[cat] + (rng.random(len(order)) ** 1.5 * size_of[cat]).astype(int)
    qty = rng.choice([1, 2, 3], size=len(order), p=[0.8, 0.15, 0.05]).astype(float)
    price = products["unit_price"].to_numpy()[pick]
    promo = rng.random(len(order)) < 0.1
    price = np.where(promo, np.round(price * rng.choice([0.9, 0.8, 0.7], len(order)), 2), price)
    # one line per (order, product): a product picked twice in a basket is one line
    _, first = np.unique(order * len(products) + pick, return_index=True)
    keep = np.sort(first)
    lines = pd.DataFrame({"order": order[keep], "sku_i": pick[keep], "quantity": qty[keep],
                          "unit_price": price[keep]})

    ch = orders["channel"].to_numpy()[lines["order"]]
    who = orders["person"].to_numpy()[lines["order"]]
    gbp = (ch == WEB) & (who >= 0) & uk[np.maximum(who, 0)]
    lines["gbp"] = gbp  # priced in pounds (UK web customers)
    lines.loc[gbp, "unit_price"] = np.round(lines.loc[gbp, "unit_price"] / GBP_RATE, 2)
    lines["is_return"] = False
    lines["return_of"] = -1
    lines["return_day"] = np.nan
    returns = _returns(rng, orders, lines, end_day)
    return pd.concat([lines, returns], ignore_index=True)


def _returns(rng, orders, lines, end_day):
    """Credit notes: some orders come back (whole or one line) 3-30 days later."""
    n = len(orders)
    back = rng.random(n) < RETURN_RATE
    whole = rng.random(n) < 0.5
    day = orders["day"].to_numpy()
    later = day + np.round(3 + rng.random(n) * 27)  # same time of day, 3-30 days later
    back &= later < end_day
    sel = lines[back[lines["order"].to_numpy()]].copy()
    first_line = ~sel["order"].duplicated()
    sel = sel[whole[sel["order"].to_numpy()] | first_line.to_numpy()]
    sel["return_of"] = sel["order"]
    sel["quantity"] = -sel["quantity"]
    sel["is_return"] = True
    sel["return_day"] = later[sel["order"].to_numpy()]
    return sel
