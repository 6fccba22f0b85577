"""The pages in French: words of the data (cluster labels, codes, offers' reasons), the
card's sentences, and refusals told in the reader's language."""

from __future__ import annotations

import datetime as dt
import html

import ibis
from tests.serve.conftest import login

from prisme.i18n.names import cluster_label_name
from prisme.serve import card_text, customers
from prisme.serve.i18n import Translator

FR, EN = Translator("fr"), Translator("en")


def test_cluster_labels_in_french_phrase_by_phrase():
    assert cluster_label_name("rarely buy web, store buyers, rarely on the web", "fr") == \
        "achètent peu en ligne, acheteurs en magasin, peu présents sur le web"
    assert cluster_label_name("one-time buyers, long since last purchase (2)", "fr") == \
        "un seul achat, dernier achat ancien (2)"
    assert cluster_label_name("buy Literie, something new", "fr") == \
        "achètent Literie, something new"  # a phrase it does not know stays as is
    assert cluster_label_name("web buyers", "en") == "web buyers"


def test_timeline_events_in_words_without_repeating_the_channel():
    campaign = {"kind": "campaign", "name": "Soldes d'hiver – sms", "channel": "sms",
                "note": "treatment"}
    assert customers.event_detail(campaign) == "Soldes d'hiver – sms · treatment"
    assert customers.event_detail(campaign, FR.code, "fr") == "Soldes d'hiver – sms · groupe ciblé"
    purchase = {"kind": "purchase", "channel": "store", "n": 1}
    assert customers.event_detail(purchase) == "store · 1 line"
    assert customers.event_detail({**purchase, "n": 3}, FR.code, "fr") == "magasin · 3 lignes"
    call = {"kind": "call", "channel": "inbound", "name": "delivery", "note": "sale"}
    assert customers.event_detail(call, FR.code, "fr") == "entrant · livraison · vente"


def test_offers_reasons_in_french():
    text = ("Literie (bought Cuisine; 38% of its buyers also buy Literie, 1.4× the usual "
            "rate)")
    assert card_text.offer_text(text, "en") == text
    assert card_text.offer_text(text, "fr") == (
        "Literie (a acheté Cuisine ; 38\u00a0% de ses acheteurs achètent aussi Literie, "
        "1,4× le taux habituel)")
    assert card_text.offer_text("Something else", "fr") == "Something else"


def _value(**kw):
    base = {"orders": 15, "first_purchase_at": "2023-12-25T10:00:00",
            "last_purchase_at": "2025-03-08T10:00:00", "recency_days": 477, "p_alive": 0.0,
            "clv_12m": 0.0, "clv_12m_low": 0.0, "clv_12m_high": 0.0,
            "as_of": dt.date(2026, 6, 28)}
    return {**base, **kw}


def test_the_card_says_why_p_alive_and_the_value_are_zero():
    gone = _value()
    alive = card_text.alive_sentence(gone, EN)
    assert "15 times" in alive and "477 days ago" in alive and "gone" in alive
    assert "win-back" in alive
    assert "parti" in card_text.alive_sentence(gone, FR)
    value = card_text.value_sentence(gone, EN)
    assert "Nothing expected" in value and "0%" in value
    once = _value(orders=1, p_alive=0.4, clv_12m=12.0, clv_12m_low=5.0, clv_12m_high=20.0)
    assert "One purchase only" in card_text.alive_sentence(once, EN)
    assert "second purchase" in card_text.alive_sentence(once, EN)
    assert "90 % interval" in card_text.value_sentence(once, EN)
    none = {"orders": 0, "p_alive": None, "clv_12m": None}
    assert "No purchase yet" in card_text.alive_sentence(none, EN)
    assert "Non calculée" in card_text.value_sentence(none, FR)


def test_a_refusal_is_told_in_french_to_a_french_reader(client, served):
    login(client, "ava")
    r = client.get(f"/customers/{served.outside}?lang=fr")
    assert r.status_code == 403
    assert "Accès refusé" in r.text and "hors de votre portefeuille" in r.text
    assert "Forbidden" not in r.text and "outside your portfolio" not in r.text
    r = client.get(f"/customers/{served.outside}", headers={"accept-language": "en"})
    assert r.status_code == 403 and "outside your portfolio" in r.text
    api = client.get(f"/api/v1/customers/{served.outside}?lang=fr",
                     headers={"Authorization": f"Bearer {served.tokens['advisor']}"})
    assert api.status_code == 403 and "outside your portfolio" in api.json()["detail"]


