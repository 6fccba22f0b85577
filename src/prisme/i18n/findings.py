"""What the manager-stage analyses found, in words a manager acts on, in English or French.

**The stored format.** ``mart_campaigns.findings``, ``mart_channels.findings``,
``mart_forecasts.findings``, ``mart_advertising.findings`` and ``mart_satisfaction.findings``
are JSON arrays (text on every engine) of objects with a ``code`` and the figures its sentence
needs (written by :mod:`prisme.analytics.findings`)::

    [{"code":"beats","channel":"email","lift":0.021,"low":0.015,"high":0.027,"p":0.0003},
     {"code":"roi","roi":1.4,"established":true}]

====================  ==============================================  =====================
code                  figures                                         English
====================  ==============================================  =====================
beats                 campaign, name | channel; lift, low, high, p    e-mail beats no contact
                      (lift: conversion rate treated − control, its   by 2.1 points of
                      95% interval; p adjusted for many tests)        conversion, ±0.6
worse                 the same                                        … does worse than no
                                                                      contact …
not_significant       the same                                        … is not significantly
                                                                      better than no contact
not_measurable        campaign, name | channel                        … cannot be measured
responses             contacted, converted, rate                      5,200 contacted, 312
                                                                      converted (6.0%)
no_contact_recorded   —                                               no contact recorded
roi                   roi (share), established (bool)                 return on its cost:
                                                                      +140%
left_out              without_control, campaigns                      2 of its 5 campaigns
                                                                      had no control group
no_control            campaign, name, contacted, converted, rate      no control group: its
                                                                      effect cannot be
                                                                      measured
channel_no_control    channel, contacted, campaigns                   none with a control
                                                                      group
backtest              model, mape, mase, base_mape, base_mase,        airline (log) was off
                      folds, better                                   by 4.2% on average…
too_short             n, needed (months)                              no forecast: 14 months
                                                                      of history
ad_response           channel, roas, marginal_roas, carry, tested     each €1 spent goes with
                                                                      €2.35 of revenue
ad_no_clear_link      channel, p, tested                              no clear link between
                                                                      its spend and revenue
nps_driver            answers, nps, item, effect, low, high           the NPS is +12; service
                                                                      satisfaction goes with
                                                                      recommendation most
no_clear_link         items                                           no clear link once the
                                                                      others are known
churn_driver          item, odds, low, high                           23% less likely to
                                                                      leave
no_churn_driver       —                                               no survey item predicts
                                                                      who leaves
one_factor            share                                           the items move together
factors               n                                               the items measure 2
                                                                      distinct feelings
====================  ==============================================  =====================

A code this module does not know is said as its code and figures. The English ``sentence``
column the marts keep beside the findings is for readers that choose no language (the command
line, the CSV, the API); the pages and the report say the findings in the reader's language.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from prisme.i18n import formats
from prisme.i18n.names import segment_name

NO_CONTACT = {"en": "no contact", "fr": "l'absence de contact"}

#: a channel (campaign or advertising) as a noun; a channel not listed keeps its code
CHANNEL_NAMES = {
    "en": {"sms": "SMS", "email": "e-mail"},
    "fr": {"web": "web", "store": "magasin", "phone": "téléphone", "email": "e-mail",
           "post": "courrier", "sms": "SMS", "mobile": "mobile", "unknown": "inconnu",
           "search": "référencement payant", "social": "réseaux sociaux",
           "display": "display", "video": "vidéo", "ads": "publicité"},
}
#: survey items: as the subject of a sentence / after "satisfied with"
ITEMS = {
    "en": {"sat_product": "product satisfaction", "sat_service": "service satisfaction",
           "sat_company": "satisfaction with the company", "nps": "recommendation (NPS)"},
    "fr": {"sat_product": "satisfaction sur les produits",
           "sat_service": "satisfaction sur le service",
           "sat_company": "satisfaction envers l'entreprise",
           "nps": "recommandation (NPS)"},
}
SATISFIED_WITH = {
    "en": {"sat_product": "the products", "sat_service": "the service",
           "sat_company": "the company"},
    "fr": {"sat_product": "des produits", "sat_service": "du service",
           "sat_company": "de l'entreprise"},
}
#: the forecasting models (prisme.analytics.forecast.candidates) in French
MODELS_FR = {"seasonal naive": "naïf saisonnier", "ETS(A,Ad,A) on log": "ETS(A,Ad,A) sur le log",
             "airline (log)": "airline sur le log"}
#: the forecast series and breakdowns
SERIES = {"en": {"revenue": "Revenue", "orders": "Orders", "margin": "Margin"},
          "fr": {"revenue": "Chiffre d'affaires", "orders": "Commandes", "margin": "Marge"}}
DIMENSIONS = {"en": {"channel": "channel", "segment": "segment"},
              "fr": {"channel": "canal", "segment": "segment"}}


# ------------------------------------------------------------------------- reading
def parse(raw) -> list[dict]:
    """The findings of one row from what is stored (the JSON text, a list, one object);
    nothing for a missing value or a text that is not JSON."""
    if raw is None:
        return []
    if isinstance(raw, float) and math.isnan(raw):
        return []
    if isinstance(raw, dict):
        return [raw] if raw.get("code") else []
    if isinstance(raw, list | tuple):
        out: list[dict] = []
        for x in raw:
            out.extend(parse(x))
        return out
    text = str(raw).strip()
    if not text.startswith(("[", "{")):
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return parse(value)


def sentences(raw, lang: str = "en", currency: str | None = None) -> list[str]:
    """One row's findings in words, in order."""
    return [say(f, lang, currency) for f in parse(raw)]


