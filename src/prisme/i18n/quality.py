"""The quality audit's detail lines in the reader's language.

**The stored format.** ``quality_audit.detail`` is a string: one JSON object with a ``code``
and the figures the line needs (compact JSON), e.g.
``{"code":"invalid_email","n":3,"of":120,"rejected":1}``. The codes:

=======================  ===========================================  =====================
code                     figures                                      English
=======================  ===========================================  =====================
records                  n                                            1,234 records in the
                                                                      list after this load
filled                   n, of                                        1,200 of 1,234 records
absent_fields            n, of, fields (list)                         2 of the 8 fields a
                                                                      customer record should
                                                                      have are absent from
                                                                      the list: email, phone
near_empty               n, fields                                    3 records with none of
                                                                      first name, e-mail…
placeholders             n                                            4 placeholder values
invalid_email            n, of, rejected                              3 of 120 fail e-mail
invalid_phone                                                         syntax (…)
invalid_fax              n, of                                        … not in E.164
invalid_postcode         n, of                                        … do not have the shape
                                                                      of their country's
                                                                      postcodes
unknown_country          n, of                                        … are not a known
                                                                      country
implausible_birth_date   n, of, min_age, max_age, future              … outside ages 14-120
future_date              n, of                                        … after the load
amount_out_of_range      n, of, low, high                             … outside 0-10,000,000
duplicates               n                                            extra records of a
                                                                      customer
overlap                  n, source (null: any other source)           records also known to
                                                                      another source
days_since_load          loaded (date), days, audit (ISO time, UTC)   loaded 2026-11-01, 10
                                                                      days before the audit…
days_since_latest_record latest (date), days, audit                   latest record …
record_lag               days                                         the latest record was
                                                                      30 days old …
consent                  yes, no, unknown                             12 opted in, 3 opted
                                                                      out, 5 unknown
component                component, weight, used (bool), absent       weight 25%: what it
                         (an ``absent_fields`` object or null)        measures …
score                    weights ({component: weight} of the parts    25% completeness + …
                         with data)
=======================  ===========================================  =====================

A text that is not a JSON object (an audit written before the format) is shown as it is.
"""

from __future__ import annotations

import datetime as _dt
import json
import math

from prisme.i18n import formats

#: a customer field's name in words (English, French; English pages show the field's
#: name in the canonical model, as the mapping and the exports do)
FIELDS: dict[str, tuple[str, str]] = {
    "first_name": ("first name", "prénom"), "last_name": ("last name", "nom"),
    "email": ("e-mail", "e-mail"), "phone": ("phone", "téléphone"), "fax": ("fax", "fax"),
    "address_line": ("address", "adresse"), "postal_code": ("postcode", "code postal"),
    "city": ("city", "ville"), "country": ("country", "pays"),
    "nationality": ("nationality", "nationalité"),
    "birth_date": ("birth date", "date de naissance"),
    "created_at": ("created on", "date de création"),
    "updated_at": ("updated on", "date de mise à jour"),
    "annual_revenue": ("annual revenue", "chiffre d'affaires annuel"),
    "company": ("company", "société"), "gender": ("gender", "genre"),
    "branch": ("branch", "agence"), "advisor": ("advisor", "conseiller"),
    "kind": ("kind", "type"), "business_unit": ("business unit", "division"),
    "department": ("department", "service"),
    "consent_email": ("e-mail consent", "consentement e-mail"),
    "consent_phone": ("phone consent", "consentement téléphone"),
    "consent_post": ("post consent", "consentement courrier"),
    "near_empty": ("near-empty records", "fiches presque vides"),
    "absent": ("fields absent from the list", "champs absents de la liste"),
    "days_since_load": ("days since the load", "jours depuis le chargement"),
    "days_since_latest_record": ("days since the latest record",
                                 "jours depuis la fiche la plus récente"),
    "record_lag_at_load": ("age of the latest record at load",
                           "âge de la fiche la plus récente au chargement"),
}
#: the score's components (English, French): name and what it measures
COMPONENTS: dict[str, tuple[str, str, str, str]] = {
    "completeness": (
        "completeness", "complétude",
        "mean share of records with a value over what a customer record should have (a "
        "field the source lacks counts 0), and over the birth date when the source "
        "delivers it",
        "part moyenne des fiches renseignées sur les champs qu'une fiche client devrait avoir "
        "(un champ absent de la source compte 0), et sur la date de naissance quand la "
        "source la fournit"),
    "validity": (
        "validity", "validité",
        "mean share of valid values (placeholders count as invalid) over the checked fields "
        "(country and nationality apart)",
        "part moyenne des valeurs valides (les valeurs factices comptent comme invalides) sur "
        "les champs contrôlés (pays et nationalité à part)"),
    "uniqueness": (
        "uniqueness", "unicité",
        "1 - duplicate rate inside the source (from identity resolution)",
        "1 - taux de doublons dans la source (d'après le rapprochement des identités)"),
    "freshness": (
        "freshness", "fraîcheur",
        "1 when the latest record is at most 30 days older than the load, falling to 0 at "
        "365 days",
        "1 quand la fiche la plus récente a au plus 30 jours de plus que le chargement, "
        "jusqu'à 0 à 365 jours"),
    "consent": (
        "consent", "consentement",
        "mean share of records with a known consent (e-mail, phone, post)",
        "part moyenne des fiches dont le consentement est connu (e-mail, téléphone, "
        "courrier)"),
}