def test_the_card_page_in_french(client, served):
    login(client, "ada")
    r = client.get(f"/customers/{served.inside}?lang=fr")
    assert r.status_code == 200
    for english in ("line(s)", "treatment", "Forbidden", "rarely on the web", "of its buyers"):
        assert english not in r.text, english


# ------------------------------------------------------------- churn reasons, quality details
#: English of the churn reasons (prisme.i18n.reasons) and of the quality audit's details
#: (prisme.i18n.quality): none may show on a French page
ENGLISH_REASONS = (
    "no purchase for", "usually every", "one purchase only", "purchase in all",
    "purchases in all", "rated the service", "rated the products", "likelihood to recommend",
    "pays invoices", "paid an invoice", "of invoices late", "overdue invoice",
    "complaints in the last", "complaint in the last", "to customer service",
    "of what they bought", "buying rhythm", "customer for ", "to the website",
    "answered ", "has spent", "of margin in all", "per purchase on average",
    "than most customers", "no recent purchase", "longer than usual", "low rating",
)
ENGLISH_DETAILS = (
    "records in the list", "of the 8 fields", "absent from the list", "records with none of",
    "placeholder values", "fail e-mail syntax", "fail phone number", "not in E.164",
    "shape of their country", "not a known country", "outside ages", "after the load",
    "extra records of a customer", "also known to", "days before the audit", "opted in",
    "opted out", "weight 25", "no data: left out",
)


def test_churn_reasons_are_stored_as_codes_and_said_in_both_languages():
    from prisme.i18n import reasons

    raw = ('[{"code":"no_purchase","days":213,"usual_days":42},'
           '{"code":"rated_service","score":2,"month":3},'
           '{"code":"unpaid_overdue","n":1},{"code":"late_invoices","share":0.4}]')
    assert reasons.sentences(raw, "en") == [
        "no purchase for 7 months, usually every 6 weeks", "rated the service 2/10 in March",
        "1 overdue invoice not paid", "paid 40% of invoices late"]
    assert reasons.sentences(raw, "fr") == [
        "aucun achat depuis 7 mois, d'habitude un achat toutes les 6 semaines",
        "a noté le service 2/10 en mars", "1 facture échue impayée",
        "a payé 40\u00a0% de ses factures en retard"]
    # every code is said in both languages, and the French says no English
    for code in reasons.CODES:
        figures = {"code": code, "days": 400, "usual_days": None, "n": 3, "score": 2,
                   "month": 11, "share": 0.25, "p": 0.1, "answered": 0, "contacted": 4,
                   "amount": 1234.5}
        en, fr = reasons.say(figures, "en", "EUR"), reasons.say(figures, "fr", "EUR")
        assert en and fr and en != fr, code
        assert not any(e in fr for e in ENGLISH_REASONS), (code, fr)
        assert "{" not in en + fr and '"code"' not in en + fr, code
    # a warehouse built before the codes: its text is shown as it is
    assert reasons.sentences("recency; frequency", "fr") == ["recency", "frequency"]
    assert reasons.sentences(None) == [] and reasons.text("[]") is None


def test_the_stored_reasons_are_codes_and_figures():
    """What the churn stage writes for one customer (analytics/churn.py DESCRIBE)."""
    import json

    from prisme.analytics import churn
    from prisme.analytics.models.churn import _Row

    row = _Row(days_since_last_purchase=213.4, usual_gap_days=float("nan"), last_nps=3.0,
               last_survey_month=7, late_invoice_share=1 / 3, revenue=1234.567)
    assert json.loads(churn.DESCRIBE["days_since_last_purchase"](row)) == {
        "code": "no_purchase", "days": 213, "usual_days": None}
    assert json.loads(churn.DESCRIBE["last_nps"](row)) == {
        "code": "rated_recommend", "score": 3, "month": 7}
    assert json.loads(churn.DESCRIBE["late_invoice_share"](row)) == {
        "code": "late_invoices", "share": 0.333}
    assert json.loads(churn.DESCRIBE["revenue"](row)) == {"code": "revenue", "amount": 1234.57}
    assert churn.DESCRIBE["last_sat_service"](_Row(last_sat_service=float("nan"))) is None


def test_quality_details_are_said_in_both_languages():
    from prisme.i18n import quality as words

    d = '{"code":"invalid_email","n":1200,"of":15000,"rejected":3}'
    assert words.text(d) == ("1,200 of 15,000 fail e-mail syntax (placeholders apart; 3 in "
                             "rows rejected at load)")
    assert words.text(d, "fr") == (
        "1\u202f200 sur 15\u202f000 ne sont pas des adresses e-mail valides (valeurs factices à "
        "part ; 3 dans des lignes rejetées au chargement)")
    assert words.text("an older text", "fr") == "an older text" and words.text(None) == ""


