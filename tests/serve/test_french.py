"""The pages in French: words of the data (cluster labels, codes, offers' reasons), the
card's sentences, and refusals told in the reader's language."""

from __future__ import annotations

import datetime as dt

from tests.serve.conftest import login

from prisme.analytics.clusters import cluster_label_name
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
