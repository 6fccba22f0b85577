"""The words of the management report, in English and French, and number formats."""

from __future__ import annotations

import math

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Management report",
        "generated": "Generated",
        "overview": "Overview",
        "segments": "Segments",
        "value": "Customer value",
        "churn": "Churn",
        "campaigns": "Campaigns and channels",
        "forecasts": "Forecasts",
        "missing": "Not available yet: the warehouse has no {table} table (the stage that "
                   "builds it has not run).",
        "missing_col": "Not available yet: {table}.{column} is empty.",
        "empty": "{table} is empty.",
        "overview_s": "{parties} customers ({buyers} buyers) as of {as_of}; revenue to date "
                      "{revenue}; expected value over the next 12 months {clv}.",
        "revenue_by_month": "Revenue by month",
        "revenue": "revenue",
        "month_vs_year": "{month}: revenue {revenue}, {change} on the same month a year "
                         "earlier.",
        "segment_s": "{seg}: {cust} of customers bring {rev} of revenue; churn risk {risk}.",
        "segment_chart": "Share of customers and of revenue by RFM segment",
        "share_customers": "share of customers",
        "share_revenue": "share of revenue",
        "cluster_s": "Behaviour group \u201c{label}\u201d: {cust} of buyers, {rev} of revenue.",
        "value_s": "Expected value of the customer base over 12 months: {total} (between "
                   "{low} and {high}); the top 20% of customers hold {top} of it.",
        "value_chart": "Expected 12-month value by RFM segment",
        "value_top_seg": "{seg} holds the most future value: {sum} ({mean} per customer).",
        "clv": "12-month value",
        "churn_missing": "The supervised churn score is not available yet "
                         "(customer_360.churn_probability is empty); below, the purchase "
                         "model's view: the share of customers likely already gone.",
        "palive_s": "Most value at risk: {seg} — {n} customers, {risk} of them likely "
                    "already gone; a retention action there protects the most value.",
        "churn_s": "{n} customers ({share}) are more likely than not to leave; they carry "
                   "{clv} of expected 12-month value.",
        "churn_chart": "Customers by churn probability",
        "risk_chart": "Share of each RFM segment likely already gone (1 − P(alive))",
        "customers": "customers",
        "reason": "top reason (customers at risk)",
        "lift_chart": "Lift over control by channel (95% interval)",
        "lift": "lift",
        "actual": "actual",
        "forecast": "forecast",
        "interval": "95% interval",
    },
    "fr": {
        "title": "Rapport de direction",
        "generated": "Produit le",
        "overview": "Vue d'ensemble",
        "segments": "Segments",
        "value": "Valeur client",
        "churn": "Attrition",
        "campaigns": "Campagnes et canaux",
        "forecasts": "Prévisions",
        "missing": "Pas encore disponible : l'entrepôt n'a pas de table {table} (l'étape qui "
                   "la construit n'a pas tourné).",
        "missing_col": "Pas encore disponible : {table}.{column} est vide.",
        "empty": "{table} est vide.",
        "overview_s": "{parties} clients ({buyers} acheteurs) au {as_of} ; chiffre d'affaires "
                      "à date {revenue} ; valeur attendue sur les 12 prochains mois {clv}.",
        "revenue_by_month": "Chiffre d'affaires par mois",
        "revenue": "chiffre d'affaires",
        "month_vs_year": "{month} : chiffre d'affaires {revenue}, {change} par rapport au "
                         "même mois un an plus tôt.",
        "segment_s": "{seg} : {cust} des clients apportent {rev} du chiffre d'affaires ; "
                     "risque d'attrition {risk}.",
        "segment_chart": "Part des clients et du chiffre d'affaires par segment RFM",
        "share_customers": "part des clients",
        "share_revenue": "part du chiffre d'affaires",
        "cluster_s": "Groupe de comportement « {label} » : {cust} des acheteurs, {rev} du "
                     "chiffre d'affaires.",
        "value_s": "Valeur attendue de la base clients sur 12 mois : {total} (entre {low} et "
                   "{high}) ; les 20 % meilleurs clients en portent {top}.",
        "value_chart": "Valeur attendue à 12 mois par segment RFM",
        "value_top_seg": "{seg} porte le plus de valeur future : {sum} ({mean} par client).",
        "clv": "valeur à 12 mois",
        "churn_missing": "Le score d'attrition supervisé n'est pas encore disponible "
                         "(customer_360.churn_probability est vide) ; ci-dessous, la lecture "
                         "du modèle d'achat : la part des clients probablement déjà partis.",
        "palive_s": "Le plus de valeur en danger : {seg} — {n} clients, dont {risk} "
                    "probablement déjà partis ; une action de rétention y protège le plus "
                    "de valeur.",
        "churn_s": "{n} clients ({share}) ont plus de chances de partir que de rester ; ils "
                   "portent {clv} de valeur attendue à 12 mois.",
        "churn_chart": "Clients par probabilité d'attrition",
        "risk_chart": "Part de chaque segment RFM probablement déjà partie (1 − P(vivant))",
        "customers": "clients",
        "reason": "première raison (clients à risque)",
        "lift_chart": "Gain sur le groupe témoin par canal (intervalle à 95 %)",
        "lift": "gain",
        "actual": "réel",
        "forecast": "prévision",
        "interval": "intervalle à 95 %",
    },
}


