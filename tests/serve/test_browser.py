"""The dashboard in a real browser (Playwright driving Debian's Chromium).

A manager logs in, sees the overview with its charts drawn, searches a customer, opens the
card and drills down in the cube; an advisor is refused a customer outside their portfolio by
the page, the API and the cube. Every page is photographed in English and in French into
``tests/serve/_screenshots/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from tests.serve.conftest import PASSWORD, serving

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "_screenshots"
PAGES = ["/", "/segments", "/value", "/churn", "/offers", "/campaigns", "/forecasts",
         "/satisfaction", "/branches", "/quality", "/cube?measures=revenue,margin,customers&dimensions=year,channel",
         "/customers?q=a"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                                reason="Debian's chromium is not installed "
                                       "(apt-get install -y chromium)")


@pytest.fixture(scope="module")
def server(app):
    with serving(app) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _login(page, base, name):
    page.goto(base + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def _charts_drawn(page):
    page.wait_for_function(
        "document.querySelectorAll('div.chart').length === "
        "document.querySelectorAll('div.chart[data-drawn]').length", timeout=20_000)
    return page.locator("div.chart .main-svg").count()


def _shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_manager_journey(server, browser, served):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = ctx.new_page()
    _login(page, server, "max")
    assert page.locator(".tile").count() == 6
    assert _charts_drawn(page) >= 2
    assert served.branch in page.inner_text("main")
    # search from the header box, accent- and case-insensitively, then open the card
    page.fill("header input[name=q]", served.inside.lower())
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/customers?q=*")
    page.click(f"a[href='/customers/{served.inside}']")
    page.wait_for_url(f"**/customers/{served.inside}")
    text = page.inner_text("main")
    for word in ("Golden record", "Consent", "Timeline", "CLV"):
        assert word in text
    _shot(page, "manager-card-en")
    # the cube: revenue by year, drill down into the last year's quarters, then roll up
    page.goto(server + "/cube?measures=revenue,orders&dimensions=year")
    _charts_drawn(page)
    links = page.locator("table.cube-result a.drill.down")
    assert links.count() >= 1
    year = links.last.inner_text().split()[0]
    links.last.click()
    page.wait_for_url("**dimensions=quarter**")
    quarters = page.locator("table.cube-result tbody tr")
    assert quarters.count() >= 1
    assert all(q.startswith(year) for q in page.locator(
        "table.cube-result tbody td:first-child").all_inner_texts())
    _shot(page, "manager-cube-drilled-en")
    page.click("a.drill.up")
    page.wait_for_url("**dimensions=year**")
    # sorting a table by clicking its header
    page.goto(server + "/branches")
    header = page.locator("table.data th", has_text="Revenue").first
    header.click()
    assert header.get_attribute("aria-sort") in ("ascending", "descending")
    ctx.close()


def test_advisor_is_refused_outside_their_portfolio(server, browser, served):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    page = ctx.new_page()
    _login(page, server, "ava")
    assert '<html lang="fr">' in page.content()
    resp = page.goto(f"{server}/customers/{served.outside}")
    assert resp.status == 403
    main = page.inner_text("main")  # a French reader is told why in French
    assert "hors de votre portefeuille" in main and "Accès refusé" in main
    assert "outside your portfolio" not in main and "Forbidden" not in main
    _shot(page, "advisor-refused-fr")
    resp = page.goto(f"{server}/customers/{served.inside}")
    assert resp.status == 200
    # the cube refuses a slice of another advisor
    resp = page.goto(f"{server}/cube?measures=revenue&dimensions=year&filters=advisor:Someone")
    assert resp.status == 403
    # and the API, with the advisor's token
    api = httpx.get(f"{server}/api/v1/customers/{served.outside}",
                    headers={"Authorization": f"Bearer {served.tokens['advisor']}"})
    assert api.status_code == 403
    api = httpx.get(f"{server}/api/v1/cube", params={"measures": "revenue",
                                                      "dimensions": "year",
                                                      "filters": "advisor:Someone"},
                    headers={"Authorization": f"Bearer {served.tokens['advisor']}"})
    assert api.status_code == 403
    ctx.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_screenshots_of_every_page(server, browser, served, lang):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900},
                              locale="fr-FR" if lang == "fr" else "en-GB")
    page = ctx.new_page()
    page.goto(server + "/login")
    _shot(page, f"login-{lang}")
    _login(page, server, "ada")
    for path in [*PAGES, f"/customers/{served.inside}", "/audit"]:
        resp = page.goto(server + path)
        assert resp.status == 200, path
        _charts_drawn(page)
        name = path.strip("/").split("?")[0].replace("/", "-") or "overview"
        _shot(page, f"{name}-{lang}")
        assert f'lang="{lang}"' in page.content()
    tablet = browser.new_context(viewport={"width": 820, "height": 1180},
                                 locale="fr-FR" if lang == "fr" else "en-GB")
    tp = tablet.new_page()
    _login(tp, server, "ada")
    _charts_drawn(tp)
    _shot(tp, f"overview-tablet-{lang}")
    tablet.close()
    ctx.close()
