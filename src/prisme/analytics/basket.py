"""Association rules (market basket analysis) counted in the engine.

Agrawal & Srikant (1994), *Fast algorithms for mining association rules*, VLDB: an itemset is
frequent when its support — the share of baskets holding all its items — reaches
``min_support``; every subset of a frequent itemset is frequent (the *apriori* property), so

1. single items are counted once and the infrequent ones are dropped from every basket;
2. items and baskets get integer codes (items numbered in label order), so the joins below
   compare integers, not text;
3. pairs are counted by a self-join of the pruned baskets (``a < b``), grouped on the two
   codes (DuckDB: by direct address, ``engine.small_group_keys``);
4. triples are counted only when their three pairs are frequent (the candidates, built from
   the frequent pairs alone), each from the baskets of its least frequent pair: those that
   also hold the third item.

The threshold is the count ``ceil(min_support × baskets)`` (as mlxtend's fpgrowth). Rules
``A → C`` are every split of a frequent itemset into two non-empty parts, with (Brin et al.
1997 for conviction; Piatetsky-Shapiro 1991 for leverage)::

    support    = s(A ∪ C)              confidence = s(A ∪ C) / s(A)
    lift       = confidence / s(C)      leverage   = s(A ∪ C) − s(A) s(C)
    conviction = (1 − s(C)) / (1 − confidence)   (infinite when confidence = 1)

Everything up to the rule table runs as Ibis expressions (DuckDB or Spark); only the rule
table (a few thousand rows) is fetched, to turn item codes back into sorted lists of labels.
"""

from __future__ import annotations

import math
import uuid

import ibis
import numpy as np
import pandas as pd

RULE_COLUMNS = [
    "antecedent", "consequent", "antecedent_support", "consequent_support", "support",
    "confidence", "lift", "leverage", "conviction", "baskets",
]
_NONE = -1  # the code of "no item" in an itemset key shorter than the longest one


def _check(min_support: float, max_len: int) -> None:
    if not 0 < float(min_support) <= 1:
        raise ValueError(f"min_support must be a share of baskets in (0, 1], not {min_support!r}")
    if int(max_len) not in (1, 2, 3):
        raise ValueError(f"max_len must be 1, 2 or 3 (single items, pairs, triples), not {max_len!r}")


