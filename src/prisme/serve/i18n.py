"""English and French: the words of the pages, and numbers, money and dates by Babel.

The language is the user's setting, else the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math

from babel import dates as _dates

from prisme.i18n.formats import _locale, _pattern  # one cache of Babel's locales and patterns
from prisme.i18n.names import cluster_label_name, segment_name

LANGUAGES = ("en", "fr")
LOCALES = {"en": "en_GB", "fr": "fr_FR"}

#: key → (English, French)
WORDS: dict[str, tuple[str, str]] = {
    "overview": ("Overview", "Vue d'ensemble"),
    "segments": ("Segments", "Segments"),
    "value": ("Customer value", "Valeur client"),
    "churn": ("Churn", "Attrition"),
    "offers": ("Offers", "Offres"),
    "campaigns": ("Campaigns & channels", "Campagnes et canaux"),
    "forecasts": ("Forecasts", "Prévisions"),
    "satisfaction": ("Satisfaction", "Satisfaction"),
    "branches": ("Branches & advisors", "Agences et conseillers"),
    "quality": ("Data quality", "Qualité des données"),
    "cube": ("Cube explorer", "Explorateur de cube"),
    "customers": ("Customers", "Clients"),
    "audit": ("Audit log", "Journal d'audit"),
    "login": ("Log in", "Connexion"),
    "logout": ("Log out", "Déconnexion"),
    "username": ("User name", "Nom d'utilisateur"),
    "password": ("Password", "Mot de passe"),
    "language": ("Language", "Langue"),
    "search": ("Search", "Rechercher"),
    "search_hint": ("Name, e-mail, phone or customer id", "Nom, e-mail, téléphone ou identifiant"),
    "bad_login": ("Wrong user name or password.", "Nom d'utilisateur ou mot de passe incorrect."),
    "active_customers": ("Active customers", "Clients actifs"),
    "revenue": ("Revenue", "Chiffre d'affaires"),
    "margin": ("Margin", "Marge"),
    "clv": ("CLV (12 months)", "Valeur client (12 mois)"),
    "churn_risk": ("Churn risk", "Risque d'attrition"),
    "orders": ("Orders", "Commandes"),
    "month": ("Month", "Mois"),
    "not_built": ("This analysis is not in the warehouse yet: {table} has not been built. "
                  "Run prisme build once the {stage} stage is installed.",
                  "Cette analyse n'est pas encore dans l'entrepôt : la table {table} n'a pas été "
                  "construite. Lancez prisme build une fois l'étape {stage} installée."),
    "scope": ("You see: {scope}", "Périmètre : {scope}"),
    "golden": ("Golden record", "Fiche de référence"),
    "field": ("Field", "Champ"),
    "source": ("Source", "Source"),
    "consent": ("Consent", "Consentement"),
    "timeline": ("Timeline", "Historique"),
    "next_offers": ("Next best offers", "Prochaines meilleures offres"),
    "reasons": ("Churn reasons", "Raisons d'attrition"),
    "segment": ("RFM segment", "Segment RFM"),
    "cluster": ("Cluster", "Groupe"),
    "interval": ("interval", "intervalle"),
    "p_alive": ("P(alive)", "P(actif)"),
    "no_results": ("No customer found.", "Aucun client trouvé."),
    "results": ("{n} customers found", "{n} clients trouvés"),
    "measures": ("Measures", "Mesures"),
    "dimensions": ("Dimensions", "Dimensions"),
    "filters": ("Filters", "Filtres"),
    "run": ("Show", "Afficher"),
    "drill_down": ("drill down", "détailler"),
    "roll_up": ("roll up", "regrouper"),
    "refused": ("Refused", "Accès refusé"),
    "unavailable": ("Warehouse unavailable", "Entrepôt indisponible"),
    "not_found": ("Not found", "Introuvable"),
    "yes": ("yes", "oui"),
    "no": ("no", "non"),
    "unknown": ("unknown", "inconnu"),
    "company_wide": ("Company-wide results.", "Résultats de toute l'entreprise."),
    "as_of": ("as of {day}", "au {day}"),
    "page": ("Page {page} of {pages}", "Page {page} sur {pages}"),
    "previous": ("Previous", "Précédent"),
    "next": ("Next", "Suivant"),
    "masked": ("masked", "masqué"),
}


#: column names of the tables shown as they are (English, French); a column not listed is
#: shown as its name with spaces
COLUMNS: dict[str, tuple[str, str]] = {
    "channel": ("Channel", "Canal"), "campaigns": ("Campaigns", "Campagnes"),
    "campaign_id": ("Campaign", "Campagne"), "name": ("Name", "Nom"),
    "started_at": ("Started", "Début"), "contacted": ("Contacted", "Contactés"),
    "conversion_rate": ("Conversion", "Conversion"),
    "control_conversion_rate": ("Control conversion", "Conversion témoin"),
    "lift": ("Lift", "Gain"), "lift_low": ("Lift, low", "Gain, bas"),
    "lift_high": ("Lift, high", "Gain, haut"), "p_value": ("p", "p"),
    "p_adjusted": ("Adjusted p", "p ajusté"),
    "incremental_revenue": ("Incremental revenue", "CA incrémental"),
    "cost": ("Cost", "Coût"), "roi": ("ROI", "Retour sur coût"), "revenue": ("Revenue", "CA"),
    "margin": ("Margin", "Marge"), "source": ("Source", "Source"), "score": ("Score", "Score"),
    "month": ("Month", "Mois"), "metric": ("Measure", "Mesure"), "actual": ("Actual", "Réel"),
    "mean": ("Forecast", "Prévision"), "lower": ("Low", "Bas"), "upper": ("High", "Haut"),
    "branch": ("Branch", "Agence"), "advisor": ("Advisor", "Conseiller"),
    "customers": ("Customers", "Clients"), "orders": ("Orders", "Commandes"),
    "load_id": ("Load", "Chargement"), "loaded_at": ("Loaded", "Chargé le"),
    "rows": ("Rows", "Lignes"), "check": ("Check", "Contrôle"), "field": ("Field", "Champ"),
    "value": ("Value", "Valeur"), "at": ("When", "Quand"), "actor": ("Who", "Qui"),
    "action": ("Action", "Action"), "subject": ("Subject", "Objet"),
    "detail": ("Detail", "Détail"), "total": ("Total", "Total"),
    "completeness": ("Completeness", "Complétude"), "validity": ("Validity", "Validité"),
    "uniqueness": ("Uniqueness", "Unicité"), "freshness": ("Freshness", "Fraîcheur"),
    "consent": ("Consent", "Consentement"), "n": ("Count", "Nombre"),
    "churn_risk": ("Churn risk", "Risque d'attrition"),
    "churn_reasons": ("Churn reasons", "Raisons d'attrition"),
}
#: the roles of the users (English, French)
ROLES = {"admin": ("admin", "administrateur"), "analyst": ("analyst", "analyste"),
         "manager": ("manager", "responsable d'agence"), "advisor": ("advisor", "conseiller")}
#: codes of the data shown as words (channels, devices, a call's direction, reason and
#: outcome, a campaign contact's group, a customer's kind): their French; a code not listed
#: is shown as the data hold it
CODES_FR: dict[str, str] = {
    "web": "web", "store": "magasin", "phone": "téléphone", "email": "e-mail",
    "post": "courrier", "sms": "SMS", "ads": "publicité",
    "mobile": "mobile", "desktop": "ordinateur", "tablet": "tablette",
    "inbound": "entrant", "outbound": "sortant",
    "order": "commande", "complaint": "réclamation", "return": "retour",
    "cancellation": "résiliation", "delivery": "livraison", "information": "information",
    "resolved": "résolu", "callback": "rappel", "escalated": "transmis", "no_answer":
    "sans réponse", "sale": "vente", "call": "appel",
    "treatment": "groupe ciblé", "control": "groupe témoin",
    "person": "particulier", "company": "entreprise",
    "completeness": "complétude", "validity": "validité", "duplicates": "doublons",
    "placeholder": "valeur factice",
}
#: the same codes in English words where the code is not a word
CODES_EN: dict[str, str] = {"no_answer": "no answer", "treatment": "treatment group",
                            "control": "control group", "sms": "SMS"}


def pick_language(setting: str | None, accept_language: str | None) -> str:
    """The user's setting, else the first supported language the browser asks for."""
    if setting in LANGUAGES:
        return setting
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


