"""Next best offers: rules on owned items, never what is owned, consent and margin."""

from __future__ import annotations

import pandas as pd
from warehouse_tables import write_core, write_dim_party, write_party_map

from prisme.analytics import offers


def _shop(engine, n: int = 120):
    """Most espresso-machine owners also own the descaler; everyone owns a mug; the free
    gift is sold at no margin."""
    sales, pmap, parties = [], [], []
    for i in range(n):
        key, pid = f"c{i}", f"P{i:03d}"
        pmap.append({"source": "s", "source_customer_id": key, "party_id": pid})
        parties.append({"party_id": pid, "consent_email": i != 3, "consent_phone": i != 3,
                        "consent_post": i != 3})
        items = ["MUG"]
        if i % 2 == 0:
            items.append("ESPRESSO")
            if i % 10 != 0:
                items.append("DESCALER")
        if i % 3 == 0:
            items.append("GIFT")
        for k, sku in enumerate(items):
            sales.append({"source": "s", "order_id": f"o{i}-{k}", "source_customer_id": key,
                          "ordered_at": pd.Timestamp("2023-01-01") + pd.Timedelta(days=i + k),
                          "sku": sku, "quantity": 1.0, "revenue": 10.0})
    write_core(engine, "transaction", sales)
    write_core(engine, "product", [
        {"sku": s, "name": name, "category": s, "unit_price": 10.0, "unit_cost": cost}
        for s, name, cost in [("MUG", "mug", 5.0), ("ESPRESSO", "espresso machine", 6.0),
                              ("DESCALER", "descaler", 2.0), ("GIFT", "free gift", 12.0)]])
    write_party_map(engine, pmap)
    write_dim_party(engine, parties)


def test_offers_follow_the_rules_and_never_repeat_what_is_owned(engine):
    _shop(engine)
    got, rules = offers.offers_as_of(engine, "2023-12-31", level="product")
    assert not got.empty
    owned = engine.to_pandas(offers.owned_items(engine, "2023-12-31", level="product"))
    clash = got.merge(owned, on=["party_id", "item"])
    assert clash.empty  # nothing already owned
    assert "GIFT" not in set(got.item)  # no margin, never offered
    assert "P003" not in set(got.party_id)  # refused every channel
    assert got.groupby("party_id")["rank"].max().le(3).all()
    # an espresso owner without the descaler whose last order held the machine: the
    # descaler, because the order after one with the machine holds it (48 of 52 orders)
    row = got[(got.party_id == "P010") & (got.item == "DESCALER")].iloc[0]
    assert row["rank"] == 1
    assert row.reason.startswith("last bought espresso machine; 92% of the orders after one "
                                 "with it hold descaler")
    # one whose last order was the gift (no next-order rule fires): the descaler, because
    # of the machine they own
    row = got[(got.party_id == "P030") & (got.item == "DESCALER")].iloc[0]
    assert row["rank"] == 1
    assert row.reason.startswith("bought espresso machine; 80% of its buyers also buy descaler")


def test_next_order_rules(engine):
    _shop(engine)
    r = engine.to_pandas(offers.next_order_rules(engine, "2023-12-31", level="product",
                                                 min_orders=1))
    got = {(a, c): (n, conf) for a, c, n, conf in zip(r.ante, r.cons, r.orders, r.confidence,
                                                     strict=True)}
    # orders after an espresso order: the descaler 48 times, the gift 4 times (i = 0, 30,
    # 60, 90); after a mug order: the machine 60 times, the gift 20 times
    assert got[("ESPRESSO", "DESCALER")] == (48, 48 / 52)
    assert got[("ESPRESSO", "GIFT")] == (4, 4 / 52)
    assert got[("MUG", "ESPRESSO")] == (60, 60 / 80)
    assert ("DESCALER", "ESPRESSO") not in got  # the order, not ownership
    last = engine.to_pandas(offers.last_order_items(engine, "2023-12-31", level="product"))
    assert dict(zip(last.party_id, last.item, strict=True))["P030"] == "GIFT"


