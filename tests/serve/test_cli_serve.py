"""``prisme serve`` and the demo logins ``prisme demo`` prints."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from prisme.access import users as users_mod


def test_demo_users_have_a_portfolio(served):
    from prisme.serve.run import DEMO_PASSWORD, demo_users

    logins = demo_users(served.settings)
    assert [x[0] for x in logins] == ["admin", "manager", "advisor"]
    manager = users_mod.authenticate(served.root, "manager", DEMO_PASSWORD)
    advisor = users_mod.authenticate(served.root, "advisor", DEMO_PASSWORD)
    assert manager.role == "manager" and manager.branch
    assert advisor.role == "advisor" and advisor.advisor
    assert manager.branch in logins[1][2] and advisor.advisor in logins[2][2]


def test_prisme_serve_answers(served):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "prisme.cli", "serve", "--project",
                             str(served.root), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                r = httpx.get(base + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert r.status_code == 200 and 'name="username"' in r.text
        api = httpx.get(base + "/api/v1/segments",
                        headers={"Authorization": f"Bearer {served.tokens['manager']}"})
        assert api.status_code == 200 and api.json()["rfm_segments"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out


def test_a_project_without_a_build_says_so(tmp_path):
    from fastapi.testclient import TestClient

    from prisme.config import load_settings
    from prisme.serve.app import create_app

    (tmp_path / "prisme.toml").write_text('[project]\nname = "empty"\n')
    users_mod.add_user(tmp_path, "ada", "password-123", "admin")
    token = users_mod.new_token(tmp_path, "ada")
    with TestClient(create_app(load_settings(tmp_path))) as client:
        r = client.get("/api/v1/segments", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "prisme" in r.json()["detail"]
