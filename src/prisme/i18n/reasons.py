"""Churn reasons in words an advisor understands, in English or French.

**The stored format.** ``customer_360.churn_reasons`` (and ``churn_scores.churn_reasons``) is
a string on every engine: a JSON array, most important reason first, of objects with a
``code`` and the figures the sentence needs (compact JSON, no spaces)::

    [{"code":"no_purchase","days":213,"usual_days":42},{"code":"rated_service","score":2,"month":3}]

=================  ==========================================  ===========================
code               parameters                                  English
=================  ==========================================  ===========================
no_purchase        days, usual_days (null: one purchase only)  no purchase for 7 months,
                                                               usually every 6 weeks
purchases          n                                           2 purchases in all
rated_service      score (0–10), month (1–12 or null)          rated the service 2/10 in
                                                               March
rated_products     score, month                                rated the products 3/10
rated_recommend    score, month                                rated their likelihood to
                                                               recommend us 2/10
pays_late          days                                        pays invoices 12 days late
                                                               on average
paid_late_max      days                                        paid an invoice 40 days late
late_invoices      share (0–1)                                 paid 40% of invoices late
unpaid_overdue     n                                           2 overdue invoices not paid
complaints         n (last 12 months)                          2 complaints in the last 12
                                                               months
calls              n (last 3 months)                           3 calls to customer service
                                                               in 3 months
returns            share                                       returned 12% of what they
                                                               bought
p_alive            p (0–1)                                     buying rhythm suggests they
                                                               may have stopped
tenure             days                                        customer for 7 months
web_visits         n (last 3 months)                           no visit to the website in 3
                                                               months
campaigns          answered, contacted                         answered 0 of 5 campaigns
revenue            amount                                      has spent 1,234 in all
margin             amount                                      has brought 310 of margin
basket             amount                                      spends 55 per purchase
frequency_score    score (1–5)                                 buys less often than most
                                                               customers (frequency score 1/5)
monetary_score     score (1–5)                                 spends less than most customers
                                                               (spending score 1/5)
=================  ==========================================  ===========================

A code this module does not know is said as its code and figures; a text that is not a
JSON array (a warehouse built before the format) is shown as it is, split on ``;``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from prisme.i18n import formats

#: days in a month, on average
_MONTH = 30.44


def encode(reasons: list[dict]) -> str | None:
    """The stored text of a customer's reasons (None when there is none)."""
    if not reasons:
        return None
    return json.dumps(reasons, separators=(",", ":"), ensure_ascii=False)


def parse(raw) -> list[dict]:
    """The reasons of one customer from what is stored: the JSON text, a list of reasons or of
    texts (the card splits the column), or an older English text (each part kept as
    ``{"code": "text", "text": …}``)."""
    if raw is None:
        return []
    if isinstance(raw, float) and math.isnan(raw):
        return []
    if isinstance(raw, dict):
        return [raw]
    if isinstance(raw, list | tuple):
        out: list[dict] = []
        for x in raw:
            out.extend(parse(x))
        return out
    text = str(raw).strip()
    if not text:
        return []
    if text.startswith(("[", "{")):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict) and v.get("code")]
    return [{"code": "text", "text": p.strip()} for p in text.split(";") if p.strip()]


def sentences(raw, lang: str = "en", currency: str | None = None) -> list[str]:
    """One customer's reasons in words, most important first."""
    return [say(r, lang, currency) for r in parse(raw)]


def text(raw, lang: str = "en", currency: str | None = None, sep: str | None = None
         ) -> str | None:
    """One customer's reasons as one line of text (for tables, exports and the write-back),
    joined by ``sep`` (by default "; ", French " ; ")."""
    said = sentences(raw, lang, currency)
    if sep is None:
        sep = " ; " if lang == "fr" else "; "
    return sep.join(said) if said else None


def say(reason: dict, lang: str = "en", currency: str | None = None) -> str:
    """One reason in words."""
    from prisme.i18n.coded import say_coded

    if reason.get("code") == "text":
        return str(reason.get("text", ""))
    return say_coded(reason, _EN, _FR, _Say, lang, currency)


class _Say:
    """A reason's figures, formatted for one language."""

    def __init__(self, reason: dict, lang: str, currency: str | None) -> None:
        self.r, self.lang, self.currency = reason, lang, currency

    def __getitem__(self, key):
        return self.r[key]

    def get(self, key):
        v = self.r.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    def n(self, key) -> int:
        return int(round(float(self.r[key])))

    def num(self, v) -> str:
        return formats.number(v, self.lang)

    def pct(self, key) -> str:
        return formats.percent(float(self.r[key]), self.lang)

    def money(self, key) -> str:
        return formats.money(float(self.r[key]), self.lang, self.currency)

    def month(self) -> str | None:
        m = self.get("month")
        return None if m is None else formats.month_name(int(m), self.lang)