def test_hit_rate_against_popularity(engine):
    _shop(engine)
    e = offers.evaluate_offers(engine, "2023-03-01", 300, level="product")
    assert e["customers"] > 0
    assert 0 <= e["hit_rate"] <= 1 and 0 <= e["popular_hit_rate"] <= 1
    # counted in the engine: the same as counting customer by customer
    c, end = pd.Timestamp("2023-03-01").date(), pd.Timestamp("2023-12-26").date()
    got, _ = offers.offers_as_of(engine, c, level="product", respect_consent=False)
    before = engine.to_pandas(offers.owned_items(engine, c, level="product"))
    later = engine.to_pandas(offers.owned_items(engine, end, level="product"))
    owned = before.groupby("party_id").item.apply(set)
    offered = got.groupby("party_id").item.apply(set)
    popular = offers.popular_items(engine, c, level="product")
    n = hits = base_hits = 0
    for pid, items in later.groupby("party_id").item.apply(set).items():
        new = items - owned.get(pid, set())
        if pid not in owned or not new:
            continue
        n += 1
        hits += bool(offered.get(pid, set()) & new)
        base_hits += bool(set([i for i in popular if i not in owned[pid]][:3]) & new)
    assert e == {"customers": n, "hit_rate": hits / n, "popular_hit_rate": base_hits / n}


def test_order_rules_by_product_and_category_leave_returns_out(engine):
    lines = []
    for i in range(60):
        skus = ["MUG", "ESPRESSO"] if i < 40 else ["MUG"]
        lines += [{"source": "s", "order_id": f"o{i}", "source_customer_id": f"c{i}",
                   "ordered_at": pd.Timestamp("2023-03-01"), "sku": sku, "quantity": 1.0,
                   "revenue": 10.0} for sku in skus]
        # a return holding the gift and the machine: not a basket
        lines += [{"source": "s", "order_id": f"r{i}", "source_customer_id": f"c{i}",
                   "ordered_at": pd.Timestamp("2023-04-01"), "sku": sku, "quantity": -1.0,
                   "revenue": -10.0, "is_return": True} for sku in ("GIFT", "ESPRESSO")]
    write_core(engine, "transaction", lines)
    write_core(engine, "product", [
        {"sku": "MUG", "name": "mug", "category": "Kitchen"},
        {"sku": "ESPRESSO", "name": "espresso machine", "category": "Appliances"},
        {"sku": "GIFT", "name": "free gift", "category": "Gifts"}])
    r = offers.warehouse_rules(engine, "2023-12-31", level="product", min_baskets=5)
    got = {(tuple(a), tuple(c)): conf for a, c, conf in
           zip(r.antecedent, r.consequent, r.confidence, strict=True)}
    assert got == {(("ESPRESSO",), ("MUG",)): 1.0, (("MUG",), ("ESPRESSO",)): 40 / 60}
    assert r.antecedent_names.map(tuple).isin([("espresso machine",), ("mug",)]).all()
    cat = offers.warehouse_rules(engine, "2023-12-31", level="category", min_baskets=5)
    assert set(cat.antecedent.map(tuple)) == {("Appliances",), ("Kitchen",)}
    assert offers._rules_mart(engine, pd.Timestamp("2023-12-31").date()) == 4
    mart = engine.to_pandas(engine.table("mart_basket_rules"))
    assert set(mart.level) == {"product", "category"} and "GIFT" not in set(mart.consequent)


def test_no_rule_with_a_lift_leaves_the_segment_propensity(engine):
    """Everybody owns the same two items: no rule raises a chance, offers come from the
    segment (here: none, since nothing is left to offer) — and nothing breaks."""
    lines = [{"source": "s", "order_id": f"o{i}-{k}", "source_customer_id": f"c{i}",
              "ordered_at": pd.Timestamp("2023-03-01"), "sku": sku, "quantity": 1.0,
              "revenue": 10.0} for i in range(40) for k, sku in enumerate(["A", "B"])]
    write_core(engine, "transaction", lines)
    got, rules = offers.offers_as_of(engine, "2023-12-31", level="product")
    assert got.empty and (rules.lift <= 1.0 + 1e-12).all()
