"""``prisme.demo.generate``: a synthetic retailer, its messy source exports and the truth.

The company ("Maison Prisme", home and living, stores in France and the UK, a web shop and a
call centre) is drawn in this order, everything from one seeded generator so the same seed
gives the same bytes:

1. persons and households (:mod:`~prisme.demo.people`);
2. their purchase process, BG/NBD with seasonality (:mod:`~prisme.demo.process`);
3. the customer records of the three systems, with variations and defects
   (:mod:`~prisme.demo.records`);
4. products, campaigns (with their causal effect), orders, lines and returns
   (:mod:`~prisme.demo.sales`, :mod:`~prisme.demo.campaigns`);
5. web sessions, calls, surveys and ad spend (:mod:`~prisme.demo.interactions`);
6. the files, ``prisme.toml`` and ``truth/``.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from prisme.config import ProjectSettings, Settings, save_settings
from prisme.demo import campaigns as C
from prisme.demo import interactions as I
from prisme.demo import sources as S
from prisme.demo import sources_more as SM
from prisme.demo.people import household_table, make_people
from prisme.demo.process import (
    WEEKDAY_PROFILE,
    YEARLY_AMPLITUDE,
    YEARLY_PEAK_DOY,
    ProcessParams,
    simulate,
)
from prisme.demo.records import make_records
from prisme.demo.sales import (
    CATEGORIES,
    GBP_RATE,
    WEB,
    make_lines,
    make_orders,
    make_products,
    payment_days,
)
from prisme.demo.truth import write_affinity_truth, write_truth

DEFAULT_TODAY = dt.date(2026, 6, 30)
STEPS = ["persons", "purchases", "customer records", "campaigns", "orders", "customer files",
         "sales files", "interactions", "truth"]


@dataclass
class DemoManifest:
    """What :func:`generate` wrote."""

    directory: Path
    customers: int  #: distinct real persons
    persons: int
    households: int
    records: dict[str, int]  #: customer records per source system (crm, shop, callcentre)
    transaction_lines: int
    files: list[Path] = field(default_factory=list)
    today: dt.date = DEFAULT_TODAY
    seed: int = 42


def _ids_by_person(df: pd.DataFrame, n: int) -> np.ndarray:
    """person index → the person's (first) id in one system, None if not a customer there."""
    out = np.full(n, None, dtype=object)
    first = df[~df["duplicate_record"]]
    out[first["person"].to_numpy()] = first["source_customer_id"].to_numpy(object)
    return out


