"""Every API route × every role, checked against a rights table kept here.

The table says what each role gets from each route (``ok`` = 200, ``deny`` = 403); a request
without a token gets 401. On top of the status, the rows a scoped user receives are checked to
lie inside their portfolio, and an analyst without the grant gets no personal field.
"""

from __future__ import annotations

import pytest
from tests.serve.conftest import ROLE_USERS

ROLES = tuple(ROLE_USERS)
OK, DENY = 200, 403

#: route → expected status per role (admin, analyst, analyst_pii, manager, advisor)
RIGHTS = {
    "/api/v1/me":                            (OK, OK, OK, OK, OK),
    "/api/v1/customers?q=":                  (OK, OK, OK, OK, OK),
    "/api/v1/customers/{inside}":            (OK, OK, OK, OK, OK),
    "/api/v1/customers/{outside}":           (OK, OK, OK, DENY, DENY),
    "/api/v1/segments":                      (OK, OK, OK, OK, OK),
    "/api/v1/scores":                        (OK, OK, OK, OK, OK),
    "/api/v1/campaigns":                     (OK, OK, OK, OK, DENY),
    "/api/v1/forecasts":                     (OK, OK, OK, OK, DENY),
    "/api/v1/advertising":                   (OK, OK, OK, OK, DENY),
    "/api/v1/satisfaction":                  (OK, OK, OK, OK, DENY),
    "/api/v1/quality":                       (OK, OK, OK, OK, DENY),
    "/api/v1/cube?measures=revenue,customers&dimensions=year,branch": (OK, OK, OK, OK, OK),
    "/api/v1/cube?measures=clv,churn_risk&dimensions=advisor": (OK, OK, OK, OK, OK),
    "/api/v1/cube/model":                    (OK, OK, OK, OK, OK),
}


def test_every_api_route_is_in_the_rights_table(app):
    routes = {r.path for r in app.routes if getattr(r, "path", "").startswith("/api/v1/")
              and r.path != "/api/v1/openapi.json"}
    covered = {p.split("?")[0].replace("{inside}", "{party_id}").replace("{outside}",
                                                                          "{party_id}")
               for p in RIGHTS}
    assert routes == covered


@pytest.mark.parametrize("route", list(RIGHTS))
@pytest.mark.parametrize("role", ROLES)
def test_route_by_role(client, served, route, role):
    url = route.format(inside=served.inside, outside=served.outside)
    resp = client.get(url, headers={"Authorization": f"Bearer {served.tokens[role]}"})
    expected = RIGHTS[route][ROLES.index(role)]
    assert resp.status_code == expected, (role, url, resp.text[:300])
    if expected == DENY:
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        assert body["status"] == 403 and body["detail"]
        return
    _check_scope(resp.json(), route, role, served)


def _rows(body: dict, route: str) -> list[dict]:
    if route.startswith("/api/v1/customers?") or route == "/api/v1/scores":
        return body["items"]
    if route.startswith("/api/v1/cube?"):
        return body["rows"]
    return []


def _check_scope(body, route, role, served):
    if route.startswith("/api/v1/customers?"):
        assert set(body) >= {"items", "total", "page"}
        assert body["total"] >= len(body["items"]) > 0
    for row in _rows(body, route):
        if role == "manager" and "branch" in row:
            assert row["branch"] == served.branch
        if role == "advisor":
            if "advisor" in row:
                assert row["advisor"] == served.advisor
            if "branch" in row and route.startswith("/api/v1/customers?"):
                assert row["advisor"] == served.advisor
        if role == "analyst":
            for f in ("first_name", "last_name", "email", "phone"):
                assert row.get(f) is None
    if route.startswith("/api/v1/customers/"):
        golden = {f["field"]: f["value"] for f in body["golden_record"]}
        if role == "analyst":
            assert golden["last_name"] is None and golden["email"] is None
        elif role in ("admin", "analyst_pii"):
            assert golden["last_name"] or golden["first_name"] or golden["company"]
        if role == "advisor":
            assert golden["advisor"] == served.advisor
        assert body["party_id"] in (served.inside, served.outside)


@pytest.mark.parametrize("route", list(RIGHTS))
def test_no_token_is_401(client, served, route):
    url = route.format(inside=served.inside, outside=served.outside)
    resp = client.get(url)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    bad = client.get(url, headers={"Authorization": "Bearer prisme_not-a-token"})
    assert bad.status_code == 401


def test_scoped_totals_are_smaller_and_nested(client, served):
    """An advisor's customers ⊂ the manager's branch ⊂ everyone (same search, all rows)."""
    totals = {}
    for role in ("admin", "manager", "advisor"):
        r = client.get("/api/v1/customers?q=&page_size=1",
                       headers={"Authorization": f"Bearer {served.tokens[role]}"})
        totals[role] = r.json()["total"]
    assert totals["admin"] > totals["manager"] >= totals["advisor"] > 0


def test_card_views_and_refusals_are_audited(client, served):
    from prisme.access import audit

    h = {"Authorization": f"Bearer {served.tokens['advisor']}"}
    assert client.get(f"/api/v1/customers/{served.inside}", headers=h).status_code == 200
    assert client.get(f"/api/v1/customers/{served.outside}", headers=h).status_code == 403
    seen = audit.events(served.root, actor="ava", limit=10)
    assert any(e["action"] == "view_customer" and e["subject"] == served.inside for e in seen)
    assert any(e["action"] == "refused_customer" and e["subject"] == served.outside
               for e in seen)


def test_unknown_customer_is_404_problem(client, served):
    r = client.get("/api/v1/customers/P99999999",
                   headers={"Authorization": f"Bearer {served.tokens['admin']}"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_openapi_lists_the_routes(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/customers", "/api/v1/customers/{party_id}", "/api/v1/cube",
                 "/api/v1/segments", "/api/v1/scores", "/api/v1/campaigns",
                 "/api/v1/forecasts", "/api/v1/quality"):
        assert path in spec["paths"]


def test_a_card_whose_view_cannot_be_logged_is_not_sent(client, served):
    """A card is sent only once its view is in the audit log: a failing log answers 503,
    without the customer's data, on the page and the API (not a bare 500)."""
    import sqlite3

    from prisme.access import audit

    h = {"Authorization": f"Bearer {served.tokens['admin']}"}
    ok = client.get(f"/api/v1/customers/{served.inside}", headers=h)
    assert ok.status_code == 200 and ok.json()["party_id"] == served.inside
    con = sqlite3.connect(audit.access_path(served.root), timeout=30)
    con.execute("CREATE TRIGGER refuse_views BEFORE INSERT ON audit_log "
                "WHEN NEW.action = 'view_customer' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    con.commit()
    try:
        r = client.get(f"/api/v1/customers/{served.inside}", headers=h)
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "audit log" in r.json()["detail"] and "golden_record" not in r.text
        page = client.get(f"/customers/{served.inside}?lang=en", headers=h)
        assert page.status_code == 503
        assert "golden" not in page.text.lower() and "audit log" in page.text
    finally:
        con.execute("DROP TRIGGER refuse_views")
        con.commit()
        con.close()
    assert client.get(f"/api/v1/customers/{served.inside}", headers=h).status_code == 200
