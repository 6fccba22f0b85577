"""The pages an advisor and a manager read, in a real browser, in English and in French:
the churn reasons, the quality details and the manager marts' findings (campaigns, channels,
advertising, forecasts, satisfaction) in the reader's language, never the stored codes.
Screenshots go to ``tests/serve/_screenshots/`` (``{role}-{page}-{lang}.png``)."""

from __future__ import annotations

import ibis
import pytest
from tests.serve.test_browser import _charts_drawn, _login, _shot, browser, server  # noqa: F401
from tests.serve.test_french import ENGLISH_DETAILS, ENGLISH_FINDINGS, ENGLISH_REASONS

from prisme import engine as engine_mod

pytestmark = pytest.mark.usefixtures("server")


def _scored_customer(served, **where) -> str:
    with engine_mod.connect(served.settings, read_only=True) as eng:
        c = eng.table("customer_360")
        c = c.filter(c.churn_reasons.notnull())
        for k, v in where.items():
            c = c.filter(c[k] == v)
        return eng.to_pandas(c.order_by(ibis.desc("churn_probability")).select("party_id")
                             .limit(1)).party_id.iloc[0]


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("role", ["manager", "advisor"])
def test_pages_of_a_manager_and_an_advisor_in_their_language(server, browser,  # noqa: F811
                                                             served, role, lang):
    user, where = {"manager": ("max", {"branch": served.branch}),
                   "advisor": ("ava", {"advisor": served.advisor})}[role]
    party = _scored_customer(served, **where)
    ctx = browser.new_context(viewport={"width": 1366, "height": 900},
                              locale="fr-FR" if lang == "fr" else "en-GB")
    page = ctx.new_page()
    _login(page, server, user)
    for path in ["/", "/segments", "/churn", "/quality", f"/customers/{party}"]:
        resp = page.goto(server + path)
        if path == "/quality" and role == "advisor":
            assert resp.status in (200, 403), path  # company-wide: not for an advisor
        else:
            assert resp.status == 200, path
        _charts_drawn(page)
        name = path.strip("/").split("/")[0] or "overview"
        _shot(page, f"{role}-{name}-{lang}")
        text = page.inner_text("main")
        assert '"code"' not in text, path
        if lang == "fr":
            for english in ENGLISH_REASONS + ENGLISH_DETAILS:
                assert english not in text, (path, english)
    ctx.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_manager_pages_of_results_in_their_language(server, browser, lang):  # noqa: F811
    """Campaigns and channels (with advertising), forecasts and satisfaction, as a manager
    reads them: the findings in sentences of the reader's language."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 900},
                              locale="fr-FR" if lang == "fr" else "en-GB")
    page = ctx.new_page()
    _login(page, server, "max")
    heading = {"/campaigns": ("What the channels did", "Ce qu'ont donné les canaux"),
               "/forecasts": ("was off by", "s'est trompé de"),
               "/satisfaction": ("What drives satisfaction", "Ce qui fait la satisfaction")}
    for path, words in heading.items():
        resp = page.goto(server + path)
        assert resp.status == 200, path
        _charts_drawn(page)
        _shot(page, f"manager-{path.strip('/')}-{lang}")
        text = page.inner_text("main")
        assert '"code"' not in text, path
        assert words[lang == "fr"] in text, (path, words)
        if lang == "fr":
            for english in ENGLISH_FINDINGS:
                assert english not in text, (path, english)
    ctx.close()
