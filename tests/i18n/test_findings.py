"""The manager-stage findings (campaigns, channels, forecasts, advertising, satisfaction) said
in English and in French, numbers, money and percentages as each language writes them; every
code an analysis writes is one this module says."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from prisme.analytics.findings import encode, finding
from prisme.i18n import findings as F

NNBSP, NBSP = "\u202f", "\u00a0"  # French digit grouping, before % and €

#: one example of every code, and (a part of) what each language says
EXAMPLES = {
    "beats": ({"code": "beats", "channel": "email", "lift": 0.021, "low": 0.015,
               "high": 0.027, "p": 0.0003},
              "E-mail beats no contact by 2.1 points of conversion, ±0.6 (adjusted p < 0.001).",
              "Le canal e-mail fait mieux que l'absence de contact : +2,1 points de conversion, "
              "à ±0,6 près (p ajusté < 0,001)."),
    "worse": ({"code": "worse", "campaign": "C07", "name": "Relance été", "lift": -0.012,
               "low": -0.017, "high": -0.007, "p": 0.012},
              "C07 (Relance été) does worse than no contact by 1.2 points of conversion, ±0.5 "
              "(adjusted p = 0.012): contacting these customers costs sales",
              "La campagne C07 (Relance été) fait moins bien que l'absence de contact : "
              "−1,2 point de conversion, à ±0,5 près (p ajusté = 0,012). Contacter ces clients "
              "fait perdre des ventes : arrêtez ou revoyez le ciblage."),
    "not_significant": ({"code": "not_significant", "channel": "post", "lift": 0.004,
                         "low": -0.005, "high": 0.013, "p": 0.62},
                        "Post is not significantly better than no contact on conversion "
                        "(+0.4 points, ±0.9; adjusted p = 0.62): keep a control group",
                        "Le canal courrier ne fait pas significativement mieux que l'absence de "
                        "contact sur la conversion (+0,4 point, à ±0,9 près ; p ajusté = 0,62) : "
                        "gardez un groupe témoin"),
    "not_measurable": ({"code": "not_measurable", "channel": "sms"},
                       "SMS: the effect on conversion cannot be measured.",
                       "Le canal SMS : l'effet sur la conversion ne peut pas être mesuré."),
    "responses": ({"code": "responses", "contacted": 5200, "converted": 312, "rate": 0.06},
                  "5,200 contacted, 312 converted (6.0%).",
                  f"5{NNBSP}200 clients contactés, 312 ont acheté (6,0{NBSP}%)."),
    "no_contact_recorded": ({"code": "no_contact_recorded"}, "No contact recorded.",
                            "Aucun contact enregistré."),
    "roi": ({"code": "roi", "roi": 12.5, "established": True},
            "Return on its cost: +1,250%.",
            f"Retour sur investissement : +1{NNBSP}250{NBSP}%."),
    "left_out": ({"code": "left_out", "without_control": 2, "campaigns": 5},
                 "(2 of its 5 campaigns had no control group and are left out of the lift.)",
                 "(2 de ses 5 campagnes n'avaient pas de groupe témoin : elles sont exclues du "
                 "calcul du gain.)"),
    "no_control": ({"code": "no_control", "campaign": "C03", "name": None, "contacted": 1200,
                    "converted": 40, "rate": 0.0333},
                   "C03: 1,200 contacted, 40 converted (3.3%). It had no control group, so its "
                   "effect cannot be measured",
                   f"La campagne C03 : 1{NNBSP}200 clients contactés, 40 ont acheté "
                   f"(3,3{NBSP}%). Sans groupe témoin, son effet ne peut pas être mesuré"),
    "channel_no_control": ({"code": "channel_no_control", "channel": "sms", "contacted": 800,
                            "campaigns": 1},
                           "SMS: 800 contacted over 1 campaign, none with a control group",
                           "Le canal SMS : 800 clients contactés en 1 campagne, aucune avec un "
                           "groupe témoin"),
    "backtest": ({"code": "backtest", "model": "airline (log)", "mape": 4.23, "mase": 0.7,
                  "base_mape": 6.1, "base_mase": 0.9, "folds": 3, "better": True},
                 "The chosen model, airline (log), was off by 4.2% on average over the last 3 "
                 "backtests (repeating last year: 6.1%) — better than repeating last year.",
                 f"Le modèle retenu, airline sur le log, s'est trompé de 4,2{NBSP}% en moyenne sur "
                 "les 3 derniers tests rétrospectifs (répéter l'an dernier : 6,1" + NBSP + "%) "
                 "— mieux que de répéter l'an dernier."),
    "too_short": ({"code": "too_short", "n": 14, "needed": 16},
                  "No forecast: 14 months of history, at least 16 needed.",
                  "Pas de prévision : 14 mois d'historique, il en faut au moins 16."),
    "ad_response": ({"code": "ad_response", "channel": "search", "roas": 2.35,
                     "marginal_roas": 0.8, "carry": 0.4, "tested": False},
                    "Search: each €1 spent goes with €2.35 of revenue on average and €0.80 for "
                    "one more €1 at the current level; its effect carries 40% into the next "
                    "week (correlational, not a tested effect). At this level one more €1 "
                    "brings back less than it costs",
                    f"Référencement payant : 1{NBSP}€ dépensé va de pair avec 2,35{NBSP}€ de "
                    f"chiffre d'affaires en moyenne, et 1{NBSP}€ de plus au niveau actuel avec "
                    f"0,80{NBSP}€ ; 40{NBSP}% de son effet se prolonge la semaine suivante "
                    "(simple corrélation, pas un effet testé). À ce niveau, 1" + NBSP + "€ de "
                    "plus rapporte moins qu'il ne coûte"),
    "ad_no_clear_link": ({"code": "ad_no_clear_link", "channel": "display", "p": 0.34,
                          "tested": True},
                         "Display: no clear link between its spend and revenue (p = 0.34).",
                         "Display : pas de lien net entre ses dépenses et le chiffre d'affaires "
                         "(p = 0,34)."),
    "nps_driver": ({"code": "nps_driver", "answers": 1234, "nps": -12.4, "item": "sat_service",
                    "effect": 0.85, "low": 0.75, "high": 0.95},
                   "Over 1,234 survey answers the NPS is -12. Service satisfaction goes with "
                   "recommendation most: one standard deviation more, +0.85 points of NPS "
                   "answer (±0.10).",
                   f"Sur 1{NNBSP}234 réponses aux enquêtes, le NPS est de −12. C'est la "
                   "satisfaction sur le service qui va le plus de pair avec la recommandation : "
                   "un écart-type de plus, et la note de recommandation bouge de +0,85 point "
                   "(à ±0,10 près)."),
    "no_clear_link": ({"code": "no_clear_link", "items": ["sat_product", "sat_company"]},
                      "No clear link with recommendation once the others are known: product "
                      "satisfaction, satisfaction with the company.",
                      "Pas de lien net avec la recommandation une fois les autres notes "
                      "connues : satisfaction sur les produits, satisfaction envers "
                      "l'entreprise."),
    "churn_driver": ({"code": "churn_driver", "item": "sat_service", "odds": 0.77, "low": 0.65,
                      "high": 0.9},
                     "Customers one standard deviation more satisfied with the service are "
                     "23% less likely to leave (odds ratio 0.77, 0.65–0.90)",
                     f"Les clients plus satisfaits du service (d'un écart-type) ont 23{NBSP}% "
                     "de risque en moins de partir (rapport de cotes 0,77, entre 0,65 et 0,90) "
                     ": c'est le levier à travailler en priorité"),
    "no_churn_driver": ({"code": "no_churn_driver"},
                        "No survey item clearly predicts who leaves.",
                        "Aucune question de l'enquête ne permet de prévoir nettement qui part."),
    "one_factor": ({"code": "one_factor", "share": 0.72},
                   "The items move together (one factor carries 72% of their variance)",
                   f"Les notes évoluent ensemble (un seul facteur porte 72{NBSP}% de leur "
                   "variance)"),
    "factors": ({"code": "factors", "n": 2},
                "The items measure 2 distinct feelings; treat them separately.",
                "Les questions mesurent 2 perceptions distinctes : traitez-les séparément."),
}


def test_every_code_has_an_example():
    assert set(EXAMPLES) == set(F.CODES)


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_each_code_in_english_and_in_french(code):
    f, en, fr = EXAMPLES[code]
    said_en, said_fr = F.say(f, "en", "EUR"), F.say(f, "fr", "EUR")
    assert en in said_en, said_en
    assert fr in said_fr, said_fr
    assert said_en != said_fr
    assert "{" not in said_en + said_fr and "None" not in said_en + said_fr


def test_stored_text_round_trips_through_the_analytics_encoder():
    stored = encode([finding("beats", channel="email", lift=0.0213456789, low=0.015,
                             high=0.027, p=float("nan")),
                     finding("roi", roi=1.4, established=True)])
    assert stored.startswith('[{"code":"beats","channel":"email","lift":0.0213457,')
    assert '"p":null' in stored
    said = F.sentences(stored, "fr", "EUR")
    assert said[1] == f"Retour sur investissement : +140{NBSP}%."
    # a figure missing: the code and what it has, never a crash
    assert said[0].startswith("beats (")
    assert F.text(stored, "en", "EUR").endswith("Return on its cost: +140%.")


def test_what_is_not_findings_says_nothing():
    for raw in (None, float("nan"), "", "email beats no contact", "[not json", "[]", '{"x":1}'):
        assert F.parse(raw) == [] and F.text(raw, "fr") is None


def test_an_unknown_code_is_said_with_its_figures():
    assert F.say({"code": "new_kind", "n": 3}, "fr") == "new kind (n 3)"


def test_without_a_currency_amounts_are_plain_numbers():
    f = EXAMPLES["ad_response"][0]
    assert F.say(f, "en").startswith("Search: each 1 spent goes with 2.35 of revenue")


def test_names_series_models_and_the_advertising_note():
    assert F.channel_name("email", "fr") == "e-mail" and F.channel_name("post", "fr") == \
        "courrier"
    assert F.channel_name("carrier pigeon", "fr") == "carrier pigeon"
    assert F.series_label("revenue", "channel", "web", "fr") == "Chiffre d'affaires — canal web"
    assert F.series_label("orders", "segment", "at risk", "fr") == "Commandes — segment à risque"
    assert F.series_label("revenue", "segment", "at risk", "en") == \
        "Revenue of segment at risk"
    assert F.series_label("revenue", "total", "all", "fr") == "Chiffre d'affaires"
    assert F.model_name("seasonal naive", "fr") == "naïf saisonnier"
    assert "Simple corrélation" in F.advertising_note("correlational", "fr")
    assert "Correlational" in F.advertising_note("correlational", "en")
    assert F.advertising_outcome("web", "fr") == "chiffre d'affaires hebdomadaire du canal web"
    assert F.advertising_outcome(None, "en") == "weekly revenue"


def test_a_forecast_series_in_a_sentence_with_its_total():
    rows = pd.DataFrame({"series": "revenue", "dimension": "total", "member": "all",
                         "kind": "forecast", "value": [1000.0, 2500.5, 1200.0],
                         "findings": encode([finding("backtest", model="seasonal naive",
                                                     mape=12.34, mase=1.1, base_mape=12.34,
                                                     base_mase=1.1, folds=3, better=False)])})
    fr = F.forecast_sentence(rows, "fr", "EUR", money=True)
    assert fr.startswith(f"Chiffre d'affaires, prévision sur les 3 prochains mois : "
                         f"4{NNBSP}700{NBSP}€. Le modèle retenu, naïf saisonnier, s'est trompé de "
                         f"12,3{NBSP}%")
    assert fr.endswith("pas mieux que de répéter l'an dernier : à lire comme un ordre de "
                       "grandeur.")
    en = F.forecast_sentence(rows, "en", "EUR", money=True)
    assert en.startswith("Revenue, forecast over the next 3 months: €4,700. The chosen "
                         "model, seasonal naive, was off by 12.3%")
    assert F.forecast_sentence(rows.iloc[:0], "fr", label="Commandes") == \
        "Commandes : pas de prévision (historique trop court)."


def test_every_code_the_analyses_write_is_said():
    """The codes written by prisme.analytics (``finding("code", …)`` and the effect codes)
    are all known here: a new code without its sentences fails this test."""
    root = Path(__file__).resolve().parents[2] / "src" / "prisme" / "analytics"
    written = set()
    for path in root.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'finding\(\s*"(\w+)"', text))
        if "def effect_finding" in text:
            written |= set(re.findall(r'code = "(\w+)"', text))
    assert {"beats", "worse", "not_significant", "no_control", "backtest", "ad_response",
            "nps_driver", "too_short"} <= written
    assert written <= set(F.CODES), written - set(F.CODES)


def test_one_campaign_left_out_and_an_effect_that_does_not_carry_over():
    one = {"code": "left_out", "without_control": 1, "campaigns": 17}
    assert F.say(one, "fr") == ("(1 de ses 17 campagnes n'avait pas de groupe témoin : elle est "
                                "exclue du calcul du gain.)")
    assert F.say(one, "en").endswith("had no control group and is left out of the lift.)")
    ad = {**EXAMPLES["ad_response"][0], "carry": 0.0, "marginal_roas": 1.67}
    fr = F.say(ad, "fr", "EUR")
    assert "son effet ne se prolonge pas la semaine suivante" in fr and "0\u00a0%" not in fr
    assert "Une hausse du budget mérite d'être testée" in fr
    assert "does not carry into the next week" in F.say(ad, "en", "EUR")
