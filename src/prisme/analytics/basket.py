"""Association rules (market basket analysis) counted in the engine.

Agrawal & Srikant (1994), *Fast algorithms for mining association rules*, VLDB: an itemset is
frequent when its support — the share of baskets holding all its items — reaches
``min_support``; every subset of a frequent itemset is frequent (the *apriori* property), so

1. single items are counted once and the infrequent ones are dropped from every basket;
2. items and baskets get integer codes (items numbered in label order), so the joins below
   compare integers, not text;
3. the biggest baskets (up to ``10 × threshold`` of them, at most 1,008) are set apart as
   *bitmaps*: per item, which of them hold it, 63 baskets to a 64-bit word (a few words per
   item); they hold most of the pairs (a basket of k items holds k(k−1)/2), and enumerating
   their pairs was most of the work;
4. pairs are counted by a self-join of the other (small) baskets, grouped on the two codes
   (DuckDB: by direct address, ``engine.small_group_keys``). A pair's count is its count in
   the small baskets plus its count in the big ones, which is at most the smaller of its two
   items' big-basket counts: only the pairs that can reach the threshold with that bound are
   *candidates* (with the pairs of two items that each are in at least a threshold of big
   baskets, which may have no small basket at all), and only they get their exact big-basket
   count — the bits set in the AND of their items' words (``bit_count``);
5. triples are counted only when their three pairs are frequent (the candidates, built from
   the frequent pairs alone): in the big baskets from the AND of three bitmaps, then — when
   that count plus the small-basket count of the candidate's least frequent pair can still
   reach the threshold — in the small baskets, from those of that pair that also hold the
   third item.

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

import gc
import math
import uuid

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

RULE_COLUMNS = [
    "antecedent", "consequent", "antecedent_support", "consequent_support", "support",
    "confidence", "lift", "leverage", "conviction", "baskets",
]
_NONE = -1  # the code of "no item" in an itemset key shorter than the longest one


class NoBaskets(ValueError):
    """The lines hold no basket with an item."""


def _check(min_support: float | None, max_len: int, min_count: int | None = None) -> None:
    if (min_support is None) == (min_count is None):
        raise ValueError("give min_support (a share of baskets) or min_count (a number of "
                         "baskets), one of them")
    if min_count is not None and int(min_count) < 1:
        raise ValueError(f"min_count must be a number of baskets of at least 1, not {min_count!r}")
    if min_support is not None and not 0 < float(min_support) <= 1:
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


#: bits of a bitmap word used (the sign bit is left alone: sums stay exact on every engine)
_BITS = 63
#: at most this many words per item for the big baskets
_MAX_WORDS = 16


def _big_basket_count(n_baskets: int, need: int) -> int:
    """How many of the biggest baskets are counted as bitmaps: about ten times the threshold
    (an item is then *heavy* — in at least a threshold of them — only when it is in a tenth
    of them, so the heavy pairs stay few), at most ``_MAX_WORDS`` words."""
    return max(min(n_baskets, 10 * need, _BITS * _MAX_WORDS), 1)


def frequent_itemsets(engine, lines: ibis.Table, *, basket: str, item: str,
                      min_support: float | None = None, max_len: int = 3,
                      scratch: _Scratch | None = None, min_count: int | None = None
                      ) -> tuple[ibis.Table, pd.DataFrame, int]:
    """Frequent itemsets of up to ``max_len`` items, counted in the engine.

    The threshold is ``min_support`` (a share of the baskets) or ``min_count`` (a number of
    baskets, at most all of them). A ``basket`` column of integers is used as the baskets'
    codes (no text comparison, no numbering); other types are compared as text.

    Returns ``(itemsets, items, baskets)``: ``itemsets`` an engine table with the item codes
    ``a``, ``b``, ``c`` (``-1`` where the itemset is shorter), ``size`` and ``n`` (baskets
    holding it); ``items`` the frequent items (``code``, ``label``, ``n``) as pandas; and the
    number of baskets.
    """
    _check(min_support, max_len, min_count)
    own = scratch is None
    scratch = scratch or _Scratch(engine)
    try:
        coded = lines[basket].type().is_integer()
        bk = lines[basket].cast("int64") if coded else lines[basket].cast("string")
        pairs_of = lines.select(bk=bk, it=lines[item].cast("string"))
        pairs_of = pairs_of.filter(pairs_of.bk.notnull() & pairs_of.it.notnull()).distinct()
        lines_t = scratch.keep("lines", pairs_of)
        n_baskets = int(engine.scalar(lines_t.bk.nunique()))
        if n_baskets == 0:
            raise NoBaskets("no basket: the table has no line with both a basket and an item")
        need = min(int(min_count), n_baskets) if min_count is not None else \
            math.ceil(float(min_support) * n_baskets)
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
        kept = lines_t.join(codes, lines_t.it == codes.label).select(lines_t.bk, codes.code)
        if coded:  # the baskets' own integers
            pruned = kept.select(bk=kept.bk, code=kept.code.cast("int64"))
        else:  # baskets numbered on the distinct baskets (a sort of baskets, not of lines)
            bks = lines_t.select("bk").distinct()
            bks = bks.mutate(bcode=ibis.row_number().over(ibis.window(order_by="bk")))
            pruned = kept.join(bks, kept.bk == bks.bk).select(
                bk=bks.bcode.cast("int64"), code=kept.code.cast("int64"))
        parts = [
            ibis.memtable(items[["code", "n"]]).select(
                a=ibis._.code, b=ibis.literal(_NONE, "int64"), c=ibis.literal(_NONE, "int64"),
                size=ibis.literal(1, "int64"), n=ibis._.n.cast("int64"))
        ]
        if max_len >= 2:
            pruned = scratch.keep("pruned", pruned)
            split = _Split(scratch, pruned, items, _big_basket_count(n_baskets, need))
            pairs = _pairs(scratch, split, need, bits=2 * max(int(len(items) - 1).bit_length(), 1))
            parts.append(pairs.select("a", "b", c=ibis.literal(_NONE, "int64"),
                                      size=ibis.literal(2, "int64"), n=pairs.n.cast("int64")))
            if max_len >= 3:
                parts.append(_triples(scratch, split, pairs, need))
        itemsets = scratch.keep("itemsets", ibis.union(*parts))
        return itemsets, items, n_baskets
    finally:
        if own:
            scratch.drop()


class _Split:
    """The pruned baskets split in two: the ``big`` biggest ones (most frequent items) as
    per-item bitmaps (``bitmaps``: ``code``, ``nb`` = big baskets holding the item, ``m0`` …
    one 64-bit word per 63 big baskets, every frequent item, zeros when in none), the others
    as lines (``small``: ``bk``, ``code``)."""

    def __init__(self, scratch: _Scratch, pruned: ibis.Table, items: pd.DataFrame,
                 big: int) -> None:
        self.engine = scratch.engine
        sizes = pruned.group_by("bk").aggregate(k=pruned.count())
        sizes = sizes.mutate(i=ibis.row_number().over(
            ibis.window(order_by=[ibis.desc("k"), "bk"])).cast("int64"))
        chosen = scratch.keep("big_baskets", sizes.filter(sizes.i < big).select(
            "bk", w=(sizes.i // _BITS).cast("int64"), bit=(sizes.i % _BITS).cast("int64")))
        self.words = max(-(-int(big) // _BITS), 1)
        self.small = scratch.keep("small_baskets", pruned.anti_join(chosen, "bk"))
        lines = pruned.join(chosen, "bk").select(pruned.code, chosen.w, chosen.bit)
        one = ibis.literal(1).cast("int64")
        # one row per (item, word) first, then one column per word
        per_word = lines.group_by(["code", "w"]).aggregate(m=(one << lines.bit).sum())
        zero = ibis.literal(0).cast("int64")
        words = {f"m{j}": ibis.cases((per_word.w == j, per_word.m), else_=zero).sum()
                 for j in range(self.words)}
        per_item = lines.group_by("code").aggregate(nb=lines.count().cast("int64"))
        per_item = per_item.join(per_word.group_by("code").aggregate(**words), "code")
        codes = ibis.memtable(items[["code"]])
        self.bitmaps = scratch.keep("bitmaps", codes.left_join(per_item, "code").select(
            code=codes.code.cast("int64"), nb=per_item.nb.fill_null(0),
            **{m: per_item[m].fill_null(0) for m in words}))

    def side(self, tag: str) -> ibis.Table:
        """The bitmaps with their columns prefixed by ``tag`` (``{tag}code``, ``{tag}nb``,
        ``{tag}m0`` …), to join several times side by side."""
        b = self.bitmaps.view()
        return b.select(**{f"{tag}{c}": b[c] for c in b.columns})

    def common(self, *sides: tuple[ibis.Table, str]) -> ibis.Value:
        """How many big baskets hold every item of ``sides`` (``(table, tag)``: a
        :meth:`side` joined in): the bits set in the AND of their words."""
        total = None
        for j in range(self.words):
            word = None
            for table, tag in sides:
                w = table[f"{tag}m{j}"]
                word = w if word is None else word & w
            bits = self.engine.dialect.call("bit_count", word, returns=dt.int8).cast("int64")
            total = bits if total is None else total + bits
        return total


def _pairs(scratch: _Scratch, split: _Split, need: int, bits: int) -> ibis.Table:
    """Frequent pairs (a < b, n; ns: in the small baskets): counted in the small baskets,
    the candidates that can reach ``need`` then get their exact count in the big ones (module
    notes, step 4)."""
    small = split.small
    p1, p2 = small.view(), small.view()
    in_basket = p1.join(p2, (p1.bk == p2.bk) & (p1.code < p2.code)).select(a=p1.code,
                                                                        b=p2.code)
    pc = in_basket.group_by(["a", "b"]).aggregate(n=in_basket.count())
    x, y = split.side("x"), split.side("y")
    bound = pc.join(x, pc.a == x.xcode).join(y, pc.b == y.ycode)
    bound = bound.filter(pc.n + ibis.least(x.xnb, y.ynb) >= need).select(pc.a, pc.b, pc.n)
    # two item codes: 2 × bits(items) of key range (a direct-address table if the engine has
    # one)
    with scratch.engine.small_group_keys(bits):
        cand = scratch.keep("pair_candidates", bound)
    # pairs in no small basket can still be frequent: both items in >= need big baskets
    heavy = split.bitmaps.filter(split.bitmaps.nb >= need).select("code")
    h1, h2 = heavy.view(), heavy.view()
    hp = h1.join(h2, h1.code < h2.code).select(a=h1.code, b=h2.code)
    hp = hp.anti_join(cand, [hp.a == cand.a, hp.b == cand.b])
    allc = cand.union(hp.select("a", "b", n=ibis.literal(0).cast("int64")))
    x, y = split.side("x"), split.side("y")
    full = allc.join(x, allc.a == x.xcode).join(y, allc.b == y.ycode)
    full = full.select(allc.a, allc.b, ns=allc.n, n=allc.n + split.common((x, "x"), (y, "y")))
    return scratch.keep("pairs", full.filter(full.n >= need))


def _triples(scratch: _Scratch, split: _Split, pairs: ibis.Table, need: int) -> ibis.Table:
    """Triples (a < b < c) whose three pairs are frequent (apriori's candidates, built from
    the frequent pairs alone): counted in the big baskets from the AND of the three items'
    bitmaps; a candidate whose big-basket count plus the small-basket count of its least
    frequent pair cannot reach ``need`` is dropped; the others are counted in the small
    baskets from the small baskets of that pair (x, y) that also hold the third item z."""
    pruned = split.small
    fp = pairs.select("a", "b", n="ns")
    x, y, z = fp.view(), fp.view(), fp.view()
    cand = x.join(y, (x.a == y.a) & (x.b < y.b)).select(a=x.a, b=x.b, c=y.b, nab=x.n,
                                                        nac=y.n)
    cand = cand.join(z, (cand.b == z.a) & (cand.c == z.b)).select(
        cand.a, cand.b, cand.c, cand.nab, cand.nac, nbc=z.n)
    ma, mb, mc = split.side("x"), split.side("y"), split.side("z")
    j = cand.join(ma, cand.a == ma.xcode)
    j = j.join(mb, j.b == mb.ycode)
    j = j.join(mc, j.c == mc.zcode)
    cand = j.select("a", "b", "c", "nab", "nac", "nbc",
                    nb3=split.common((j, "x"), (j, "y"), (j, "z")))
    cand = cand.filter(cand.nb3 + ibis.least(cand.nab, cand.nac, cand.nbc) >= need)
    ab = (cand.nab <= cand.nac) & (cand.nab <= cand.nbc)
    ac = ~ab & (cand.nac <= cand.nbc)
    cand = scratch.keep("candidates", cand.select(
        "a", "b", "c", "nb3",
        x=ibis.cases((ab | ac, cand.a), else_=cand.b),
        y=ibis.cases((ab, cand.b), else_=cand.c),
        z=ibis.cases((ab, cand.c), (ac, cand.b), else_=cand.a),
        cid=ibis.row_number().over(ibis.window(order_by=["a", "b", "c"])).cast("int64")))
    n_cand = int(scratch.engine.scalar(cand.count()))
    if n_cand == 0:
        return cand.select("a", "b", "c", size=ibis.literal(3, "int64"),
                           n=ibis.literal(0, "int64")).limit(0)
    used = cand.select(a=cand.x, b=cand.y).distinct()
    # the small baskets of each pair some candidate counts from (lines of items that start
    # or end such a pair only)
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
        tc = scratch.keep("small_triples", tc)
    full = cand.left_join(tc, cand.cid == tc.cid)
    full = full.select(cand.a, cand.b, cand.c, n=tc.n.fill_null(0).cast("int64") + cand.nb3)
    out = scratch.keep("triples", full.filter(full.n >= need))
    return out.select("a", "b", "c", size=ibis.literal(3, "int64"), n=out.n)


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
    labels = items.sort_values("code").label.tolist()

    def lists(first, second):
        # tens of thousands of small lists: the cyclic garbage collector, run every few hundred
        # allocations over the whole heap, would take most of the time (none of them is a cycle)
        enabled = gc.isenabled()
        gc.disable()
        try:
            return [[labels[a]] if b == _NONE else [labels[a], labels[b]]
                    for a, b in zip(first.tolist(), second.tolist(), strict=True)]
        finally:
            if enabled:
                gc.enable()

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
                      min_support: float | None = None, max_len: int = 3,
                      min_confidence: float = 0.0, min_lift: float = 0.0,
                      min_count: int | None = None) -> pd.DataFrame:
    """Association rules of the baskets in ``lines`` (one row per basket line), counted in
    ``engine``, of the itemsets in ``min_support`` of the baskets or in ``min_count`` of
    them. Returns one row per rule: ``antecedent`` and ``consequent`` (sorted lists of
    items), their supports, ``support``, ``confidence``, ``lift``, ``leverage``,
    ``conviction`` and ``baskets`` (how many baskets hold the whole rule)."""
    scratch = _Scratch(engine)
    try:
        itemsets, items, n = frequent_itemsets(engine, lines, basket=basket, item=item,
                                               min_support=min_support, max_len=max_len,
                                               scratch=scratch, min_count=min_count)
        if max_len < 2 or items.empty:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in RULE_COLUMNS})
        raw = engine.to_pandas(rules_table(itemsets, n, min_confidence=min_confidence,
                                           min_lift=min_lift))
        return decode_rules(raw, items)
    finally:
        scratch.drop()
