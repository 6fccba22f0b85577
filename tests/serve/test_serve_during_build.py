"""The application keeps answering while ``prisme ingest`` and ``prisme build`` run in another
process, and shows the new data once they have published it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import httpx
import pytest
from tests.serve.conftest import serving

from prisme.access import users as users_mod
from prisme.config import load_settings

CUSTOMERS = 300
LATE = "sources/crm/ventes/ventes_2026-06.csv"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from prisme.build import build
    from prisme.demo import generate
    from prisme.ingest import ingest

    root = tmp_path_factory.mktemp("during") / "demo"
    generate(customers=CUSTOMERS, seed=3, directory=root)
    held = root.parent / "held.csv"
    shutil.move(root / LATE, held)  # this month's sales arrive later
    settings = load_settings(root)
    ingest(settings)
    build(settings)
    users_mod.add_user(root, "ada", "password-123", "admin")
    return root, held, users_mod.new_token(root, "ada")


def _june(client, base) -> float:
    r = client.get(base + "/api/v1/cube", params={"measures": "revenue",
                                                  "dimensions": "month",
                                                  "filters": "year:2026"})
    assert r.status_code == 200, r.text
    return sum(row["revenue"] for row in r.json()["rows"] if row["month"] == "2026-06")


@pytest.mark.slow
def test_requests_are_answered_during_a_build_and_new_data_appears(project):
    root, held, token = project
    from prisme.serve.app import create_app

    with serving(create_app(load_settings(root))) as base, \
            httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        before = _june(client, base)
        shutil.move(held, root / LATE)
        cmd = (f"{sys.executable} -m prisme.cli ingest --project {root} && "
               f"{sys.executable} -m prisme.cli build --project {root}")
        log = open(root.parent / "writer.log", "w+")  # noqa: SIM115 - read after the run
        writer = subprocess.Popen(["bash", "-c", cmd], stdout=log, stderr=subprocess.STDOUT,
                                  text=True)
        statuses, during = [], 0
        urls = ["/api/v1/customers?q=a", "/api/v1/cube?measures=revenue&dimensions=year",
                "/api/v1/segments", "/api/v1/quality"]
        i = 0
        while writer.poll() is None:
            r = client.get(base + urls[i % len(urls)])
            statuses.append(r.status_code)
            during += 1
            i += 1
            time.sleep(0.05)
        log.seek(0)
        out = log.read()
        log.close()
        assert writer.returncode == 0, out[-2000:]
        assert during >= 5, "the build ended before the application was asked anything"
        assert set(statuses) == {200}, [s for s in statuses if s != 200][:5]
        # the new month appears once the build has published (the next request reopens)
        deadline = time.time() + 30
        after = _june(client, base)
        while after <= before and time.time() < deadline:
            time.sleep(0.5)
            after = _june(client, base)
        assert after > before