def _with_reasons(served) -> str:
    from prisme import engine as engine_mod

    with engine_mod.connect(served.settings, read_only=True) as eng:
        c = eng.table("customer_360")
        c = c.filter(c.churn_reasons.notnull())
        return eng.to_pandas(c.order_by(ibis.desc("churn_probability")).select("party_id")
                             .limit(1)).party_id.iloc[0]


def _stored_reasons(served, party: str) -> str:
    from prisme import engine as engine_mod

    with engine_mod.connect(served.settings, read_only=True) as eng:
        c = eng.table("customer_360")
        return eng.to_pandas(c.filter(c.party_id == party).select("churn_reasons")
                             ).churn_reasons.iloc[0]


def _french_page_clean(text: str) -> None:
    for english in ENGLISH_REASONS + ENGLISH_DETAILS:
        assert english not in text, english
    # no stored code shows (JSON as it is stored, or HTML-escaped)
    assert '"code"' not in text and "&#34;code&#34;" not in text and "&quot;code" not in text


def test_french_pages_with_churn_reasons_and_quality_details_say_no_english(client, served):
    from prisme.i18n import reasons

    def page(url: str) -> str:
        r = client.get(url)
        assert r.status_code == 200, url
        return html.unescape(r.text)

    login(client, "ada")
    party = _with_reasons(served)
    card = page(f"/customers/{party}?lang=fr")
    _french_page_clean(card)
    said = reasons.sentences(_stored_reasons(served, party), "fr", "EUR")
    assert said and all(s in card for s in said), said
    churn_page = page("/churn?lang=fr")
    assert "Raisons d'attrition les plus fréquentes" in churn_page
    _french_page_clean(churn_page)
    assert any(v[1] in churn_page for v in reasons.TOPICS.values())
    quality_page = page("/quality?lang=fr")
    assert "Détail de l'audit" in quality_page
    _french_page_clean(quality_page)
    assert " sur " in quality_page and "fiches" in quality_page
    # the same pages in English say the reasons and details in English
    card_en = page(f"/customers/{party}?lang=en")
    assert all(s in card_en for s in reasons.sentences(_stored_reasons(served, party), "en",
                                                       "EUR"))
    assert any(e in page("/quality?lang=en") for e in ENGLISH_DETAILS)


def test_the_calibration_sentence_quotes_the_real_figures(client, served):
    """The churn page said "a predicted risk of x % came true about x % of the time"."""
    from prisme import engine as engine_mod
    from prisme.serve import churn_charts

    with engine_mod.connect(served.settings, read_only=True) as eng:
        cal = eng.to_pandas(eng.table("churn_calibration"))
    cal = cal[cal.version == cal.version.max()]
    predicted, observed, n = churn_charts.calibration_example(cal)
    assert 0 <= predicted <= 1 and 0 <= observed <= 1 and n > 0
    login(client, "ada")
    for lang, t in (("en", EN), ("fr", FR)):
        page = html.unescape(client.get(f"/churn?lang={lang}").text)
        assert "x %" not in page and "x\u00a0%" not in page
        said = (f"{t.number(n)} customers given a risk of about {t.percent(predicted)} left "
                f"{t.percent(observed)} of the time" if lang == "en" else
                f"les {t.number(n)} clients à qui il donnait un risque d'environ "
                f"{t.percent(predicted)} sont partis dans {t.percent(observed)} des cas")
        assert said in page, (lang, said)


def test_the_forecasts_page_says_its_figures_in_french(client, served):
    """mart_forecasts.sentence is English: the page says the backtest from the figures."""
    login(client, "ada")
    page = html.unescape(client.get("/forecasts?lang=fr").text)
    assert "prévision sur les" in page and "s'est trompé de" in page
    for english in ("was off by", "repeating last year", "backtest origins", " of dimension "):
        assert english not in page, english
    assert "was off by" in html.unescape(client.get("/forecasts?lang=en").text)


def test_the_api_card_gives_each_reason_as_code_figures_and_words(client, served):
    """The API's card: each churn reason as its code and figures (for a program) and its
    English sentence (for a person), not the stored JSON text."""
    from prisme.i18n import reasons

    login(client, "ada")
    party = _with_reasons(served)
    r = client.get(f"/api/v1/customers/{party}")
    assert r.status_code == 200
    got = r.json()["churn"]["churn_reasons"]
    stored = reasons.parse(_stored_reasons(served, party))
    assert got and [{k: v for k, v in x.items() if k != "text"} for x in got] == stored
    assert [x["text"] for x in got] == reasons.sentences(_stored_reasons(served, party), "en")
    assert all(x["code"] in reasons.TOPICS and x["text"] for x in got)