def text(raw, lang: str = "en", currency: str | None = None) -> str | None:
    """One row's findings as one paragraph (None when there is none)."""
    said = sentences(raw, lang, currency)
    return " ".join(said) if said else None


def say(f: dict, lang: str = "en", currency: str | None = None) -> str:
    """One finding in words."""
    from prisme.i18n.coded import say_coded

    return say_coded(f, _EN, _FR, _Say, lang, currency)


def channel_name(code, lang: str = "en") -> str:
    """A campaign or advertising channel as a noun in ``lang`` (``email`` → ``e-mail``)."""
    if code is None:
        return "—"
    return CHANNEL_NAMES.get(lang, CHANNEL_NAMES["en"]).get(str(code), str(code))


def item_name(item, lang: str = "en") -> str:
    """A survey item (``sat_service``…) in words."""
    return ITEMS.get(lang, ITEMS["en"]).get(str(item), str(item))


def model_name(name, lang: str = "en") -> str:
    """A forecasting model's name (``airline (log)``…) in ``lang``."""
    if name is None:
        return "—"
    return MODELS_FR.get(str(name), str(name)) if lang == "fr" else str(name)


def series_label(series, dimension=None, member=None, lang: str = "en") -> str:
    """A forecast series: ``Revenue`` for the company total, ``Revenue of channel web`` /
    ``Chiffre d'affaires — canal web`` for a breakdown."""
    name = SERIES.get(lang, SERIES["en"]).get(str(series), str(series))
    if dimension is None or str(dimension) == "total":
        return name
    dim = DIMENSIONS.get(lang, DIMENSIONS["en"]).get(str(dimension), str(dimension))
    if str(dimension) == "segment":
        who = segment_name(member, lang)
    elif str(dimension) == "channel":
        who = channel_name(member, lang)
    else:
        who = str(member)
    return f"{name} — {dim} {who}" if lang == "fr" else f"{name} of {dim} {who}"


def forecast_sentence(rows, lang: str = "en", currency: str | None = None,
                      money: bool = False, label: str | None = None) -> str:
    """One forecast series in a sentence: the total over the months forecast and how far
    the model was off in its backtest, beside repeating last year. ``rows`` are the series'
    forecast rows of ``mart_forecasts`` (pandas, ``kind == "forecast"``; empty: the series
    had no forecast); ``money`` formats the total as an amount of ``currency``."""
    fr = lang == "fr"
    if label is None and len(rows):
        r0 = rows.iloc[0]
        label = series_label(r0.get("series"), r0.get("dimension"), r0.get("member"), lang)
    label = label or ("La série" if fr else "The series")
    if not len(rows):
        return (f"{label} : pas de prévision (historique trop court)." if fr else
                f"{label}: no forecast (the history is too short).")
    values = [float(v) for v in rows["value"] if not formats.missing(v)]
    total = (formats.money(sum(values), lang, currency) if money
             else formats.number(sum(values), lang))
    head = (f"{label}, prévision sur les {len(rows)} prochains mois : {total}" if fr else
            f"{label}, forecast over the next {len(rows)} months: {total}")
    found = next((f for f in parse(rows.iloc[0].get("findings")) if f.get("code") == "backtest"),
                 None)
    if found is None:
        r = rows.iloc[0]
        if formats.missing(_num(r.get("mape"))):
            return head + "."
        mase, base = _num(r.get("mase")), _num(r.get("baseline_mase"))
        found = {"code": "backtest", "model": r.get("model"), "mape": _num(r.get("mape")),
                 "base_mape": _num(r.get("baseline_mape")), "folds": _num(r.get("backtest_folds")),
                 "better": bool(not formats.missing(mase) and not formats.missing(base)
                                and mase < base)}
    if formats.missing(found.get("mape")):
        return head + "."
    return head + ". " + say(found, lang, currency)