def encode(code: str, **figures) -> str:
    """One detail line as stored (compact JSON)."""
    return json.dumps({"code": code, **figures}, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def parse(raw) -> dict | None:
    """The stored detail as a dict (None when empty); an older text → ``{"code": "text"}``."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if isinstance(raw, dict):
        return raw
    text = str(raw).strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and value.get("code"):
            return value
    return {"code": "text", "text": text}


def field_name(field, lang: str = "en") -> str:
    """A customer field as a reader of ``lang`` sees it: in English its name in the
    canonical model (``postal_code``: the name the mapping and the exports use), in French
    in words (``code postal``)."""
    if field is None or (isinstance(field, float) and math.isnan(field)):
        return ""
    pair = FIELDS.get(str(field))
    if lang != "fr":
        return str(field)
    return str(field).replace("_", " ") if pair is None else pair[1]


def component_name(component: str, lang: str = "en") -> str:
    c = COMPONENTS.get(component)
    return component if c is None else (c[1] if lang == "fr" else c[0])


def component_measures(component: str, lang: str = "en") -> str:
    c = COMPONENTS.get(component)
    return "" if c is None else (c[3] if lang == "fr" else c[2])


def text(raw, lang: str = "en") -> str:
    """A stored detail in words of ``lang`` (``""`` when there is none)."""
    d = parse(raw)
    if d is None:
        return ""
    if d.get("code") == "text":
        return str(d.get("text", ""))
    fn = (_fr if lang == "fr" else _en).get(d["code"])
    if fn is None:
        return ", ".join(f"{k} {v}" for k, v in d.items())
    try:
        return fn(_D(d, lang))
    except (KeyError, TypeError, ValueError):
        return ", ".join(f"{k} {v}" for k, v in d.items())


class _D:
    def __init__(self, d: dict, lang: str) -> None:
        self.d, self.lang = d, lang

    def __getitem__(self, key):
        return self.d[key]

    def num(self, key) -> str:
        v = self.d.get(key)
        return "—" if v is None else formats.number(v, self.lang)

    def pct(self, v) -> str:
        return formats.percent(v, self.lang)

    def fields(self, key="fields") -> str:
        return ", ".join(field_name(f, self.lang) for f in self.d.get(key) or [])


    def day(self, key) -> str:
        v = self.d.get(key)
        if not v:
            return "—"
        if self.lang != "fr":
            return str(v)[:10]
        try:
            return _dt.date.fromisoformat(str(v)[:10]).strftime("%d/%m/%Y")
        except ValueError:
            return str(v)

    def when(self, key="audit") -> str:
        """An audit time (ISO, UTC): ``2026-11-11 08:00 UTC`` / ``11/11/2026 à 08:00 UTC``."""
        v = str(self.d.get(key) or "")
        if self.lang != "fr" or len(v) < 16:
            return f"{v[:16].replace('T', ' ')} UTC" if v else "—"
        return f"{self.day(key)} à {v[11:16]} UTC"


def _of(en: str):
    return lambda d: f"{d.num('n')} of {d.num('of')} {en}"


def _sur(fr: str):
    return lambda d: f"{d.num('n')} sur {d.num('of')} {fr}"


def _en_absent(d: _D) -> str:
    if not d.d.get("n"):
        return f"the list has all {d.num('of')} fields a customer record should have"
    return (f"{d.num('n')} of the {d.num('of')} fields a customer record should have are "
            f"absent from the list: {d.fields()}")


def _fr_absent(d: _D) -> str:
    if not d.d.get("n"):
        return f"la liste a les {d.num('of')} champs qu'une fiche client devrait avoir"
    return (f"{d.num('n')} des {d.num('of')} champs qu'une fiche client devrait avoir sont "
            f"absents de la liste : {d.fields()}")


def _component(lang: str):
    def said(d: _D) -> str:
        k = d["component"]
        fr = lang == "fr"
        out = (f"poids {d.pct(d['weight'])} : " if fr else f"weight {d.pct(d['weight'])}: ") \
            + component_measures(k, lang)
        if not d.d.get("used", True):
            out += (" (pas de données : hors du total)" if fr else
                    " (no data: left out of the total)")
        absent = d.d.get("absent")
        if absent and absent.get("n"):
            out += " — " + (_fr_absent if fr else _en_absent)(_D(absent, lang))
        return out
    return said


def _score(lang: str):
    def said(d: _D) -> str:
        return " + ".join(f"{d.pct(w)} {component_name(k, lang)}"
                          for k, w in (d.d.get("weights") or {}).items())
    return said


_en = {
    "records": lambda d: f"{d.num('n')} records in the list after this load",
    "filled": _of("records"),
    "absent_fields": _en_absent,
    "near_empty": lambda d: f"{d.num('n')} records with none of {d.fields()}",
    "placeholders": lambda d: f"{d.num('n')} placeholder values",
    "invalid_email": lambda d: f"{d.num('n')} of {d.num('of')} fail e-mail syntax "
                               f"(placeholders apart; {d.num('rejected')} in rows rejected "
                               "at load)",
    "invalid_phone": lambda d: f"{d.num('n')} of {d.num('of')} fail phone number in E.164 "
                               f"(placeholders apart; {d.num('rejected')} in rows rejected "
                               "at load)",
    "invalid_fax": _of("not in E.164"),
    "invalid_postcode": _of("do not have the shape of their country's postcodes"),
    "unknown_country": _of("are not a known country (ISO-3166 code or name), loaded as "
                           "empty (reported, not in the score)"),
    "implausible_birth_date": lambda d: f"{d.num('n')} of {d.num('of')} outside ages "
                                        f"{d['min_age']}-{d['max_age']} ({d.num('future')} "
                                        "in the future)",
    "future_date": _of("after the load (in the future)"),
    "amount_out_of_range": lambda d: f"{d.num('n')} of {d.num('of')} outside "
                                     f"{d.num('low')}-{d.num('high')}",
    "duplicates": lambda d: f"{d.num('n')} records are extra records of a customer already "
                            "in the source",
    "overlap": lambda d: f"{d.num('n')} records also known to "
                         f"{d.d.get('source') or 'another source'}",
    "days_since_load": lambda d: f"loaded {d.day('loaded')}, {d.num('days')} days before "
                                 f"the audit of {d.when()}",
    "days_since_latest_record": lambda d: f"latest record created or updated "
                                          f"{d.day('latest')}, {d.num('days')} days before "
                                          f"the audit of {d.when()}",
    "record_lag": lambda d: f"the latest record was {d.num('days')} days old when the "
                            "source was loaded",
    "consent": lambda d: f"{d.num('yes')} opted in, {d.num('no')} opted out, "
                         f"{d.num('unknown')} unknown",
    "component": _component("en"),
    "score": _score("en"),
}

_fr = {
    "records": lambda d: f"{d.num('n')} fiches dans la liste après ce chargement",
    "filled": _sur("fiches"),
    "absent_fields": _fr_absent,
    "near_empty": lambda d: f"{d.num('n')} fiches sans aucun de ces champs : {d.fields()}",
    "placeholders": lambda d: f"{d.num('n')} valeurs factices",
    "invalid_email": lambda d: f"{d.num('n')} sur {d.num('of')} ne sont pas des adresses "
                               f"e-mail valides (valeurs factices à part ; "
                               f"{d.num('rejected')} dans des lignes rejetées au chargement)",
    "invalid_phone": lambda d: f"{d.num('n')} sur {d.num('of')} ne sont pas des numéros au "
                               f"format E.164 (valeurs factices à part ; {d.num('rejected')} "
                               "dans des lignes rejetées au chargement)",
    "invalid_fax": _sur("ne sont pas au format E.164"),
    "invalid_postcode": _sur("n'ont pas la forme des codes postaux de leur pays"),
    "unknown_country": _sur("ne sont pas un pays connu (code ou nom ISO 3166), chargés vides "
                            "(signalé, hors score)"),
    "implausible_birth_date": lambda d: f"{d.num('n')} sur {d.num('of')} hors des âges "
                                        f"{d['min_age']} à {d['max_age']} ans "
                                        f"({d.num('future')} dans le futur)",
    "future_date": _sur("postérieures au chargement (dans le futur)"),
    "amount_out_of_range": lambda d: f"{d.num('n')} sur {d.num('of')} hors de "
                                     f"{d.num('low')} à {d.num('high')}",
    "duplicates": lambda d: f"{d.num('n')} fiches en double d'un client déjà présent dans la "
                            "source",
    "overlap": lambda d: f"{d.num('n')} fiches aussi connues "
                         + (f"de {d.d['source']}" if d.d.get("source") else
                            "d'une autre source"),
    "days_since_load": lambda d: f"chargée le {d.day('loaded')}, {d.num('days')} jours avant "
                                 f"l'audit du {d.when()}",
    "days_since_latest_record": lambda d: f"fiche la plus récente créée ou modifiée le "
                                          f"{d.day('latest')}, {d.num('days')} jours avant "
                                          f"l'audit du {d.when()}",
    "record_lag": lambda d: f"la fiche la plus récente avait {d.num('days')} jours au "
                            "chargement de la source",
    "consent": lambda d: f"{d.num('yes')} acceptent, {d.num('no')} refusent, "
                         f"{d.num('unknown')} inconnus",
    "component": _component("fr"),
    "score": _score("fr"),
}
assert set(_en) == set(_fr)
CODES = tuple(_en)