def generate(customers: int = 20_000, seed: int = 42, directory: Path = Path("prisme-demo"),
             *, progress=None, today: dt.date = DEFAULT_TODAY,
             params: ProcessParams | None = None) -> DemoManifest:
    """Write the demo company into ``directory``: ``prisme.toml``, ``sources/``, ``truth/``.

    ``customers`` is the number of distinct real persons; ``today`` ends the ~3-year history;
    ``progress(step, done, total)`` is called after each step."""
    if customers < 10:
        raise ValueError(f"customers must be at least 10 (got {customers})")
    params = params or ProcessParams()
    root = Path(directory)
    for sub in ("sources", "truth"):
        shutil.rmtree(root / sub, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    step = _Steps(progress)
    rng = np.random.default_rng(seed)
    today64 = np.datetime64(today, "D")
    end_day = float(today64.astype(np.int64))
    start_day = end_day - params.history_days

    people = make_people(rng, customers, today64, today64 - params.history_days)
    step("persons")
    buys = simulate(rng, customers, params, start_day, end_day)
    step("purchases")
    records = make_records(rng, people, buys, end_day)
    ids = {s: _ids_by_person(df, customers) for s, df in records.by_source.items()}
    step("customer records")

    products = make_products(rng)
    cal = C.schedule(start_day, end_day, [c[0] for c in CATEGORIES])
    has = {s: np.flatnonzero(v != None) for s, v in ids.items()}  # noqa: E711
    reachable = {
        "email": has["shop"][people["email"][has["shop"]] != None],  # noqa: E711
        "post": has["crm"],
        "sms": has["crm"][people["mobile"][has["crm"]] != None],  # noqa: E711
        "phone": has["callcentre"],
    }
    contact, extra, lost = C.contacts(rng, cal, reachable, buys, end_day)
    # ad spend and the anonymous web orders it causes (own generator: planted response)
    ad_rng = np.random.default_rng([seed, 1])
    ads = I.ad_spend(ad_rng, start_day, end_day, customers)
    ad_extra, ad_truth = I.ad_orders(ad_rng, ads, customers)
    step("campaigns")
    orders = make_orders(rng, C.without_lost_orders(buys, lost), ids["crm"] != None,  # noqa: E711
                         ids["shop"] != None, pd.concat([extra, ad_extra], ignore_index=True),  # noqa: E711
                         start_day, end_day)
    orders.loc[orders["campaign"] == C.AD_ORDER, "channel"] = WEB
    # cross-category affinity from its own stream (the main stream is unchanged)
    lines = make_lines(rng, orders, products, customers, people["uk"], end_day,
                       affinity_rng=np.random.default_rng([seed, 2]))
    sale = ~lines["is_return"].to_numpy()
    eur = np.where(lines["gbp"].to_numpy(), GBP_RATE, 1.0)
    revenue = np.bincount(lines["order"].to_numpy()[sale],
                          weights=(lines["quantity"] * lines["unit_price"]).to_numpy()[sale]
                          * eur[sale], minlength=len(orders))
    contact = C.conversions(contact, orders, np.round(revenue, 2))
    effects = C.effects(cal, contact)
    caused = orders["campaign"].to_numpy()
    effects["caused_orders"] = np.bincount(caused[caused >= 0], minlength=len(cal))
    effects["caused_revenue"] = np.round(np.bincount(
        caused[caused >= 0], weights=revenue[caused >= 0], minlength=len(cal)), 2)
    step("orders")

    files, sources = [], {}
    f, sources["crm_customers"], dup_lines = S.crm_customers(root, records.by_source["crm"], rng)
    files += f
    f, sources["shop_customers"] = S.shop_customers(root, records.by_source["shop"])
    files += f
    f, sources["callcentre_contacts"] = S.callcentre_contacts(
        root, records.by_source["callcentre"])
    files += f
    f, sources["products"] = S.products(root, products)
    files += f
    step("customer files")
    branch_of = people["branch"]
    # invoices' due and payment days, from a child stream (the main stream is unchanged)
    payments = payment_days(rng.spawn(1)[0], orders, buys.lateness, end_day)
    f, sources["crm_sales"], sources["shop_orders"] = S.sales(
        root, lines, orders, products, ids["crm"], ids["shop"], branch_of, rng, end_day,
        payments)
    files += f
    step("sales files")

    sessions = I.web_sessions(rng, buys, orders, has["shop"], ads, end_day)
    calls = I.calls(rng, buys, has["callcentre"], end_day)
    answers = I.surveys(rng, buys, end_day)
    # post-purchase surveys, from a child stream (the main stream is unchanged): the web
    # shop's after a web order, the CRM's after the others
    after = I.post_purchase_surveys(rng.spawn(1)[0], buys, orders, end_day)
    web = after.pop("channel").to_numpy() == WEB
    answers = pd.concat([answers, after[~web]], ignore_index=True).sort_values(
        ["day", "person"], kind="stable").reset_index(drop=True)
    answers = answers[ids["crm"][answers["person"].to_numpy()] != None]  # noqa: E711
    shop_answers = after[web].reset_index(drop=True)
    shop_answers = shop_answers[ids["shop"][shop_answers["person"].to_numpy()] != None]  # noqa: E711
    n_contacts = np.bincount(contact["campaign"].to_numpy(), minlength=len(cal))
    for name, (fs, s) in {
        "web_sessions": SM.web_sessions(root, sessions, ids["shop"]),
        "callcentre_calls": SM.calls(root, calls, ids["callcentre"]),
        "campaigns": SM.campaigns(root, cal, n_contacts),
        "crm_campaign_contacts": SM.campaign_contacts(root, contact, cal, "crm",
                                                      ["post", "sms"], ids["crm"], rng),
        "shop_campaign_contacts": SM.campaign_contacts(root, contact, cal, "shop", ["email"],
                                                       ids["shop"], rng),
        "callcentre_campaign_contacts": SM.campaign_contacts(
            root, contact, cal, "callcentre", ["phone"], ids["callcentre"], rng),
        "surveys": SM.surveys(root, answers, ids["crm"]),
        "shop_surveys": SM.shop_surveys(root, shop_answers, ids["shop"]),
        "ad_spend": SM.ad_spend(root, ads),
    }.items():
        files += fs
        sources[name] = s
    step("interactions")

    settings = Settings(
        project=ProjectSettings(name="Maison Prisme (demo)", currency="EUR",
                                default_country="FR", exchange_rates={"GBP": GBP_RATE}),
        sources=sources,
    )
    files.append(save_settings(settings, root))
    process = {**params.to_dict(), "time_unit": "week", "today": str(today),
               "history_start": str(today64 - params.history_days),
               "seasonality": {"weekday_profile_monday_first": WEEKDAY_PROFILE.tolist(),
                               "yearly_amplitude": YEARLY_AMPLITUDE,
                               "yearly_peak_day_of_year": YEARLY_PEAK_DOY,
                               "method": "thinning; m(t) averages 1 so the long-run rate is λ"},
               "satisfaction_link": "p = BetaInv(a, b)(Phi(-rho z + kappa w "
                                    "+ sqrt(1 - rho^2 - kappa^2) e)), z ~ N(0,1) latent "
                                    "satisfaction measured by surveys, w ~ N(0,1) latent "
                                    "payment lateness (lateness_kappa)",
               "campaign_persuade_probability": C.PERSUADE,
               "campaign_window_days": C.WINDOW_DAYS,
               "mean_lambda_drawn": float(buys.lam.mean()), "mean_p_drawn": float(buys.p.mean())}
    dup_df = pd.DataFrame({"source": "crm", "source_customer_id": dup_lines,
                           "column": "source_customer_id", "defect": "duplicate_line",
                           "value": dup_lines})
    files += write_truth(root, records=records, people=people, buys=buys, effects=effects,
                         process=process, households=household_table(people),
                         duplicate_lines=dup_df,
                         meta={"customers": customers, "seed": seed, "today": today})
    files += C.write_truth(root, effects, buys, people["person_id"], orders, revenue, ad_truth)
    files += write_affinity_truth(root)
    step("truth")
    return DemoManifest(
        directory=root, customers=customers, persons=customers,
        households=people.n_households,
        records={s: len(df) for s, df in records.by_source.items()},
        transaction_lines=len(lines), files=sorted(Path(p) for p in files), today=today,
        seed=seed)


class _Steps:
    def __init__(self, progress) -> None:
        self.progress, self.done = progress, 0

    def __call__(self, name: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(name, self.done, len(STEPS))