def _num(v):
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------- the sentences
class _Say:
    """A finding's figures, formatted for one language."""

    def __init__(self, f: dict, lang: str, currency: str | None) -> None:
        self.f, self.lang, self.currency = f, lang, currency
        self.fr = lang == "fr"

    def __getitem__(self, key):
        return self.f[key]

    def get(self, key):
        v = self.f.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    def num(self, v, digits: int = 0) -> str:
        return formats.number(v, self.lang, digits)

    def count(self, key) -> str:
        return formats.number(int(self.f[key]), self.lang)

    def pct(self, v, digits: int = 0) -> str:
        return formats.percent(float(v), self.lang, digits)

    def signed_pct(self, v, digits: int = 0) -> str:
        v = float(v)
        sign = "+" if v >= 0 else ("−" if self.fr else "-")
        return sign + formats.percent(abs(v), self.lang, digits)

    def signed(self, v, digits: int = 2) -> str:
        v = float(v)
        sign = "+" if v >= 0 else ("−" if self.fr else "-")
        return sign + formats.number(abs(v), self.lang, digits)

    def money(self, v, digits: int = 2) -> str:
        return formats.money(float(v), self.lang, self.currency, digits)

    def p(self, key="p") -> str:
        """A p-value: ``< 0.001`` below a thousandth, else two significant digits."""
        v = float(self.f[key])
        if v < 0.001:
            return "< " + formats.number(0.001, self.lang, 3)
        digits = max(0, 1 - int(math.floor(math.log10(v)))) if v > 0 else 2
        return "= " + formats.number(v, self.lang, min(digits, 4))

    def points(self, v) -> str:
        """A difference of rates in percentage points: ``2.1 points`` / ``2,1 points``
        (French: ``1,5 point`` below two)."""
        x = 100 * float(v)
        word = "points" if not self.fr or abs(round(x, 1)) >= 2 else "point"
        return f"{self.num(x, 1)} {word}"

    def signed_points(self, v) -> str:
        x = float(v)
        return ("+" if x >= 0 else ("−" if self.fr else "-")) + self.points(abs(x))

    def half(self) -> str:
        """The half-width of the interval, in points."""
        return self.num(100 * (float(self.f["high"]) - float(self.f["low"])) / 2, 1)

    def subject(self) -> str:
        """What was measured: a campaign (``C01 (Spring sale)``) or a channel."""
        if self.f.get("campaign") is not None:
            name = self.get("name")
            return f"{self.f['campaign']}" + (f" ({name})" if name else "")
        return channel_name(self.f.get("channel"), self.lang)

    def channel(self) -> str:
        return channel_name(self.f.get("channel"), self.lang)

    def item(self, key="item") -> str:
        return item_name(self.f[key], self.lang)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _when_campaign(s: _Say, campaign: str, channel: str) -> str:
    return campaign if s.f.get("campaign") is not None else channel


# English ------------------------------------------------------------------------
def _en_roi(s: _Say) -> str:
    if s["established"]:
        return f"Return on its cost: {s.signed_pct(s['roi'])}."
    return (f"Return on its cost at the measured lift: {s.signed_pct(s['roi'])}, but that lift "
            "is not established.")


def _en_ad(s: _Say) -> str:
    tail = "" if s.get("tested") else " (correlational, not a tested effect)"
    one = s.money(1, 0)
    out = (f"{_cap(s.channel())}: each {one} spent goes with {s.money(s['roas'])} of revenue "
           f"on average and {s.money(s['marginal_roas'])} for one more {one} at the current "
           f"level; "
           + (f"its effect carries {s.pct(s['carry'])} into the next week"
              if float(s["carry"]) >= 0.005 else "its effect does not carry into the next week")
           + f"{tail}.")
    if float(s["marginal_roas"]) < 1:
        return out + (f" At this level one more {one} brings back less than it costs: do not "
                      "raise this budget on these numbers.")
    return out + (" A higher budget is worth testing (raise it in some regions only and "
                  "compare).")


