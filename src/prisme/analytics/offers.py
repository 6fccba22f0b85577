"""Next best offer per party: what to propose that the customer does not own yet, and why.

As of a day, in the engine:

1. **What each customer owns** — the categories (or products) of their purchases until then
   (active sales: returns and cancelled lines left out).
2. **Rules** — association rules between items *owned by the same customer* (a customer's
   purchases are one basket: :func:`prisme.analytics.basket.association_rules`), one item → one
   item, with confidence and lift.
3. **Next-order rules** — what customers buy in the order *after* an order holding an item:
   for items a, b, the share of the orders holding a whose customer's next order holds b
   (confidence), against the share of all next orders holding b (lift). They fire on the
   customer's last order: what people buy right after what this customer just bought.
4. **Propensity on the profile** — the share of the customers of the same RFM segment who own
   the item (what customers like this one buy).
5. **Score** of an item not owned: items a next-order rule (lift 1.2 or more) fires for come
   first, by that rule's confidence; the others follow, by the larger of the best firing
   ownership rule's confidence (lift above 1) and the segment propensity. The reason names
   the rule that placed the item, else the segment; items sold at no margin (unit cost ≥
   price) are never offered; a
   customer who refused every channel (consent_email, consent_phone and consent_post all
   false) gets no offer. The top 3 go to ``customer_360.next_best_offers`` with the reason in
   words ("bought Cuisine; 38% of its buyers also buy Literie, 1.4× the usual rate").

The offers are checked as of a past cut-off (``now − churn_horizon_days``): the hit rate of the
top 3 — the share of customers who bought a new item in the following period for whom that
item was among their 3 offers — against the 3 most popular items they did not own. The check
is counted in the engine over every customer (no sample), from the same purchase lines as the
offers of today (a past day's lines are today's cut at that day: the sales are read once).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from prisme.analytics.basket import NoBaskets, _Scratch, association_rules
from prisme.analytics.features import as_of_day, party_keys, party_sales, scores_as_of
from prisme.analytics.rfm import rfm_table
from prisme.analytics.texts import join_runs

#: the customer_360 columns this module contributes
CUSTOMER_360_COLUMNS = {"next_best_offers": dt.string}
#: the stored offers of the latest run, one row per party
SCORES_TABLE = "offer_scores"
EVALUATION_TABLE = "offer_evaluation"
TOP = 3
#: rules need this many customers owning both items
MIN_OWNERS = 20
#: a next-order rule fires when it raises the chance of the item in the next order by a fifth
#: (a rule at lift 1.0x would put a near-random item before every ownership rule)
MIN_NEXT_LIFT = 1.2


def customer_360_part(engine, settings, as_of) -> ibis.Table | None:
    """next_best_offers per party as of ``as_of`` (None when the offers stage has not run)."""
    return scores_as_of(engine, SCORES_TABLE, CUSTOMER_360_COLUMNS, as_of)


# ------------------------------------------------------------------------ ownership
def _items(engine, as_of, level: str, *, keys=None, orders: bool = False) -> ibis.Table:
    """(party_id, item, label) of every active purchase line until as_of (``orders``: with
    the line's ``order`` and time ``at``, as the next-order rules read them)."""
    s = party_sales(engine, as_of=as_of, keys=keys)
    s = s.filter(~s.is_return & (s.revenue > 0) & (s.quantity > 0))
    if level == "category":
        s = s.filter(s.category.notnull())
        more = {"order": s.source.concat(":", s.order_id), "at": s.ordered_at} if orders \
            else {}
        return s.select("party_id", item=s.category, label=s.category, **more)
    label = s.sku
    if engine.has_table("dim_product"):
        p = engine.table("dim_product")
        if "is_current" in p.columns:
            p = p.filter(p.is_current.fill_null(True))
        p = p.group_by("sku").aggregate(name=p.name.max())
        s = s.left_join(p, s.sku == p.sku).select(*s.columns, name=p.name)
        label = s.name.coalesce(s.sku)
    more = {"order": s.source.concat(":", s.order_id), "at": s.ordered_at} if orders else {}
    return s.select("party_id", item=s.sku, label=label, **more)


def order_lines(engine, as_of, *, keys=None) -> ibis.Table:
    """One row per active purchase line of an order until ``as_of`` (returns and cancelled
    lines left out): ``basket`` (the order, numbered 1, 2, … in (source, order_id) order),
    ``sku``, ``category`` — the baskets of :func:`warehouse_rules`, at either level."""
    s = party_sales(engine, as_of=as_of, keys=keys)
    s = s.filter(~s.is_return & (s.revenue > 0) & (s.quantity > 0) & s.source.notnull()
                 & s.order_id.notnull())
    orders = s.select("source", "order_id").distinct()
    orders = orders.mutate(basket=ibis.row_number().over(
        ibis.window(order_by=["source", "order_id"])).cast("int64") + 1)
    j = s.join(orders, [s.source == orders.source, s.order_id == orders.order_id])
    return j.select(orders.basket, s.sku, s.category)


def warehouse_rules(engine, as_of, *, level: str = "product", min_baskets: int = MIN_OWNERS,
                    max_len: int = 3, keys=None, lines: ibis.Table | None = None
                    ) -> pd.DataFrame:
    """Association rules of the orders until ``as_of`` (one order = one basket; returns and
    cancelled lines left out), between products (``level="product"``) or categories, with
    items named (product names); rules need ``min_baskets`` orders holding the whole rule
    (``keys``: :func:`party_keys`, when the caller has stored them; ``lines``:
    :func:`order_lines`, when the caller has stored them for both levels)."""
    lines = order_lines(engine, as_of, keys=keys) if lines is None else lines
    item = lines.sku if level == "product" else lines.category
    lines = lines.filter(item.notnull()).select("basket", item=item)
    try:
        rules = association_rules(engine, lines, basket="basket", item="item",
                                  min_count=min_baskets, max_len=max_len)
    except NoBaskets:
        return pd.DataFrame()
    if level == "product" and len(rules):
        name = _product_names(engine)
        rules["antecedent_names"] = rules.antecedent.map(lambda a: [name.get(i, i) for i in a])
        rules["consequent_names"] = rules.consequent.map(lambda a: [name.get(i, i) for i in a])
    return rules.assign(level=level)


def _product_names(engine) -> dict:
    """sku → product name (:func:`_items`' label of a product line: its current name, the
    sku when it has none)."""
    if not engine.has_table("dim_product"):
        return {}
    p = engine.table("dim_product")
    if "is_current" in p.columns:
        p = p.filter(p.is_current.fill_null(True))
    p = p.group_by("sku").aggregate(name=p.name.max())
    names = engine.to_pandas(p.filter(p.name.notnull() & p.sku.notnull()))
    return dict(zip(names["sku"], names["name"], strict=True))


RULES_MART = "mart_basket_rules"


def _rules_mart(engine, as_of, keys=None) -> int:
    """Product and category rules of the orders as ``mart_basket_rules`` (items joined with
    " + " as text, so that any SQL client reads them)."""
    frames = []
    scratch = _Scratch(engine)
    try:  # the orders read once for both levels
        lines = scratch.keep("order_lines", order_lines(engine, as_of, keys=keys))
        found = [warehouse_rules(engine, as_of, level=level, keys=keys, lines=lines)
                 for level in ("product", "category")]
    finally:
        scratch.drop()
    for level, r in zip(("product", "category"), found, strict=True):
        if r.empty:
            continue
        names_a = r.get("antecedent_names", r.antecedent)
        names_c = r.get("consequent_names", r.consequent)
        frames.append(pd.DataFrame({
            "level": level, "as_of": as_of,
            "antecedent": r.antecedent.map(" + ".join),
            "consequent": r.consequent.map(" + ".join),
            "antecedent_names": names_a.map(" + ".join),
            "consequent_names": names_c.map(" + ".join),
            **{c: r[c].astype(float) for c in ("antecedent_support", "consequent_support",
                                               "support", "confidence", "lift", "leverage",
                                               "conviction")},
            "baskets": r.baskets.astype("int64")}))
    if not frames:
        return 0
    df = pd.concat(frames, ignore_index=True)
    engine.create_table(RULES_MART, ibis.memtable(df), overwrite=True)
    return len(df)


def next_order_rules(engine, as_of, level: str = "category", *,
                     min_orders: int = MIN_OWNERS) -> ibis.Table:
    """Item → item rules between an order and the same customer's next order, until
    ``as_of``: ``ante``, ``cons``, ``confidence`` (share of the orders holding ``ante``,
    followed by another order, whose next order holds ``cons``), ``lift`` (confidence over
    the share of all such next orders holding ``cons``) and ``orders`` (pairs of orders
    behind the rule, at least ``min_orders``)."""
    return _next_order_rules(_items(engine, as_of, level, orders=True), min_orders=min_orders)


def _next_order_rules(lines: ibis.Table, *, min_orders: int = MIN_OWNERS) -> ibis.Table:
    """:func:`next_order_rules` of the purchase lines ``lines`` (:func:`_items` with orders)."""
    lines = lines.filter(lines.item.notnull()).select("party_id", "order", "at",
                                                      "item").distinct()
    orders = lines.group_by(["party_id", "order"]).aggregate(at=lines.at.min())
    w = ibis.window(group_by="party_id", order_by=["at", "order"])
    orders = orders.mutate(next_order=orders.order.lead().over(w))
    orders = orders.filter(orders.next_order.notnull())
    n_pairs = orders.count()
    items = lines.select("order", "item").distinct()
    before = orders.join(items, orders.order == items.order).select(
        orders.order, orders.next_order, ante=items.item)
    after = items.view()
    pairs = before.join(after, before.next_order == after.order).select(
        before.ante, cons=after.item)
    counts = pairs.group_by(["ante", "cons"]).aggregate(orders=pairs.count())
    ante_n = before.group_by("ante").aggregate(ante_orders=before.count())
    nxt = orders.join(items, orders.next_order == items.order)
    cons_n = nxt.group_by(cons=nxt.item).aggregate(cons_orders=nxt.count())
    r = counts.join(ante_n, "ante").join(cons_n, "cons")
    confidence = r.orders.cast("float64") / r.ante_orders.cast("float64")
    r = r.select("ante", "cons", "orders", confidence=confidence,
                 lift=confidence / (r.cons_orders.cast("float64")
                                    / n_pairs.as_scalar().cast("float64")))
    return r.filter(r.orders >= min_orders)


def last_order_items(engine, as_of, level: str = "category") -> ibis.Table:
    """(party_id, item) of each customer's last order until ``as_of``."""
    return _last_order_items(_items(engine, as_of, level, orders=True))


def _last_order_items(lines: ibis.Table) -> ibis.Table:
    lines = lines.filter(lines.item.notnull()).select("party_id", "order", "at", "item")
    w = ibis.window(group_by="party_id", order_by=[ibis.desc("at"), ibis.desc("order")])
    last = lines.mutate(_r=ibis.dense_rank().over(w))
    last = last.filter(last._r == 0)
    return last.select("party_id", "item").distinct()


def owned_items(engine, as_of, level: str = "category") -> ibis.Table:
    """Distinct (party_id, item) owned as of a day."""
    return _items(engine, as_of, level).select("party_id", "item").distinct()


def _no_margin(engine, level: str) -> set[str]:
    """Items sold at no margin (unit cost ≥ unit price): never offered."""
    if not engine.has_table("dim_product"):
        return set()
    p = engine.table("dim_product")
    if "is_current" in p.columns:
        p = p.filter(p.is_current.fill_null(True))
    key = p.category if level == "category" else p.sku
    g = p.filter(key.notnull()).group_by(item=key).aggregate(
        price=p.unit_price.cast("float64").sum(), cost=p.unit_cost.cast("float64").sum())
    g = g.filter(g.cost.notnull() & g.price.notnull() & (g.cost >= g.price))
    return set(engine.to_pandas(g).item)


def _refused_everything(engine) -> ibis.Table | None:
    if not engine.has_table("dim_party"):
        return None
    d = engine.table("dim_party")
    cols = [c for c in ("consent_email", "consent_phone", "consent_post") if c in d.columns]
    if not cols:
        return None
    if "is_current" in d.columns:
        d = d.filter(d.is_current)
    refused = ibis.and_(*[d[c].cast("boolean") == ibis.literal(False) for c in cols])
    return d.filter(refused).select("party_id")


# --------------------------------------------------------------------------- offers
def _purchase_lines(engine, day, level: str, pkeys) -> ibis.Table:
    """One row per (party, order, item) of the purchases until ``day`` (with ``at`` and the
    item's ``label``)."""
    return _items(engine, day, level, keys=pkeys, orders=True).distinct()


def _ranked(engine, day: _dt.date, level: str, top: int, respect_consent: bool, scratch,
            pkeys, lines=None):
    """(ranked, rules, labels, lines, owned): the top ``top`` items per party as an engine
    table (party_id, item, rank, score and the figures of the reason), the item → item rules
    (pandas), the items' labels (pandas) and the purchase lines and owned items they come
    from (scratch tables: the sales are read once)."""
    # one row per (party, order, item): what every later query reads of the sales (``lines``:
    # those of a later day, already stored, cut at this day)
    if lines is None:
        lines = scratch.keep("lines", _purchase_lines(engine, day, level, pkeys))
    else:
        lines = scratch.keep("lines_" + day.strftime("%Y%m%d"),
                             lines.filter(lines.at.date() <= ibis.literal(day)))
    owned = scratch.keep("owned", lines.select("party_id", "item").distinct())
    n_parties = int(engine.scalar(owned.party_id.nunique()))
    labels = engine.to_pandas(lines.group_by("item").aggregate(label=lines.label.max()))
    if n_parties == 0:
        return None, pd.DataFrame(), labels, lines, owned
    rules = association_rules(engine, owned, basket="party_id", item="item",
                              min_support=min(1.0, MIN_OWNERS / n_parties), max_len=2)
    rules = rules.assign(ante=rules.antecedent.str[0], cons=rules.consequent.str[0])
    excluded = _no_margin(engine, level)
    # a rule says something only when it raises the chance (lift above 1)
    rules = rules[~rules.cons.isin(excluded) & (rules.lift > 1.0)]
    r = ibis.memtable(rules[["ante", "cons", "confidence", "lift"]].astype(
        {"ante": object, "cons": object, "confidence": "float64", "lift": "float64"})).cast(
        {"ante": "string", "cons": "string", "confidence": "float64", "lift": "float64"})
    fired = owned.join(r, owned.item == r.ante).select(
        owned.party_id, item=r.cons, confidence=r.confidence, lift=r.lift, because=r.ante)
    mine = owned.view()
    fired = fired.anti_join(mine, [fired.party_id == mine.party_id, fired.item == mine.item])
    w = ibis.window(group_by=["party_id", "item"],
                    order_by=[ibis.desc("confidence"), "because"])
    best = fired.mutate(_n=ibis.row_number().over(w))
    best = best.filter(best._n == 0).drop("_n")
    # propensity on the profile: share of the same RFM segment owning the item
    seg = scratch.keep("segments", rfm_table(engine, as_of=day).select("party_id",
                                                                        "rfm_segment"))
    o = owned.join(seg, "party_id")
    seg_size = seg.group_by("rfm_segment").aggregate(members=seg.count())
    share = o.group_by(["rfm_segment", "item"]).aggregate(owners=o.count())
    share = share.join(seg_size, "rfm_segment").select(
        "rfm_segment", "item", propensity=share.owners.cast("float64") / seg_size.members)
    if excluded:
        share = share.filter(~share.item.isin(list(excluded)))
    cand = seg.join(share, "rfm_segment").select("party_id", "item", "propensity")
    mine = owned.view()
    cand = cand.anti_join(mine, [cand.party_id == mine.party_id, cand.item == mine.item])
    # next-order rules fired by the customer's last order
    seq = _next_order_rules(lines)
    seq = seq.filter(seq.lift >= MIN_NEXT_LIFT)
    if excluded:
        seq = seq.filter(~seq.cons.isin(list(excluded)))
    seq = scratch.keep("next_order_rules", seq)
    last = _last_order_items(lines)
    nfired = last.join(seq, last.item == seq.ante).select(
        last.party_id, item=seq.cons, next_confidence=seq.confidence, next_lift=seq.lift,
        after=seq.ante)
    mine = owned.view()
    nfired = nfired.anti_join(mine, [nfired.party_id == mine.party_id,
                                     nfired.item == mine.item])
    w = ibis.window(group_by=["party_id", "item"],
                    order_by=[ibis.desc("next_confidence"), "after"])
    nbest = nfired.mutate(_n=ibis.row_number().over(w))
    nbest = nbest.filter(nbest._n == 0).drop("_n")
    # every item a rule fires for, or the segment owns: every score where it exists. Each
    # (party, item) is at most once in each of the three, so stacking them and taking each
    # column's one value per (party, item) is their full outer join (one grouping instead of
    # three joins of ~10M rows at a million customers)
    nul = {"propensity": dt.float64, "confidence": dt.float64, "lift": dt.float64,
           "because": dt.string, "next_confidence": dt.float64, "next_lift": dt.float64,
           "after": dt.string}

    def stacked(t: ibis.Table) -> ibis.Table:
        return t.select("party_id", "item", **{
            c: (t[c] if c in t.columns else ibis.null(typ)).cast(typ) for c, typ in nul.items()})

    rows = ibis.union(stacked(cand), stacked(best), stacked(nbest))
    both = rows.group_by(["party_id", "item"]).aggregate(
        **{c: rows[c].max() for c in nul})
    both = both.mutate(propensity=both.propensity.fill_null(0.0))
    # a next-order rule places the item first (its confidence); else the larger of the
    # ownership rule's confidence and the segment propensity
    score = both.next_confidence.coalesce(
        ibis.greatest(both.propensity, both.confidence.fill_null(0.0)))
    both = both.mutate(score=score, _first=both.next_confidence.notnull().cast("int64"))
    if respect_consent:
        refused = _refused_everything(engine)
        if refused is not None:
            both = both.anti_join(refused, both.party_id == refused.party_id)
    rank_w = ibis.window(group_by="party_id",
                         order_by=[ibis.desc("_first"), ibis.desc("score"), "item"])
    ranked = both.mutate(rank=ibis.row_number().over(rank_w) + 1)
    ranked = ranked.filter(ranked["rank"] <= top).drop("_first")
    return ranked, rules, labels, lines, owned


def offers_as_of(engine, as_of, *, level: str = "category", top: int = TOP,
                 respect_consent: bool = True, keys=None, lines=None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(offers, rules): offers = party_id, rank, item, label, score, reason (top ``top`` per
    party); rules = the item → item rules they come from."""
    scratch = _Scratch(engine)
    try:
        pkeys = keys if keys is not None else scratch.keep("keys", party_keys(engine))
        ranked, rules, labels, _, _ = _ranked(engine, as_of_day(as_of), level, top,
                                              respect_consent, scratch, pkeys, lines)
        if ranked is None:
            return pd.DataFrame(columns=["party_id", "rank", "item", "label", "score",
                                         "reason"]), pd.DataFrame()
        out = engine.to_pandas(ranked).sort_values(["party_id", "rank"]).reset_index(drop=True)
    finally:
        scratch.drop()
    names = dict(zip(labels.item, labels.label, strict=True))
    out["label"] = out["item"].map(names)
    out["reason"] = _reasons(out, names)
    return out[["party_id", "rank", "item", "label", "score", "reason"]], rules


#: the columns a reason is written from (the same figures give the same words)
REASON_COLUMNS = ["item", "next_confidence", "next_lift", "after", "confidence", "lift",
                  "because", "propensity"]


def _reasons(out: pd.DataFrame, names: dict) -> list[str]:
    """:func:`_reason` of every offer, written once per distinct set of figures (a few
    hundred rules and segments behind millions of offers)."""
    if out.empty:
        return []
    code = out.groupby(REASON_COLUMNS, dropna=False, sort=False).ngroup().to_numpy()
    first = out[REASON_COLUMNS].drop_duplicates()
    first_code = code[out.index.get_indexer(first.index)]
    said = dict(zip(first_code.tolist(),
                    [_reason(row, names) for row in first.itertuples()], strict=True))
    return [said[c] for c in code.tolist()]


def _reason(row, names: dict) -> str:
    if row.next_confidence is not None and not pd.isna(row.next_confidence):
        return (f"last bought {names.get(row.after, row.after)}; {row.next_confidence:.0%} of "
                f"the orders after one with it hold {names.get(row.item, row.item)}, "
                f"{row.next_lift:.1f}× the usual rate")
    if row.confidence is not None and not pd.isna(row.confidence):
        return (f"bought {names.get(row.because, row.because)}; {row.confidence:.0%} of its "
                f"buyers also buy {names.get(row.item, row.item)}, {row.lift:.1f}× the usual "
                "rate")
    return (f"{row.propensity:.0%} of customers like this one (same RFM segment) have "
            f"bought {names.get(row.item, row.item)}")


def popular_items(engine, as_of, level: str = "category") -> list[str]:
    owned = owned_items(engine, as_of, level)
    g = owned.group_by("item").aggregate(owners=owned.count()).order_by(
        [ibis.desc("owners"), "item"])
    return list(engine.to_pandas(g).item)


def evaluate_offers(engine, cutoff, horizon_days: int, *, level: str = "category",
                    top: int = TOP, keys=None, lines=None) -> dict[str, float]:
    """Hit rate of the top offers as of ``cutoff`` on what customers bought next (new items
    in the following ``horizon_days``), against the most popular items not owned."""
    c = as_of_day(cutoff)
    end = c + _dt.timedelta(days=int(horizon_days))
    scratch = _Scratch(engine)
    try:
        pkeys = keys if keys is not None else scratch.keep("keys", party_keys(engine))
        ranked, _, _, _, owned = _ranked(engine, c, level, top, False, scratch, pkeys, lines)
        n = hits = base_hits = 0
        if ranked is not None:
            later = _items(engine, end, level, keys=pkeys) if lines is None else \
                lines.filter(lines.at.date() <= ibis.literal(end))
            n, hits, base_hits = _hits(engine, scratch, ranked, owned, later, top)
    finally:
        scratch.drop()
    return {"customers": float(n), "hit_rate": hits / n if n else float("nan"),
            "popular_hit_rate": base_hits / n if n else float("nan")}


def _hits(engine, scratch, ranked, owned, later, top: int) -> tuple[int, int, int]:
    """(buyers, hits, popular hits), in the engine: the buyers are the customers who owned
    something at the cut-off and bought an item new to them by the end; a hit, one of those
    new items among their offers (``ranked``) or among the ``top`` most popular items they
    did not own at the cut-off (items ranked by owners, then by name)."""
    offered = ranked.select("party_id", "item")
    later = later.select("party_id", "item").distinct()
    new = later.anti_join(owned, [later.party_id == owned.party_id, later.item == owned.item])
    had = owned.select("party_id").distinct()
    new = scratch.keep("new_items", new.semi_join(had, new.party_id == had.party_id))
    buyers = new.select("party_id").distinct()
    n = int(engine.scalar(buyers.count()))
    if n == 0:
        return 0, 0, 0
    hit = new.semi_join(offered, [new.party_id == offered.party_id,
                                  new.item == offered.item])
    hits = int(engine.scalar(hit.party_id.nunique()))
    # the popular items not owned: among the first (top + items owned) by popularity
    pop = owned.group_by("item").aggregate(owners=owned.count())
    pop = pop.mutate(pos=ibis.row_number().over(order_by=[ibis.desc("owners"), "item"]))
    n_owned = owned.group_by("party_id").aggregate(k=owned.count())
    b = buyers.join(n_owned, "party_id")
    cand = b.join(pop, pop.pos < b.k + top).select(b.party_id, pop.item, pop.pos)
    cand = cand.anti_join(owned, [cand.party_id == owned.party_id, cand.item == owned.item])
    cand = cand.mutate(_r=ibis.row_number().over(group_by="party_id", order_by="pos"))
    cand = cand.filter(cand._r < top)
    base = new.semi_join(cand, [new.party_id == cand.party_id, new.item == cand.item])
    base_hits = int(engine.scalar(base.party_id.nunique()))
    return n, hits, base_hits


# ----------------------------------------------------------------------------- stage
@dataclass
class OffersSummary:
    as_of: _dt.date | None
    level: str = "category"
    parties: int = 0
    rules: int = 0
    #: rules of the orders (product and category level) in mart_basket_rules
    basket_rules: int = 0
    evaluation: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"next best offers: {self.parties:,} customers, from {self.rules:,} "
               f"{self.level} rules, as of {self.as_of}"]
        e = self.evaluation
        if e and e.get("customers"):
            out.append(
                f"offers checked on a past period: for {e['hit_rate']:.0%} of the "
                f"{e['customers']:,.0f} customers who bought something new, it was among their "
                f"{TOP} offers (the {TOP} most popular not owned: {e['popular_hit_rate']:.0%})")
        if self.basket_rules:
            out.append(f"mart_basket_rules: {self.basket_rules:,} product and category rules "
                       "of the orders (returns and cancellations left out)")
        out.extend(self.notes)
        return out


SCORES_SCHEMA = ibis.schema({"party_id": dt.string, "as_of": dt.date,
                             "next_best_offers": dt.string})


def score_offers(engine, settings, *, as_of=None, level: str = "category") -> OffersSummary:
    """Offers as of now into ``offer_scores``; their check on a past period into
    ``offer_evaluation``."""
    from prisme.analytics.marts import last_sale_day

    now = as_of_day(as_of) if as_of is not None else last_sale_day(engine)
    result = OffersSummary(as_of=now, level=level)
    if now is None:
        result.notes.append("offers not computed: no sale in the warehouse")
        return result
    scratch = _Scratch(engine)
    try:
        keys = scratch.keep("keys", party_keys(engine))  # read once for the three steps
        # the purchase lines until now, read once: the offers' and their check's
        lines = scratch.keep("purchase_lines", _purchase_lines(engine, now, level, keys))
        offers, rules = offers_as_of(engine, now, level=level, keys=keys, lines=lines)
        result.rules = len(rules)
        del rules
        # one text per party: "label (reason) | label (reason) …" (no offer: no row)
        # (offers come ordered by party and rank)
        said = offers["label"].astype(str) + " (" + offers["reason"].astype(str) + ")"
        parties, text = join_runs(offers["party_id"].astype(str).to_numpy(dtype=object),
                                  said.tolist(), " | ")
        del offers, said
        scores = pd.DataFrame({"party_id": pd.Series(parties, dtype=object), "as_of": now,
                               "next_best_offers": pd.Series(text, dtype=object)})
        del parties, text
        result.parties = len(scores)
        engine.create_table(SCORES_TABLE + "__building",
                            ibis.memtable(scores).cast(SCORES_SCHEMA), overwrite=True)
        del scores  # stored: the frames are freed before the next steps
        result.basket_rules = _rules_mart(engine, now, keys=keys)
        # the check ends now: the lines until now hold the cut-off's and the end's
        cutoff = now - _dt.timedelta(days=int(settings.analytics.churn_horizon_days))
        try:
            result.evaluation = evaluate_offers(engine, cutoff,
                                                settings.analytics.churn_horizon_days,
                                                level=level, keys=keys, lines=lines)
        except ValueError as exc:
            result.notes.append(f"offers not checked on a past period: {exc}")
    finally:
        scratch.drop()
    ev = pd.DataFrame([{"as_of": now, "evaluated_as_of": cutoff, "level": level,
                        "metric": k, "value": float(v)} for k, v in result.evaluation.items()])
    with engine.transaction():
        engine.drop_table(SCORES_TABLE, force=True)
        engine.rename_table(SCORES_TABLE + "__building", SCORES_TABLE)
        if len(ev):
            engine.create_table(EVALUATION_TABLE, ibis.memtable(ev), overwrite=True)
    return result