class _Scratch:
    """Intermediate tables of one computation, dropped at the end."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.prefix = f"_basket_{uuid.uuid4().hex[:8]}_"
        self.names: list[str] = []

    def keep(self, name: str, expr: ibis.Table) -> ibis.Table:
        full = self.prefix + name
        self.names.append(full)
        return self.engine.create_table(full, expr, overwrite=True, temp=True)

    def drop(self) -> None:
        for name in self.names:
            self.engine.drop_table(name, force=True)


def frequent_itemsets(engine, lines: ibis.Table, *, basket: str, item: str,
                      min_support: float, max_len: int = 3,
                      scratch: _Scratch | None = None) -> tuple[ibis.Table, pd.DataFrame, int]:
    """Frequent itemsets of up to ``max_len`` items, counted in the engine.

    Returns ``(itemsets, items, baskets)``: ``itemsets`` an engine table with the item codes
    ``a``, ``b``, ``c`` (``-1`` where the itemset is shorter), ``size`` and ``n`` (baskets
    holding it); ``items`` the frequent items (``code``, ``label``, ``n``) as pandas; and the
    number of baskets.
    """
    _check(min_support, max_len)
    own = scratch is None
    scratch = scratch or _Scratch(engine)
    try:
        pairs_of = lines.select(bk=lines[basket].cast("string"), it=lines[item].cast("string"))
        pairs_of = pairs_of.filter(pairs_of.bk.notnull() & pairs_of.it.notnull()).distinct()
        lines_t = scratch.keep("lines", pairs_of)
        n_baskets = int(engine.scalar(lines_t.bk.nunique()))
        if n_baskets == 0:
            raise ValueError("no basket: the table has no line with both a basket and an item")
        need = math.ceil(float(min_support) * n_baskets)
        counts = lines_t.group_by("it").aggregate(n=lines_t.count())
        counts = counts.filter(counts.n >= need)
        items = engine.to_pandas(counts).sort_values("it", kind="stable").reset_index(drop=True)
        items = items.rename(columns={"it": "label"})
        items["code"] = np.arange(len(items), dtype="int64")
        empty = ibis.memtable(pd.DataFrame({c: pd.Series([], dtype="int64")
                                            for c in ("a", "b", "c", "size", "n")}))
        if items.empty:
            return scratch.keep("itemsets", empty), items, n_baskets
        codes = ibis.memtable(items[["label", "code"]])
        # baskets numbered on the distinct baskets (a sort of baskets, not of lines)
        bks = lines_t.select("bk").distinct()
        bks = bks.mutate(bcode=ibis.row_number().over(ibis.window(order_by="bk")))
        kept = lines_t.join(codes, lines_t.it == codes.label).select(lines_t.bk, codes.code)
        pruned = kept.join(bks, kept.bk == bks.bk).select(
            bk=bks.bcode.cast("int64"), code=kept.code.cast("int64"))
        parts = [
            ibis.memtable(items[["code", "n"]]).select(
                a=ibis._.code, b=ibis.literal(_NONE, "int64"), c=ibis.literal(_NONE, "int64"),
                size=ibis.literal(1, "int64"), n=ibis._.n.cast("int64"))
        ]
        if max_len >= 2:
            pruned = scratch.keep("pruned", pruned)
            p1, p2 = pruned.view(), pruned.view()
            in_basket = p1.join(p2, (p1.bk == p2.bk) & (p1.code < p2.code)).select(
                bk=p1.bk, a=p1.code, b=p2.code)
            pc = in_basket.group_by(["a", "b"]).aggregate(n=in_basket.count())
            # two item codes: 2 × bits(items) of key range (a direct-address table if the
            # engine has one)
            with engine.small_group_keys(2 * max(int(len(items) - 1).bit_length(), 1)):
                pairs = scratch.keep("pairs", pc.filter(pc.n >= need))
            parts.append(pairs.select("a", "b", c=ibis.literal(_NONE, "int64"),
                                      size=ibis.literal(2, "int64"), n=pairs.n.cast("int64")))
            if max_len >= 3:
                parts.append(_triples(scratch, pruned, pairs, need))
        itemsets = scratch.keep("itemsets", ibis.union(*parts))
        return itemsets, items, n_baskets
    finally:
        if own:
            scratch.drop()


def _triples(scratch: _Scratch, pruned: ibis.Table, pairs: ibis.Table, need: int) -> ibis.Table:
    """Triples (a < b < c) whose three pairs are frequent (apriori's candidates, built from
    the frequent pairs alone), each counted from the baskets of its least frequent pair
    (x, y): those baskets that also hold the third item z."""
    fp = pairs.select("a", "b", "n")
    x, y, z = fp.view(), fp.view(), fp.view()
    cand = x.join(y, (x.a == y.a) & (x.b < y.b)).select(a=x.a, b=x.b, c=y.b, nab=x.n,
                                                        nac=y.n)
    cand = cand.join(z, (cand.b == z.a) & (cand.c == z.b)).select(
        cand.a, cand.b, cand.c, cand.nab, cand.nac, nbc=z.n)
    ab = (cand.nab <= cand.nac) & (cand.nab <= cand.nbc)
    ac = ~ab & (cand.nac <= cand.nbc)
    cand = scratch.keep("candidates", cand.select(
        "a", "b", "c",
        x=ibis.cases((ab | ac, cand.a), else_=cand.b),
        y=ibis.cases((ab, cand.b), else_=cand.c),
        z=ibis.cases((ab, cand.c), (ac, cand.b), else_=cand.a),
        cid=ibis.row_number().over(ibis.window(order_by=["a", "b", "c"])).cast("int64")))
    n_cand = int(scratch.engine.scalar(cand.count()))
    if n_cand == 0:
        return cand.select("a", "b", "c", size=ibis.literal(3, "int64"),
                           n=ibis.literal(0, "int64")).limit(0)
    used = cand.select(a=cand.x, b=cand.y).distinct()
    # the baskets of each pair some candidate counts from (lines of items that start or end
    # such a pair only)
    firsts, seconds = used.select(i=used.a).distinct(), used.select(i=used.b).distinct()
    p1 = pruned.semi_join(firsts, pruned.code == firsts.i)
    p2 = pruned.view()
    p2 = p2.semi_join(seconds, p2.code == seconds.i)
    bp = p1.join(p2, (p1.bk == p2.bk) & (p1.code < p2.code)).select(
        bk=p1.bk, a=p1.code, b=p2.code)
    bp = scratch.keep("basket_pairs", bp.semi_join(used, (bp.a == used.a) & (bp.b == used.b)))
    occ = bp.join(cand, (bp.a == cand.x) & (bp.b == cand.y)).select(bp.bk, cand.z, cand.cid)
    occ = occ.semi_join(pruned, (occ.bk == pruned.bk) & (occ.z == pruned.code))
    tc = occ.group_by("cid").aggregate(n=occ.count())
    with scratch.engine.small_group_keys(max(n_cand.bit_length(), 1)):
        tc = scratch.keep("triples", tc.filter(tc.n >= need))
    out = tc.join(cand, tc.cid == cand.cid)
    return out.select(cand.a, cand.b, cand.c, size=ibis.literal(3, "int64"),
                      n=tc.n.cast("int64"))


def _rule_shapes(s: ibis.Table) -> ibis.Table:
    """Every split of every itemset of two or three items: antecedent key (x1, x2),
    consequent key (y1, y2), each sorted, ``-1`` for a missing second item."""
    none = ibis.literal(_NONE, "int64")
    two = s.filter(s.size == 2)
    three = s.filter(s.size == 3)
    shapes = [
        two.select(x1=two.a, x2=none, y1=two.b, y2=none, n=two.n),
        two.select(x1=two.b, x2=none, y1=two.a, y2=none, n=two.n),
        three.select(x1=three.a, x2=none, y1=three.b, y2=three.c, n=three.n),
        three.select(x1=three.b, x2=none, y1=three.a, y2=three.c, n=three.n),
        three.select(x1=three.c, x2=none, y1=three.a, y2=three.b, n=three.n),
        three.select(x1=three.a, x2=three.b, y1=three.c, y2=none, n=three.n),
        three.select(x1=three.a, x2=three.c, y1=three.b, y2=none, n=three.n),
        three.select(x1=three.b, x2=three.c, y1=three.a, y2=none, n=three.n),
    ]
    return ibis.union(*shapes)


def rules_table(itemsets: ibis.Table, n_baskets: int, *, min_confidence: float = 0.0,
                min_lift: float = 0.0) -> ibis.Table:
    """The rules of the frequent itemsets, with their measures, as an engine expression
    (item codes in ``x1, x2 → y1, y2``)."""
    r = _rule_shapes(itemsets)
    lookup = itemsets.filter(itemsets.size <= 2).select(k1=itemsets.a, k2=itemsets.b,
                                                        kn=itemsets.n)
    ante = lookup.view()
    r = r.join(ante, (r.x1 == ante.k1) & (r.x2 == ante.k2)).select(*r.columns, an=ante.kn)
    cons = lookup.view()
    r = r.join(cons, (r.y1 == cons.k1) & (r.y2 == cons.k2)).select(*r.columns, cn=cons.kn)
    total = float(n_baskets)
    support = r.n.cast("float64") / total
    sa = r.an.cast("float64") / total
    sc = r.cn.cast("float64") / total
    confidence = support / sa
    out = r.select(
        "x1", "x2", "y1", "y2",
        antecedent_support=sa,
        consequent_support=sc,
        support=support,
        confidence=confidence,
        lift=confidence / sc,
        leverage=support - sa * sc,
        conviction=ibis.cases((r.n < r.an, (1.0 - sc) / (1.0 - confidence)),
                              else_=ibis.null("float64")),
        baskets=r.n,
    )
    if min_confidence > 0:
        out = out.filter(out.confidence >= min_confidence)
    if min_lift > 0:
        out = out.filter(out.lift >= min_lift)
    return out


def decode_rules(raw: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Rule rows with item codes → rows with ``antecedent``/``consequent`` as sorted lists
    of item labels (codes follow label order, so sorted codes are sorted labels)."""
    labels = items.sort_values("code").label.to_numpy(dtype=object)

    def lists(first, second):
        out = []
        for a, b in zip(first.to_numpy(), second.to_numpy(), strict=True):
            out.append([labels[a]] if b == _NONE else [labels[a], labels[b]])
        return out

    raw = raw.sort_values(["x1", "x2", "y1", "y2"], kind="stable").reset_index(drop=True)
    conviction = raw.conviction.astype("float64").fillna(np.inf)
    out = pd.DataFrame({
        "antecedent": lists(raw.x1, raw.x2),
        "consequent": lists(raw.y1, raw.y2),
        **{c: raw[c].astype("float64") for c in RULE_COLUMNS[2:8]},
        "conviction": conviction,
        "baskets": raw.baskets.astype("int64"),
    })
    return out[RULE_COLUMNS]


def association_rules(engine, lines: ibis.Table, *, basket: str, item: str,
                      min_support: float, max_len: int = 3, min_confidence: float = 0.0,
                      min_lift: float = 0.0) -> pd.DataFrame:
    """Association rules of the baskets in ``lines`` (one row per basket line), counted in
    ``engine``. Returns one row per rule: ``antecedent`` and ``consequent`` (sorted lists of
    items), their supports, ``support``, ``confidence``, ``lift``, ``leverage``,
    ``conviction`` and ``baskets`` (how many baskets hold the whole rule)."""
    scratch = _Scratch(engine)
    try:
        itemsets, items, n = frequent_itemsets(engine, lines, basket=basket, item=item,
                                               min_support=min_support, max_len=max_len,
                                               scratch=scratch)
        if max_len < 2 or items.empty:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in RULE_COLUMNS})
        raw = engine.to_pandas(rules_table(itemsets, n, min_confidence=min_confidence,
                                           min_lift=min_lift))
        return decode_rules(raw, items)
    finally:
        scratch.drop()