_EN: dict[str, Callable[[_Say], str]] = {
    "beats": lambda s: (
        f"{_cap(s.subject())} beats no contact by {s.points(s['lift'])} of conversion, "
        f"±{s.half()} (adjusted p {s.p()})."),
    "worse": lambda s: (
        f"{_cap(s.subject())} does worse than no contact by {s.points(-float(s['lift']))} of "
        f"conversion, ±{s.half()} (adjusted p {s.p()}): contacting these customers costs "
        "sales; stop or retarget it."),
    "not_significant": lambda s: (
        f"{_cap(s.subject())} is not significantly better than no contact on conversion "
        f"({s.signed_points(s['lift'])}, ±{s.half()}; adjusted p {s.p()}): keep a control "
        "group and judge it on more contacts."),
    "not_measurable": lambda s: f"{_cap(s.subject())}: the effect on conversion cannot be "
                                "measured.",
    "responses": lambda s: (f"{s.count('contacted')} contacted, {s.count('converted')} "
                            f"converted ({s.pct(s['rate'], 1)})."),
    "no_contact_recorded": lambda s: "No contact recorded.",
    "roi": _en_roi,
    "left_out": lambda s: (
        f"({s.count('without_control')} of its {s.count('campaigns')} campaigns "
        + ("had no control group and is left out of the lift.)"
           if int(s["without_control"]) == 1 else
           "had no control group and are left out of the lift.)")),
    "no_control": lambda s: (
        f"{_cap(s.subject())}: {s.count('contacted')} contacted, {s.count('converted')} "
        f"converted ({s.pct(s['rate'], 1)}). It had no control group, so its effect cannot "
        "be measured: these customers might have bought anyway. Hold out a control group "
        "next time."),
    "channel_no_control": lambda s: (
        f"{_cap(s.channel())}: {s.count('contacted')} contacted over {s.count('campaigns')} "
        f"campaign{'s' if int(s['campaigns']) != 1 else ''}, none with a control group: its "
        "effect cannot be measured. Hold out a control group in its next campaign."),
    "backtest": lambda s: (
        f"The chosen model, {model_name(s['model'], 'en')}, was off by "
        f"{s.pct(float(s['mape']) / 100, 1)} on average over the last {s.count('folds')} "
        f"backtests (repeating last year: {s.pct(float(s['base_mape']) / 100, 1)}) — "
        + ("better than repeating last year." if s.get("better") else
           "no better than repeating last year: read it as a rough guide.")),
    "too_short": lambda s: (
        f"No forecast: {s.count('n')} months of history"
        + (f", at least {s.count('needed')} needed." if s.get("needed") is not None else
           " are too few.")),
    "ad_response": _en_ad,
    "ad_no_clear_link": lambda s: (
        f"{_cap(s.channel())}: no clear link between its spend and revenue (p {s.p()})"
        + ("" if s.get("tested") else "; correlational, not a tested effect") + "."),
    "nps_driver": lambda s: (
        f"Over {s.count('answers')} survey answers the NPS is {s.signed(s['nps'], 0)}. "
        f"{_cap(s.item())} goes with recommendation most: one standard deviation more, "
        f"{s.signed(s['effect'])} points of NPS answer (±"
        f"{s.num((float(s['high']) - float(s['low'])) / 2, 2)})."),
    "no_clear_link": lambda s: ("No clear link with recommendation once the others are "
                                "known: " + ", ".join(item_name(i, "en") for i in s["items"])
                                + "."),
    "churn_driver": lambda s: (
        f"Customers one standard deviation more satisfied with "
        f"{SATISFIED_WITH['en'].get(s['item'], s.item())} are "
        f"{s.pct(1 - float(s['odds']))} less likely to leave (odds ratio "
        f"{s.num(s['odds'], 2)}, {s.num(s['low'], 2)}–{s.num(s['high'], 2)}): the lever to "
        "work on first to keep customers."),
    "no_churn_driver": lambda s: "No survey item clearly predicts who leaves.",
    "one_factor": lambda s: (
        f"The items move together (one factor carries {s.pct(s['share'])} of their "
        "variance): customers judge the company as a whole, so fixing the weakest point "
        "lifts every score."),
    "factors": lambda s: (f"The items measure {s.count('n')} distinct feelings; treat them "
                          "separately."),
}