class Translator:
    """``t(key, **values)`` in one language, plus Babel formatting in its locale."""

    def __init__(self, lang: str, currency: str = "EUR") -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.locale = LOCALES[self.lang]
        self.currency = currency

    def __call__(self, key: str, **values) -> str:
        pair = WORDS.get(key)
        text = key if pair is None else pair[LANGUAGES.index(self.lang)]
        return text.format(**values) if values else text

    def pick(self, en: str, fr: str) -> str:
        return fr if self.lang == "fr" else en

    def segment(self, name) -> str:
        """An RFM segment's name in this language ('at risk' → 'à risque')."""
        return "—" if name is None else segment_name(name, self.lang)

    def column(self, name: str) -> str:
        """A table column's header in this language."""
        pair = COLUMNS.get(name)
        return self.pick(*pair) if pair else name.replace("_", " ")

    def role(self, role) -> str:
        """A user's role in this language."""
        return self.pick(*ROLES.get(role, (role, role)))

    def cluster(self, label) -> str:
        """A behavioural cluster's label in this language."""
        return cluster_label_name(label, self.lang)

    def code(self, v):
        """A code of the data (a channel, a call's outcome…) as a word of this language."""
        if v is None:
            return None
        return (CODES_FR if self.lang == "fr" else CODES_EN).get(str(v), v)

    @staticmethod
    def _missing(v) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    # Babel's format_* functions parse the locale and the pattern at every call; a card or a
    # table formats hundreds of values, so the parsed locale and patterns are kept
    # (:func:`_locale`, :func:`_pattern`) and dates, which repeat, are memoised.
    def number(self, v, digits: int = 0) -> str:
        if self._missing(v):
            return "—"
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return _pattern(fmt).apply(float(v), _locale(self.locale))

    def money(self, v, digits: int = 0) -> str:
        if self._missing(v):
            return "—"
        fast = _money_template(self.lang, self.locale, self.currency, digits)
        x = float(v)
        if fast is not None and 0.005 <= abs(x) < 1e12:
            return fast(x)
        return _babel_money(x, self.lang, self.locale, self.currency, digits)

    def percent(self, v, digits: int = 0) -> str:
        if self._missing(v):
            return "—"
        # French writes a (non-breaking) space before the sign: 12 %
        fmt = "#,##0" + ("." + "0" * digits if digits else "") + (
            "\u00a0%" if self.lang == "fr" else "%")
        return _pattern(fmt).apply(float(v), _locale(self.locale))

    def date(self, v) -> str:
        if self._missing(v) or v is None:
            return "—"
        if hasattr(v, "to_pydatetime"):
            v = v.to_pydatetime()
        if isinstance(v, _dt.datetime):
            v = v.date()
        if isinstance(v, str):
            try:
                v = _dt.date.fromisoformat(v[:10])
            except ValueError:
                return v
        return _date(v, self.locale)

    def month(self, v) -> str:
        """A month label of the cube ("2026-06") as this language writes it ("juin 2026")."""
        try:
            y, m = (int(x) for x in str(v)[:7].split("-"))
            return _dates.format_date(_dt.date(y, m, 1), format="LLLL y",
                                      locale=_locale(self.locale))
        except (ValueError, TypeError):
            return str(v)

    def datetime(self, v) -> str:
        if self._missing(v) or v is None:
            return "—"
        if hasattr(v, "to_pydatetime"):
            v = v.to_pydatetime()
        if not isinstance(v, _dt.datetime):
            return self.date(v)
        return _dates.format_datetime(v, format="medium", locale=_locale(self.locale))

    def value(self, v, unit: str) -> str:
        return {"money": self.money, "ratio": lambda x: self.percent(x, 1)}.get(
            unit, self.number)(v)


