"""RFM: recency, frequency, monetary value, quintile scores and named segments, in the engine.

Per party with at least one order until ``as_of``:

* ``recency_days`` — days from the last purchase to as_of (a purchase is an order not cancelled
  by returns, see :mod:`prisme.analytics.features`); a party whose orders are all returns is
  dated by its last order.
* ``frequency`` — number of purchases.
* ``monetary`` — net revenue (sales minus returns), exact decimal.

Scores 1–5 are quintiles of the rank: ``score = 1 + floor(5 · rank / n)`` where ``rank`` is the
0-based *minimum* rank of the value (most recent, most frequent, highest spend = best). Equal
values therefore always get the same score (a plain ``ntile`` would split the many customers with
one order between scores 1 and 2 by an arbitrary key) and the result does not depend on the order
rows are stored in. Without ties it is the classic quintile split.

Named segments come from :data:`RFM_SEGMENT_RULES`, a grid on the recency score R and the
frequency-monetary score FM = round-half-up((F + M) / 2), evaluated top to bottom (first match
wins); every (R, FM) pair is covered exactly once. ``print(RFM_SEGMENT_RULES)`` shows the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from prisme.analytics.features import as_of_day, party_orders


@dataclass(frozen=True)
class SegmentRule:
    segment: str
    r: tuple[int, int]
    fm: tuple[int, int]
    meaning: str


class RuleTable(tuple):
    """The ordered rule table; printable, and convertible to a DataFrame."""

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "segment": r.segment,
                    "R score": f"{r.r[0]}–{r.r[1]}" if r.r[0] != r.r[1] else str(r.r[0]),
                    "FM score": f"{r.fm[0]}–{r.fm[1]}" if r.fm[0] != r.fm[1] else str(r.fm[0]),
                    "meaning": r.meaning,
                }
                for r in self
            ]
        )

    def __str__(self) -> str:
        return self.to_frame().to_string(index=False)


RFM_SEGMENT_RULES = RuleTable(
    (
        SegmentRule("champions", (5, 5), (4, 5), "bought recently, buy often and spend the most"),
        SegmentRule("loyal", (3, 4), (4, 5), "buy often and spend well, a little less recently"),
        SegmentRule("cannot lose them", (1, 2), (5, 5), "were among the best, gone quiet"),
        SegmentRule("at risk", (1, 2), (3, 4), "spent well, have not bought for long"),
        SegmentRule("potential loyalist", (4, 5), (2, 3), "recent, average frequency and spend"),
        SegmentRule("new", (5, 5), (1, 1), "first purchase very recently"),
        SegmentRule("promising", (4, 4), (1, 1), "recent, bought little so far"),
        SegmentRule("need attention", (3, 3), (3, 3), "average on all three, slipping"),
        SegmentRule("about to sleep", (3, 3), (1, 2), "below average, recency fading"),
        SegmentRule("lost", (1, 1), (1, 1), "lowest recency, frequency and spend"),
        SegmentRule("hibernating", (1, 2), (1, 2), "long ago, little and seldom"),
    )
)

#: segment names in rule order (for charts and tables)
RFM_SEGMENTS = tuple(r.segment for r in RFM_SEGMENT_RULES)


def rfm_values(engine, *, as_of) -> ibis.Table:
    """recency_days, frequency, monetary (and the last purchase time) per party, in the engine."""
    o = party_orders(engine, as_of=as_of)
    day = ibis.literal(as_of_day(as_of))
    g = o.group_by("party_id").aggregate(
        last_purchase_day=o.order_day.max(where=o.is_purchase),
        last_order_day=o.order_day.max(),
        frequency=o.is_purchase.sum().cast("int64"),
        monetary=o.net_revenue.sum(),
    )
    last = g.last_purchase_day.coalesce(g.last_order_day)
    return g.select(
        "party_id",
        "frequency",
        "monetary",
        recency_days=day.delta(last, unit="day").cast("int64"),
    )


def _quintile(rank: ibis.IntegerValue, n: ibis.IntegerValue) -> ibis.IntegerValue:
    return (1 + (rank * 5 / n).floor()).cast("int64")


def score(values: ibis.Table) -> ibis.Table:
    """Add r_score, f_score, m_score (1–5), fm_score, rfm_score ("545") and rfm_segment."""
    n = values.count().as_scalar()
    t = values.mutate(
        r_score=_quintile(ibis.rank().over(order_by=ibis.desc("recency_days")), n),
        f_score=_quintile(ibis.rank().over(order_by=values.frequency), n),
        m_score=_quintile(ibis.rank().over(order_by=values.monetary), n),
    )
    t = t.mutate(fm_score=((t.f_score + t.m_score + 1) / 2).floor().cast("int64"))
    cases = [
        (
            t.r_score.between(rule.r[0], rule.r[1]) & t.fm_score.between(rule.fm[0], rule.fm[1]),
            rule.segment,
        )
        for rule in RFM_SEGMENT_RULES
    ]
    return t.mutate(
        rfm_score=t.r_score.cast("string").concat(
            t.f_score.cast("string"), t.m_score.cast("string")
        ),
        rfm_segment=ibis.cases(*cases),
    )


def rfm_table(engine, *, as_of) -> ibis.Table:
    """RFM values, scores and named segment per party as of a day (an Ibis expression)."""
    return score(rfm_values(engine, as_of=as_of))
