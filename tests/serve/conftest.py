"""One small demo company served to the tests of this folder (built once per session).

Users: an admin, an analyst (personal fields masked), an analyst granted them, the manager of
the largest branch and an advisor of that branch; each has an API token. ``inside`` is a
customer of the advisor; ``outside`` a customer of another branch and another advisor.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from prisme import engine as engine_mod
from prisme.access import users as users_mod
from prisme.config import load_settings

CUSTOMERS = 600
SEED = 5
PASSWORD = "correct horse battery"


@dataclass
class Served:
    root: Path
    settings: object
    branch: str
    advisor: str
    inside: str
    outside: str
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Served:
    from prisme.demo.run import run_demo

    root = tmp_path_factory.mktemp("served") / "demo"
    run_demo(root, customers=CUSTOMERS, seed=SEED)
    settings = load_settings(root)
    with engine_mod.connect(settings, read_only=True) as eng:
        c = eng.table("customer_360")
        c = c.filter(c.branch.notnull() & c.advisor.notnull())
        pairs = eng.to_pandas(c.group_by(["branch", "advisor"]).aggregate(n=c.count()))
        pairs = pairs.sort_values(["n", "branch", "advisor"], ascending=[False, True, True])
        branch, advisor = pairs.iloc[0].branch, pairs.iloc[0].advisor
        inside = eng.to_pandas(c.filter((c.branch == branch) & (c.advisor == advisor))
                               .order_by("party_id").limit(1)).party_id.iloc[0]
        outside = eng.to_pandas(c.filter((c.branch != branch) & (c.advisor != advisor))
                                .order_by("party_id").limit(1)).party_id.iloc[0]
    s = Served(root, settings, branch, advisor, inside, outside)
    users_mod.add_user(root, "ada", PASSWORD, "admin")
    users_mod.add_user(root, "ana", PASSWORD, "analyst")
    users_mod.add_user(root, "anp", PASSWORD, "analyst", personal_data=True)
    users_mod.add_user(root, "max", PASSWORD, "manager", branch=branch)
    users_mod.add_user(root, "ava", PASSWORD, "advisor", advisor=advisor)
    for role, name in ROLE_USERS.items():
        s.tokens[role] = users_mod.new_token(root, name)
    return s


#: the user holding each role in the tests
ROLE_USERS = {"admin": "ada", "analyst": "ana", "analyst_pii": "anp", "manager": "max",
              "advisor": "ava"}


@pytest.fixture(scope="session")
def app(served):
    from prisme.serve.app import create_app

    return create_app(served.settings)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def login(client, name: str, password: str = PASSWORD):
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": name, "password": password, "csrf": token,
                                       "next": "/"}, follow_redirects=False)


@contextlib.contextmanager
def serving(app):
    """``app`` served by uvicorn in a thread on a free port; yields its base URL."""
    import httpx
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            httpx.get(base + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield base
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