@functools.lru_cache(maxsize=50_000)
def _date(v: _dt.date, locale: str) -> str:
    return _dates.format_date(v, format="medium", locale=_locale(locale))


def _babel_money(x: float, lang: str, locale: str, currency: str, digits: int) -> str:
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return _pattern("¤" + fmt if lang == "en" else fmt + "\u00a0¤").apply(
        x, _locale(locale), currency=currency, currency_digits=False)


@functools.lru_cache(maxsize=64)
def _money_template(lang: str, locale: str, currency: str, digits: int):
    """Money the way Babel writes it, without Babel's per-call pattern work (~28 µs a call; a
    card's timeline has dozens of amounts): Babel's own output for a sample amount gives the
    currency's place and the locale's group and decimal signs; a value is then rounded as Babel
    rounds it (``Decimal(str(x))``, half to even) and grouped by Python. None when the sample
    does not split that way (then Babel formats every value); tests compare the two."""
    import decimal

    q = decimal.Decimal(1).scaleb(-digits)
    plain = f"{decimal.Decimal('1234567.891').quantize(q):,.{digits}f}"
    try:
        pos = _babel_money(1234567.891, lang, locale, currency, digits)
        neg = _babel_money(-1234567.891, lang, locale, currency, digits)
    except Exception:  # noqa: BLE001 - no fast path for an odd locale or currency
        return None
    group = pos[pos.index("1") + 1]
    point = pos[pos.index("7") + 1] if digits else ""
    number = plain.replace(",", "\0").replace(".", point).replace("\0", group)
    if pos.count(number) != 1 or neg.count(number) != 1:
        return None
    pos_pre, pos_post = pos.split(number)
    neg_pre, neg_post = neg.split(number)
    table = str.maketrans({",": group, ".": point})

    def fmt(x: float) -> str:
        d = decimal.Decimal(str(x)).quantize(q, rounding=decimal.ROUND_HALF_EVEN)
        text = f"{abs(d):,.{digits}f}".translate(table)
        return (neg_pre + text + neg_post) if d.is_signed() else (pos_pre + text + pos_post)

    return fmt
