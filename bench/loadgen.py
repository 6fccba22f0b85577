"""A light load generator for ``bench/serve.py``: one process per client, standard library only.

    python bench/loadgen.py < job.json > latencies.json

The job (JSON on standard input): ``host``, ``port``, ``cookie`` (the client's session
cookie), ``kind`` (a scenario of :func:`scenario_url`), ``sample`` (the ids, names, years and
branches the URLs are drawn from), ``seed``, ``start`` and ``stop`` (``time.time()`` values:
every client starts at the same instant). The client keeps one HTTP/1.1 keep-alive
connection (``http.client``), sends one request at a time (a closed loop, like a user
waiting for each page) and times each one end to end: from sending the request to having
read the whole body. It prints ``{"latencies": [seconds…], "errors": n, "cpu_s": s}`` (its
own CPU time during the run).

Why: the bench's first client was threads of the bench process using httpx, on the same two
cores as the server; httpx costs ~1 ms of CPU per request and the threads share one GIL,
so at 20 clients part of each measured latency was the client's own queue. Here each client
is its own process and a request costs it ~0.1–0.2 ms of CPU (see bench/RESULTS.md, both
clients in the same run).
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import time


def scenario_url(kind: str, s: dict, rng: random.Random) -> str:
    """The URL of one request of scenario ``kind`` (``overview``, ``card``, ``search``,
    ``cube``) drawn with ``rng`` from the sample ``s``."""
    if kind == "overview":
        return "/"
    if kind == "card":
        return f"/customers/{rng.choice(s['parties'])}"
    if kind == "search":
        return f"/api/v1/customers?q={rng.choice(s['names'])[:5].lower()}"
    year, branch = rng.choice(s["years"]), rng.choice(s["branches"])
    return ("/api/v1/cube?measures=revenue,orders,customers&dimensions=quarter,channel,"
            f"rfm_segment&filters=year:{year};branch:{branch}")


def _quote(url: str) -> str:
    from urllib.parse import quote

    return quote(url, safe="/?&=:;,")


def run(job: dict) -> dict:
    rng = random.Random(job["seed"])
    headers = {"Cookie": job["cookie"], "Connection": "keep-alive"}
    conn = http.client.HTTPConnection(job["host"], job["port"], timeout=120)
    lat: list[float] = []
    errors = 0
    delay = job["start"] - time.time()
    if delay > 0:
        time.sleep(delay)
    stop = job["stop"]
    cpu0 = time.process_time()
    while time.time() < stop:
        url = _quote(scenario_url(job["kind"], job["sample"], rng))
        t0 = time.perf_counter()
        try:
            conn.request("GET", url, headers=headers)
            r = conn.getresponse()
            r.read()
            status = r.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(job["host"], job["port"], timeout=120)
            status = 0
        lat.append(time.perf_counter() - t0)
        if status != 200:
            errors += 1
    cpu = time.process_time() - cpu0
    conn.close()
    return {"latencies": lat, "errors": errors, "cpu_s": cpu}


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
