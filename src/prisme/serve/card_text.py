"""The sentences of the 360° card: what each figure means for the advisor who reads it.

Analyses store figures (``p_alive``, ``clv_12m`` and its interval, the offers' reasons); the
card says in words, in the reader's language, what they rest on and what to do — a P(alive)
of 0 % or a value of 0 € is not left without the reason.
"""

from __future__ import annotations

import datetime as _dt
import re

from prisme.i18n import reasons as _reasons


def _day(v) -> _dt.date | None:
    if v is None:
        return None
    if isinstance(v, str):
        try:
            return _dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return v.date() if isinstance(v, _dt.datetime) else v


def rhythm(value: dict) -> tuple[int | None, int | None]:
    """(days between two purchases on average, days since the last purchase at ``as_of``)."""
    first, last = _day(value.get("first_purchase_at")), _day(value.get("last_purchase_at"))
    orders, as_of = value.get("orders") or 0, _day(value.get("as_of"))
    every = (last - first).days // (orders - 1) if first and last and orders >= 2 else None
    since = value.get("recency_days")
    if since is None and last and as_of:
        since = (as_of - last).days
    return every, None if since is None else int(since)


def alive_sentence(value: dict, t) -> str:
    """What P(alive) says of this customer and what to do about it."""
    p, orders = value.get("p_alive"), value.get("orders") or 0
    every, since = rhythm(value)
    if orders == 0:
        return t.pick("No purchase yet: the purchase model has nothing to go by.",
                      "Aucun achat : le modèle d'achat n'a rien sur quoi s'appuyer.")
    if p is None:
        return t.pick("Not scored: the value stage has not scored this customer "
                      "(no purchase before the as-of date).",
                      "Non calculé : l'étape valeur n'a pas noté ce client "
                      "(aucun achat avant la date d'arrêté).")
    if orders == 1:
        return t.pick(
            f"One purchase only, {since} days ago: no repeat rhythm to judge from — the "
            "model relies on how the base's one-time buyers behave. A second purchase is "
            "the thing to win.",
            f"Un seul achat, il y a {since} jours : pas de rythme d'achat à juger — le modèle "
            "s'appuie sur le comportement des clients à achat unique. L'enjeu est un "
            "deuxième achat.")
    said = t.pick(f"Bought {orders} times, about every {every} days; last purchase "
                  f"{since} days ago",
                  f"{orders} achats, environ tous les {every} jours ; dernier achat il y a "
                  f"{since} jours")
    if p < 0.2:
        return said + t.pick(
            " — far beyond their usual rhythm: the model considers them gone. A win-back "
            "contact is the only lever left.",
            " — bien au-delà de son rythme habituel : le modèle le considère comme parti. "
            "Seule une relance de reconquête peut le faire revenir.")
    if p < 0.6:
        return said + t.pick(
            " — later than usual: worth a contact before they lapse.",
            " — plus tard que d'habitude : à contacter avant qu'il ne décroche.")
    return said + t.pick(" — within their usual rhythm: active.",
                         " — dans son rythme habituel : actif.")


def value_sentence(value: dict, t) -> str:
    """What the 12-month value rests on (its 90 % interval, or why it is 0)."""
    clv, low, high = value.get("clv_12m"), value.get("clv_12m_low"), value.get("clv_12m_high")
    p, orders = value.get("p_alive"), value.get("orders") or 0
    if clv is None:
        return t.pick("Not computed: no purchase before the as-of date, so no model value.",
                      "Non calculée : aucun achat avant la date d'arrêté, donc pas de valeur "
                      "modélisée.")
    if clv < 0.5:
        if p is not None and p < 0.2 and orders >= 1:
            return t.pick(
                f"Nothing expected over 12 months: the purchase model gives this customer a "
                f"{t.percent(p)} chance of still buying (see P(alive)).",
                f"Rien d'attendu sur 12 mois : le modèle d'achat ne lui donne que "
                f"{t.percent(p)} de chances d'acheter encore (voir P(actif)).")
        return t.pick("Nothing expected over 12 months from the purchase model.",
                      "Rien d'attendu sur 12 mois d'après le modèle d'achat.")
    if low is None or high is None:
        return t.pick("Expected over the next 12 months (discounted).",
                      "Attendu sur les 12 prochains mois (actualisé).")
    return t.pick(
        f"Expected over the next 12 months (discounted); 90 % interval "
        f"{t.money(low)} – {t.money(high)}.",
        f"Attendu sur les 12 prochains mois (actualisé) ; intervalle à 90 % "
        f"{t.money(low)} – {t.money(high)}.")


_NEXT = re.compile(r"^last bought (?P<a>.+?); (?P<c>\d+%) of the orders after one with it hold "
                   r"(?P<b>.+?), (?P<l>[\d.]+)× the usual rate$")
_ALSO = re.compile(r"^bought (?P<a>.+?); (?P<c>\d+%) of its buyers also buy (?P<b>.+?), "
                   r"(?P<l>[\d.]+)× the usual rate$")
_LIKE = re.compile(r"^(?P<c>\d+%) of customers like this one \(same RFM segment\) have "
                   r"bought (?P<b>.+)$")
_OFFER = re.compile(r"^(?P<item>.+?) \((?P<why>.+)\)$")


def offer_text(text: str, lang: str) -> str:
    """An offer of ``next_best_offers`` ("Literie (bought Cuisine; 38% of its buyers also
    buy Literie, 1.4× the usual rate)") in the reader's language (the three reasons of
    :mod:`prisme.analytics.offers`; another text stays as it is)."""
    if lang != "fr":
        return text
    m = _OFFER.match(text)
    if not m:
        return text
    why = m["why"]

    def pct(c: str) -> str:
        return c.replace("%", "\u00a0%")

    def times(x: str) -> str:
        return x.replace(".", ",")

    if r := _NEXT.match(why):
        why = (f"dernier achat : {r['a']} ; {pct(r['c'])} des commandes qui suivent en "
               f"contiennent {r['b']}, {times(r['l'])}× le taux habituel")
    elif r := _ALSO.match(why):
        why = (f"a acheté {r['a']} ; {pct(r['c'])} de ses acheteurs achètent aussi {r['b']}, "
               f"{times(r['l'])}× le taux habituel")
    elif r := _LIKE.match(why):
        why = f"{pct(r['c'])} des clients comme lui (même segment RFM) ont acheté {r['b']}"
    return f"{m['item']} ({why})"


def reason_lines(raw, t) -> list[str]:
    """The churn reasons of a card (``customer_360.churn_reasons``: codes and figures, see
    :mod:`prisme.i18n.reasons`) in the reader's language, most important first."""
    return _reasons.sentences(raw, t.lang, t.currency)
