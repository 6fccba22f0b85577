"""The scores stage of ``prisme build`` (after the value stage): churn, then next best offers,
then their columns in ``customer_360`` (see the contribution notes of
:mod:`prisme.analytics.marts`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prisme.analytics.churn import ChurnSummary, score_churn
from prisme.analytics.offers import OffersSummary, score_offers

CONTRIBUTING = ["prisme.analytics.churn", "prisme.analytics.offers"]


@dataclass
class ScoresSummary:
    churn: ChurnSummary | None = None
    offers: OffersSummary | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for part in (self.churn, self.offers):
            if part is not None:
                out.extend(part.lines())
        return out + self.notes


def build_scores(engine, settings, *, as_of=None, progress=None) -> ScoresSummary:
    """Churn scores and offers as of the marts' day, then customer_360 refreshed."""
    from prisme.analytics.marts import refresh_customer_360

    if as_of is None and engine.has_table("customer_360"):
        c = engine.table("customer_360")
        as_of = engine.scalar(c.as_of.max())
    out = ScoresSummary()
    out.churn = score_churn(engine, settings, as_of=as_of, progress=progress)
    if progress is not None:
        progress("next best offers", 0, 1)
    out.offers = score_offers(engine, settings, as_of=as_of)
    if engine.has_table("customer_360"):
        refresh_customer_360(engine, settings, CONTRIBUTING)
    return out