#: words of the manager marts' stored English sentences (mart_campaigns, mart_channels,
#: mart_forecasts, mart_advertising, mart_satisfaction) that a French page must not show
ENGLISH_FINDINGS = (
    "beats no contact", "does worse than", "not significantly better", "cannot be measured",
    "contacted over", " contacted, ", "converted (", "Return on its cost", "no control group",
    "control group next time", "was off by", "repeating last year", "backtest origins",
    "No forecast", "each euro spent", "spent goes with", "no clear link", "correlational",
    "Correlational", "carries ", "into the next week", "survey answers the NPS",
    "goes with recommendation", "standard deviation", "less likely to leave",
    "No survey item", "move together", "distinct feelings", "weekly revenue",
)
MANAGER_MARTS = ("mart_campaigns", "mart_channels", "mart_forecasts", "mart_advertising",
                 "mart_satisfaction")


def _stored_sentences(served) -> dict[str, list[str]]:
    from prisme import engine as engine_mod

    out = {}
    with engine_mod.connect(served.settings, read_only=True) as eng:
        for name in MANAGER_MARTS:
            if eng.has_table(name):
                df = eng.to_pandas(eng.table(name).select("sentence", "findings"))
                out[name] = df
    return out


def test_manager_pages_in_french_say_the_findings_and_no_english_sentence(client, served):
    """The campaigns (channels, campaigns, advertising), forecasts and satisfaction pages say
    each mart's findings in French; none of the stored English sentences shows."""
    from prisme.i18n import findings as words

    stored = _stored_sentences(served)
    assert set(stored) == set(MANAGER_MARTS), set(stored)  # the demo builds all five
    login(client, "ada")
    pages = {}
    for path in ("/campaigns", "/forecasts", "/satisfaction"):
        r = client.get(path + "?lang=fr")
        assert r.status_code == 200, path
        pages[path] = html.unescape(r.text)
        _french_page_clean(pages[path])
        for english in ENGLISH_FINDINGS:
            assert english not in pages[path], (path, english)
    for name, df in stored.items():
        for sentence in df.sentence.dropna():
            for page in pages.values():
                assert sentence not in page, (name, sentence)
        assert df.findings.notna().any(), name
    # what the French pages say is the findings in French
    campaigns = pages["/campaigns"]
    for raw in stored["mart_channels"].findings:
        assert words.text(raw, "fr", "EUR") in campaigns
    assert "Ce qu'ont donné les campagnes" in campaigns
    for raw in stored["mart_advertising"].findings:
        assert words.text(raw, "fr", "EUR") in campaigns
    assert "Simple corrélation" in campaigns
    satisfaction = pages["/satisfaction"]
    said = words.sentences(stored["mart_satisfaction"].findings.iloc[0], "fr", "EUR")
    assert said and all(s in satisfaction for s in said)
    assert "Ce qui fait la satisfaction" in satisfaction
    assert "s'est trompé de" in pages["/forecasts"]
    # in English the same pages say the findings in English
    en = html.unescape(client.get("/campaigns?lang=en").text)
    for raw in stored["mart_channels"].findings:
        assert words.text(raw, "en", "EUR") in en
    assert "What drives satisfaction" in html.unescape(client.get("/satisfaction?lang=en").text)


def test_the_api_gives_findings_as_codes_figures_and_english(client, served):
    from prisme.i18n import findings as words

    stored = _stored_sentences(served)
    login(client, "ada")
    for path, key, mart in (("/api/v1/campaigns", "channels", "mart_channels"),
                            ("/api/v1/advertising", "advertising", "mart_advertising"),
                            ("/api/v1/satisfaction", "satisfaction", "mart_satisfaction")):
        r = client.get(path)
        assert r.status_code == 200, path
        rows = r.json()[key]
        assert rows and all(isinstance(x["findings"], list) for x in rows)
        first = rows[0]["findings"]
        assert first and all(f["code"] in words.CODES and f["sentence"] for f in first)
        assert [{k: v for k, v in f.items() if k != "sentence"} for f in first] in [
            words.parse(x) for x in stored[mart].findings]
        assert isinstance(rows[0]["sentence"], str)  # the English sentence is kept