# French -------------------------------------------------------------------------
def _fr_roi(s: _Say) -> str:
    if s["established"]:
        return f"Retour sur investissement : {s.signed_pct(s['roi'])}."
    return (f"Retour sur investissement au gain mesuré : {s.signed_pct(s['roi'])}, mais ce "
            "gain n'est pas démontré.")


def _fr_ad(s: _Say) -> str:
    tail = "" if s.get("tested") else " (simple corrélation, pas un effet testé)"
    one = s.money(1, 0)
    out = (f"{_cap(s.channel())} : {one} dépensé va de pair avec {s.money(s['roas'])} de "
           f"chiffre d'affaires en moyenne, et {one} de plus au niveau actuel avec "
           f"{s.money(s['marginal_roas'])} ; "
           + (f"{s.pct(s['carry'])} de son effet se prolonge la semaine suivante"
              if float(s["carry"]) >= 0.005 else
              "son effet ne se prolonge pas la semaine suivante")
           + f"{tail}.")
    if float(s["marginal_roas"]) < 1:
        return out + (f" À ce niveau, {one} de plus rapporte moins qu'il ne coûte : "
                      "n'augmentez pas ce budget sur la foi de ces seuls chiffres.")
    return out + (" Une hausse du budget mérite d'être testée (dans quelques régions "
                  "seulement, pour comparer).")


def _fr_subject_verb(s: _Say) -> str:
    """``La campagne C01 (Soldes)`` / ``Le canal e-mail``: the subject of a French sentence."""
    if s.f.get("campaign") is not None:
        return f"La campagne {s.subject()}"
    return f"Le canal {s.channel()}"