# ------------------------------------------------------------------------------ English
def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _en_span(days: float) -> str:
    """213 → "7 months", 20 → "20 days"."""
    if days < 45:
        n = int(round(days))
        return f"{n} {_plural(n, 'day', 'days')}"
    n = int(round(days / _MONTH))
    return f"{n} {_plural(n, 'month', 'months')}"


def _en_every(days) -> str:
    if days is None:
        return "one purchase only so far"
    days = float(days)
    if days < 14:
        n, unit = int(round(days)), "day"
    elif days < 90:
        n, unit = int(round(days / 7)), "week"
    else:
        n, unit = int(round(days / _MONTH)), "month"
    return f"usually every {unit}" if n <= 1 else f"usually every {n} {unit}s"


def _en_rated(what: str) -> Callable[[_Say], str]:
    def said(s: _Say) -> str:
        m = s.month()
        return f"rated {what} {s.n('score')}/10" + (f" in {m}" if m else "")
    return said


def _en_count(key: str, one: str, many: str, tail: str = "") -> Callable[[_Say], str]:
    def said(s: _Say) -> str:
        n = s.n(key)
        return f"{s.num(n)} {_plural(n, one, many)}{tail}"
    return said


_EN: dict[str, Callable[[_Say], str]] = {
    "no_purchase": lambda s: f"no purchase for {_en_span(float(s['days']))}, "
                             f"{_en_every(s.get('usual_days'))}",
    "purchases": _en_count("n", "purchase", "purchases", " in all"),
    "rated_service": _en_rated("the service"),
    "rated_products": _en_rated("the products"),
    "rated_recommend": _en_rated("their likelihood to recommend us"),
    "pays_late": lambda s: f"pays invoices {s.num(s.n('days'))} days late on average",
    "paid_late_max": lambda s: f"paid an invoice {s.num(s.n('days'))} days late",
    "late_invoices": lambda s: f"paid {s.pct('share')} of invoices late",
    "unpaid_overdue": _en_count("n", "overdue invoice", "overdue invoices", " not paid"),
    "complaints": _en_count("n", "complaint", "complaints", " in the last 12 months"),
    "calls": _en_count("n", "call", "calls", " to customer service in 3 months"),
    "returns": lambda s: f"returned {s.pct('share')} "
                         "of what they bought",
    "p_alive": lambda s: f"buying rhythm suggests they may have stopped (P(alive) "
                         f"{s.pct('p')})",
    "tenure": lambda s: f"customer for {_en_span(float(s['days']))}",
    "web_visits": lambda s: ("no visit to the website in 3 months" if s.n("n") == 0 else
                             _en_count("n", "visit", "visits", " to the website in 3 months")(s)),
    "campaigns": lambda s: f"answered {s.num(s.n('answered'))} of {s.num(s.n('contacted'))} "
                           f"{_plural(s.n('contacted'), 'campaign', 'campaigns')}",
    "revenue": lambda s: f"has spent {s.money('amount')} in all",
    "margin": lambda s: f"has brought {s.money('amount')} of margin in all",
    "basket": lambda s: f"spends {s.money('amount')} per purchase on average",
    "frequency_score": lambda s: f"buys less often than most customers (frequency score "
                                 f"{s.n('score')}/5)",
    "monetary_score": lambda s: f"spends less than most customers (spending score "
                                f"{s.n('score')}/5)",
}


# ------------------------------------------------------------------------------- French
def _fr_span(days: float) -> str:
    """213 → "7 mois", 20 → "20 jours"."""
    if days < 45:
        n = int(round(days))
        return f"{n} {_plural(n, 'jour', 'jours')}"
    return f"{int(round(days / _MONTH))} mois"


def _fr_every(days) -> str:
    if days is None:
        return "un seul achat jusqu'ici"
    days = float(days)
    if days < 14:
        n = int(round(days))
        return "d'habitude un achat par jour" if n <= 1 else \
            f"d'habitude un achat tous les {n} jours"
    if days < 90:
        n = int(round(days / 7))
        return "d'habitude un achat par semaine" if n <= 1 else \
            f"d'habitude un achat toutes les {n} semaines"
    n = int(round(days / _MONTH))
    return "d'habitude un achat par mois" if n <= 1 else f"d'habitude un achat tous les {n} mois"


def _fr_rated(what: str, before: bool = False) -> Callable[[_Say], str]:
    def said(s: _Say) -> str:
        m = s.month()
        score = f"{s.n('score')}/10"
        said = f"a noté {score} {what}" if before else f"a noté {what} {score}"
        return said + (f" en {m}" if m else "")
    return said


def _fr_count(key: str, one: str, many: str, tail: str = "") -> Callable[[_Say], str]:
    def said(s: _Say) -> str:
        n = s.n(key)
        return f"{s.num(n)} {one if n <= 1 else many}{tail}"  # French: 0 and 1 are singular
    return said


