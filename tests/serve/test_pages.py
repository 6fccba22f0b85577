"""The HTML pages: login with CSRF, every page for every role, both languages, refusals."""

from __future__ import annotations

import re

import pytest
from tests.serve.conftest import PASSWORD, login

PAGES = ["/", "/segments", "/value", "/churn", "/offers", "/campaigns", "/forecasts",
         "/satisfaction", "/branches", "/quality", "/cube", "/customers?q=a"]


def test_pages_need_a_login(client):
    r = client.get("/segments", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_form_needs_its_csrf_token(client):
    client.get("/login")
    r = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403


def test_session_cookie_flags(client):
    r = login(client, "ada")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_wrong_password_says_so(client):
    r = login(client, "ada", "not the password")
    assert r.status_code == 401 and "Wrong user name or password" in r.text


@pytest.mark.parametrize("name", ["ada", "max", "ava"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_page_by_role_and_language(client, name, lang):
    assert login(client, name).status_code == 303
    for page in PAGES:
        url = page + ("&" if "?" in page else "?") + f"lang={lang}"
        r = client.get(url)
        company = page in ("/campaigns", "/forecasts", "/satisfaction", "/quality")
        if name == "ava" and company:
            assert r.status_code == 403, url
            continue
        assert r.status_code == 200, (url, r.text[:500])
        assert f'<html lang="{lang}">' in r.text
        assert "Traceback" not in r.text


def test_overview_has_tiles_charts_and_sentences(client):
    login(client, "ada")
    r = client.get("/?lang=fr")
    assert r.text.count('class="tile"') == 6
    assert r.text.count('data-figure=') >= 2
    assert "Chiffre d&#39;affaires" in r.text or "Chiffre d'affaires" in r.text
    assert re.search(r"\d[\u202f\u00a0 ]\d{3}", r.text)  # French digit grouping


def test_pages_of_analyses_not_built_say_so(client, served):
    login(client, "ada")
    for page, table in (("/campaigns", "mart_campaigns"), ("/forecasts", "mart_forecasts")):
        r = client.get(page + "?lang=en")
        if "not in the warehouse yet" in r.text:
            assert table in r.text


def test_card_page_and_refusal(client, served):
    login(client, "ava")
    r = client.get(f"/customers/{served.inside}")
    assert r.status_code == 200
    for word in ("Golden record", "Consent", "Timeline", "CLV"):
        assert word in r.text
    r = client.get(f"/customers/{served.outside}")
    assert r.status_code == 403 and "outside your portfolio" in r.text


def test_card_page_shows_the_newest_events_and_links_to_the_rest(client, served):
    """The page renders the newest TIMELINE_PAGE events of the timeline (in time order) and
    links to every event the card keeps; the API gives them all."""
    import json

    from prisme import engine as engine_mod
    from prisme.serve.app import TIMELINE_PAGE
    from prisme.serve.marts import CARD_EVENTS

    with engine_mod.connect(served.settings, read_only=True) as eng:
        cards = eng.to_pandas(eng.table("mart_card").select("party_id", "card"))
    counts = {p: json.loads(c)["event_count"] or 0
              for p, c in zip(cards.party_id, cards.card, strict=True)}
    busiest = max(counts, key=lambda p: (counts[p], p))
    assert counts[busiest] > TIMELINE_PAGE  # the demo has customers with long timelines
    login(client, "ada")
    r = client.get(f"/customers/{busiest}")
    assert r.status_code == 200
    assert r.text.count('<tr class="k-') == TIMELINE_PAGE
    assert f"The newest {TIMELINE_PAGE} of {counts[busiest]} events." in r.text
    assert 'href="?timeline=all#timeline"' in r.text
    whens = re.findall(r'<tr class="k-[a-z]+"><td data-key="([^"]*)"', r.text)
    assert whens == sorted(whens, reverse=True)
    every = client.get(f"/customers/{busiest}?timeline=all")
    kept = min(counts[busiest], CARD_EVENTS)
    assert every.text.count('<tr class="k-') == kept
    api = client.get(f"/api/v1/customers/{busiest}").json()
    assert len(api["timeline"]) == kept
    shown = [e["at"] for e in api["timeline"][:TIMELINE_PAGE]]
    assert shown == whens


def test_search_is_accent_and_case_insensitive(client, served):
    from prisme import engine as engine_mod

    with engine_mod.connect(served.settings, read_only=True) as eng:
        c = eng.table("customer_360")
        accented = eng.to_pandas(c.filter(c.last_name.re_search("[éèêëàçôî]"))
                                 .select("party_id", "last_name").limit(1))
    assert len(accented)
    name = accented.last_name.iloc[0]
    folded = name.upper().translate(str.maketrans("ÉÈÊËÀÇÔÎ", "EEEEACOI"))
    login(client, "ada")
    api = client.get("/api/v1/customers", params={"q": folded, "page_size": 200})
    assert accented.party_id.iloc[0] in {c["party_id"] for c in api.json()["items"]}
    r = client.get(f"/customers?q={folded.lower()}")
    assert accented.party_id.iloc[0] in r.text


def test_masked_analyst_cannot_search_by_name(client, served):
    login(client, "ana")
    r = client.get(f"/customers?q={served.inside}")
    assert served.inside in r.text
    assert "masked" in r.text.lower() or "masqu" in r.text.lower()


def test_audit_page_is_for_admins(client, served):
    login(client, "max")
    assert client.get("/audit").status_code == 403
    login(client, "ada")
    client.get(f"/customers/{served.inside}")
    r = client.get("/audit")
    assert r.status_code == 200 and "view_customer" in r.text


def test_language_setting_is_kept(client):
    login(client, "max")
    page = client.get("/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/language", data={"lang": "fr", "csrf": csrf, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert '<html lang="fr">' in client.get("/").text
    r = client.post("/language", data={"lang": "en", "csrf": "wrong", "next": "/"})
    assert r.status_code == 403
    client.post("/language", data={"lang": "en", "csrf": csrf, "next": "/"})


def test_plotly_is_served_locally(client):
    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    login(client, "ada")
    assert "cdn" not in client.get("/").text.lower()