def fmt_num(x, lang: str = "en", digits: int = 0, signed: bool = False) -> str:
    """1,234,567 (en) or 1 234 567 (fr); NaN as a dash."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    text = f"{float(x):{'+' if signed else ''},.{digits}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


#: the currency of the amounts (the project's, set by the report)
CURRENCY = {"code": "EUR"}
_SYMBOL = {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF", "BRL": "R$"}


def fmt_money(x, lang: str = "en") -> str:
    """An amount with the project's currency: €1,234 (en), 1 234 € (fr)."""
    symbol = _SYMBOL.get(CURRENCY["code"], CURRENCY["code"])
    if lang == "fr":
        return f"{fmt_num(x, lang)}\u00a0{symbol}"
    return f"{symbol}{fmt_num(x, lang)}" if len(symbol) <= 2 else f"{fmt_num(x, lang)} {symbol}"


def fmt_pct(x, lang: str = "en", signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    text = f"{100 * float(x):{'+' if signed else ''}.0f}"
    return f"{text}\u00a0%" if lang == "fr" else f"{text}%"


def fmt_pct1(x, lang: str = "en") -> str:
    """A rate with one decimal: 12.5% (en), 12,5 % (fr)."""
    text = fmt_num(100 * float(x), lang, 1) if x is not None else "—"
    return f"{text}\u00a0%" if lang == "fr" else f"{text}%"


#: the sentences of a target list's lift (prisme.act.targets.say_lift)
LIFT_TEXT = {
    "en": {
        "small": "groups of {n1} and {n0} customers are too small to conclude",
        "few": "fewer than 5 buyers in a group: the interval is unreliable",
        "open": "the {days}-day window after the export is not over in the loaded sales "
                "yet: the figures will change",
        "no_control": "List {id}: no control group on record, so its effect cannot be "
                      "measured.",
        "no_sales": "List {id} ({channel}): no purchase loaded since the export on {at} yet; "
                    "its lift is measured once the sales of the {days} days after it are "
                    "loaded.",
        "better": "the campaign made a difference",
        "worse": "the campaign did worse than no contact",
        "chance": "the difference is not significant: it may be chance",
        "lift": "List {id} ({channel}): {r1} of the {n1} contacted customers bought within "
                "{days} days, against {r0} of the {n0} held back — {pts} points ±{ci} "
                "(p = {p}); {verdict}.",
    },
    "fr": {
        "small": "des groupes de {n1} et {n0} clients sont trop petits pour conclure",
        "few": "moins de 5 acheteurs dans un groupe : l'intervalle n'est pas fiable",
        "open": "la fenêtre de {days} jours après l'export n'est pas encore couverte par les "
                "ventes chargées : les chiffres vont changer",
        "no_control": "Liste {id} : aucun groupe témoin enregistré, son effet ne peut pas "
                      "être mesuré.",
        "no_sales": "Liste {id} ({channel}) : aucun achat chargé depuis l'export du {at} ; "
                    "son gain sera mesuré quand les ventes des {days} jours suivants seront "
                    "chargées.",
        "better": "la campagne a fait la différence",
        "worse": "la campagne a fait moins bien que l'absence de contact",
        "chance": "l'écart n'est pas significatif : il peut être dû au hasard",
        "lift": "Liste {id} ({channel}) : {r1} des {n1} clients contactés ont acheté dans "
                "les {days} jours, contre {r0} des {n0} clients témoins — {pts} points ±{ci} "
                "(p = {p}) ; {verdict}.",
    },
}

# the RFM segments' names in each language: the shared presentation package
from prisme.i18n.names import SEGMENT_FR, segment_name  # noqa: E402,F401