_FR: dict[str, Callable[[_Say], str]] = {
    "no_purchase": lambda s: f"aucun achat depuis {_fr_span(float(s['days']))}, "
                             f"{_fr_every(s.get('usual_days'))}",
    "purchases": lambda s: ("un seul achat au total" if s.n("n") <= 1 else
                            f"{s.num(s.n('n'))} achats au total"),
    "rated_service": _fr_rated("le service"),
    "rated_products": _fr_rated("les produits"),
    "rated_recommend": _fr_rated("sa probabilité de nous recommander", before=True),
    "pays_late": lambda s: f"paie ses factures avec {s.num(s.n('days'))} jours de retard en "
                           "moyenne",
    "paid_late_max": lambda s: f"a payé une facture avec {s.num(s.n('days'))} jours de retard",
    "late_invoices": lambda s: f"a payé {s.pct('share')} de ses factures en retard",
    "unpaid_overdue": _fr_count("n", "facture échue impayée", "factures échues impayées"),
    "complaints": _fr_count("n", "réclamation", "réclamations", " au cours des 12 derniers mois"),
    "calls": _fr_count("n", "appel", "appels", " au service client en 3 mois"),
    "returns": lambda s: f"a retourné {s.pct('share')} "
                         "de ses achats",
    "p_alive": lambda s: f"son rythme d'achat laisse penser qu'il a pu cesser d'acheter "
                         f"(P(actif) {s.pct('p')})",
    "tenure": lambda s: f"client depuis {_fr_span(float(s['days']))}",
    "web_visits": lambda s: ("aucune visite sur le site web en 3 mois" if s.n("n") == 0 else
                             _fr_count("n", "visite", "visites", " sur le site web en 3 mois")(s)),
    "campaigns": lambda s: f"a répondu à {s.num(s.n('answered'))} campagne"
                           f"{'s' if s.n('answered') > 1 else ''} sur {s.num(s.n('contacted'))}",
    "revenue": lambda s: f"a dépensé {s.money('amount')} au total",
    "margin": lambda s: f"a rapporté {s.money('amount')} de marge au total",
    "basket": lambda s: f"dépense {s.money('amount')} par achat en moyenne",
    "frequency_score": lambda s: f"achète moins souvent que la plupart des clients (score de "
                                 f"fréquence {s.n('score')}/5)",
    "monetary_score": lambda s: f"dépense moins que la plupart des clients (score de montant "
                                f"{s.n('score')}/5)",
}

#: the codes said in words (both languages say the same ones)
CODES = tuple(_EN)
assert set(_EN) == set(_FR)


# ------------------------------------------------------------------------------- topics
#: what each reason is about, in a few words (English, French): the churn page and the
#: report count customers per topic (the figures differ from one customer to the next)
TOPICS: dict[str, tuple[str, str]] = {
    "no_purchase": ("no purchase for longer than usual", "pas d'achat depuis plus longtemps "
                    "que d'habitude"),
    "purchases": ("few purchases", "peu d'achats"),
    "rated_service": ("low rating of the service", "service mal noté"),
    "rated_products": ("low rating of the products", "produits mal notés"),
    "rated_recommend": ("unlikely to recommend us", "peu enclin à nous recommander"),
    "pays_late": ("pays invoices late", "paie ses factures en retard"),
    "paid_late_max": ("paid an invoice very late", "a payé une facture très en retard"),
    "late_invoices": ("invoices paid late", "factures payées en retard"),
    "unpaid_overdue": ("overdue invoices not paid", "factures échues impayées"),
    "complaints": ("complaints", "réclamations"),
    "calls": ("calls to customer service", "appels au service client"),
    "returns": ("many returns", "nombreux retours"),
    "p_alive": ("may have stopped buying", "a peut-être cessé d'acheter"),
    "tenure": ("length of the relationship", "ancienneté de la relation"),
    "web_visits": ("few visits to the website", "peu de visites sur le site web"),
    "campaigns": ("does not answer campaigns", "ne répond pas aux campagnes"),
    "revenue": ("low spending", "faibles dépenses"),
    "margin": ("low margin", "marge faible"),
    "basket": ("small baskets", "petits paniers"),
    "frequency_score": ("buys rarely", "achète rarement"),
    "monetary_score": ("spends little", "dépense peu"),
}
assert set(TOPICS) == set(CODES)


def topic(reason: dict, lang: str = "en") -> str:
    """What one reason is about, in a few words (an older text: the text itself)."""
    pair = TOPICS.get(reason.get("code"))
    if pair is None:
        return say(reason, lang)
    return pair[1] if lang == "fr" else pair[0]


def marker(code: str) -> str:
    """The text a stored value holds when it has a reason of ``code`` (for counting in the
    engine with ``contains``)."""
    return f'"code":"{code}"'


def topic_counts(values, lang: str = "en"):
    """Customers per topic, most frequent first (pandas Series indexed by the topic's
    words), from stored values (one per customer)."""
    import pandas as pd

    seen: dict[str, int] = {}
    for v in values:
        for name in dict.fromkeys(topic(r, lang) for r in parse(v)):
            seen[name] = seen.get(name, 0) + 1
    return pd.Series(seen, dtype="int64").sort_values(ascending=False, kind="stable")