_FR: dict[str, Callable[[_Say], str]] = {
    "beats": lambda s: (
        f"{_fr_subject_verb(s)} fait mieux que l'absence de contact : "
        f"{s.signed_points(s['lift'])} de conversion, à ±{s.half()} près (p ajusté "
        f"{s.p()})."),
    "worse": lambda s: (
        f"{_fr_subject_verb(s)} fait moins bien que l'absence de contact : "
        f"{s.signed_points(s['lift'])} de conversion, à ±{s.half()} près (p ajusté "
        f"{s.p()}). Contacter ces clients fait perdre des ventes : arrêtez ou revoyez le "
        "ciblage."),
    "not_significant": lambda s: (
        f"{_fr_subject_verb(s)} ne fait pas significativement mieux que l'absence de contact "
        f"sur la conversion ({s.signed_points(s['lift'])}, à ±{s.half()} près ; p ajusté "
        f"{s.p()}) : gardez un groupe témoin et jugez sur davantage de contacts."),
    "not_measurable": lambda s: (f"{_fr_subject_verb(s)} : l'effet sur la conversion ne peut "
                                 "pas être mesuré."),
    "responses": lambda s: (f"{s.count('contacted')} clients contactés, "
                            f"{s.count('converted')} ont acheté ({s.pct(s['rate'], 1)})."),
    "no_contact_recorded": lambda s: "Aucun contact enregistré.",
    "roi": _fr_roi,
    "left_out": lambda s: (
        f"({s.count('without_control')} de ses {s.count('campaigns')} campagnes "
        + ("n'avait pas de groupe témoin : elle est exclue du calcul du gain.)"
           if int(s["without_control"]) == 1 else
           "n'avaient pas de groupe témoin : elles sont exclues du calcul du gain.)")),
    "no_control": lambda s: (
        f"{_fr_subject_verb(s)} : {s.count('contacted')} clients contactés, "
        f"{s.count('converted')} ont acheté ({s.pct(s['rate'], 1)}). Sans groupe témoin, son "
        "effet ne peut pas être mesuré : ces clients auraient peut-être acheté de toute "
        "façon. Prévoyez un groupe témoin la prochaine fois."),
    "channel_no_control": lambda s: (
        f"{_fr_subject_verb(s)} : {s.count('contacted')} clients contactés en "
        f"{s.count('campaigns')} campagne{'s' if int(s['campaigns']) > 1 else ''}, aucune "
        "avec un groupe témoin : son effet ne peut pas être mesuré. Prévoyez un groupe témoin "
        "dans sa prochaine campagne."),
    "backtest": lambda s: (
        f"Le modèle retenu, {model_name(s['model'], 'fr')}, s'est trompé de "
        f"{s.pct(float(s['mape']) / 100, 1)} en moyenne sur les {s.count('folds')} derniers "
        f"tests rétrospectifs (répéter l'an dernier : {s.pct(float(s['base_mape']) / 100, 1)}) "
        "— "
        + ("mieux que de répéter l'an dernier." if s.get("better") else
           "pas mieux que de répéter l'an dernier : à lire comme un ordre de grandeur.")),
    "too_short": lambda s: (
        f"Pas de prévision : {s.count('n')} mois d'historique"
        + (f", il en faut au moins {s.count('needed')}." if s.get("needed") is not None else
           ", c'est trop peu.")),
    "ad_response": _fr_ad,
    "ad_no_clear_link": lambda s: (
        f"{_cap(s.channel())} : pas de lien net entre ses dépenses et le chiffre d'affaires "
        f"(p {s.p()})" + ("" if s.get("tested") else " ; simple corrélation, pas un effet "
                                                       "testé") + "."),
    "nps_driver": lambda s: (
        f"Sur {s.count('answers')} réponses aux enquêtes, le NPS est de "
        f"{s.signed(s['nps'], 0)}. C'est la {s.item()} qui va le plus de pair avec la "
        f"recommandation : un écart-type de plus, et la note de recommandation bouge de "
        f"{s.signed(s['effect'])} point{'s' if abs(float(s['effect'])) >= 2 else ''} "
        f"(à ±{s.num((float(s['high']) - float(s['low'])) / 2, 2)} près)."),
    "no_clear_link": lambda s: ("Pas de lien net avec la recommandation une fois les autres "
                                "notes connues : "
                                + ", ".join(item_name(i, "fr") for i in s["items"]) + "."),
    "churn_driver": lambda s: (
        f"Les clients plus satisfaits {SATISFIED_WITH['fr'].get(s['item'], s.item())} "
        f"(d'un écart-type) ont {s.pct(1 - float(s['odds']))} de risque en moins de partir "
        f"(rapport de cotes {s.num(s['odds'], 2)}, entre {s.num(s['low'], 2)} et "
        f"{s.num(s['high'], 2)}) : c'est le levier à travailler en priorité pour garder les "
        "clients."),
    "no_churn_driver": lambda s: ("Aucune question de l'enquête ne permet de prévoir "
                                  "nettement qui part."),
    "one_factor": lambda s: (
        f"Les notes évoluent ensemble (un seul facteur porte {s.pct(s['share'])} de leur "
        "variance) : les clients jugent l'entreprise dans son ensemble, et corriger le point "
        "le plus faible relève toutes les notes."),
    "factors": lambda s: (f"Les questions mesurent {s.count('n')} perceptions distinctes : "
                          "traitez-les séparément."),
}

#: the codes this module says
CODES = tuple(_EN)
assert set(_EN) == set(_FR)


def advertising_note(evidence, lang: str = "en") -> str:
    """What the advertising figures can be trusted for (``mart_advertising.evidence``)."""
    if str(evidence) == "experiment":
        return ("Backed by an experiment." if lang != "fr" else "Appuyé par une expérience.")
    if lang == "fr":
        return ("Simple corrélation : les dépenses n'ont pas été réparties au hasard, si bien "
                "qu'un canal acheté quand la demande est forte se voit attribuer cette "
                "demande. Testez un canal (coupez-le dans quelques régions) avant de déplacer "
                "du budget sur la foi de ces seuls chiffres.")
    return ("Correlational: spend was not randomised, so a channel bought when demand is high "
            "is credited with that demand. Test a channel (switch it off in some regions) "
            "before moving budget on these numbers alone.")


def advertising_outcome(sales_channel, lang: str = "en") -> str:
    """The revenue the ad spend is set against (``mart_advertising.sales_channel``)."""
    if sales_channel is None or (isinstance(sales_channel, float) and math.isnan(sales_channel)):
        return "chiffre d'affaires hebdomadaire" if lang == "fr" else "weekly revenue"
    name = channel_name(sales_channel, lang)
    return (f"chiffre d'affaires hebdomadaire du canal {name}" if lang == "fr" else
            f"weekly revenue of the {name} channel")
