"""The application under load: p50/p95 latency of the pages and API users wait on.

    python bench/serve.py --project DIR [--clients 1 20] [--seconds 20] [--workers 2] [--no-cache]
                          [--load processes httpx] [--build-card]

DIR is a built project (``prisme demo --dir DIR --customers N --no-serve``). The server runs in
its own process(es) (``prisme serve --workers W``; result cache on unless ``--no-cache``). The
clients, each logged in as the admin (every customer: the widest scans) with its own
connection, in a closed loop (one request at a time), each request timed end to end, are
either (``--load``, by default both in turn, so that the two can be compared in one run):

* ``processes`` — one process per client running ``bench/loadgen.py`` (``http.client``, one
  keep-alive connection; ~0.1–0.2 ms of CPU per request);
* ``httpx`` — threads of this process with httpx (the bench's first client: ~1 ms of CPU per
  request, and 20 threads share one GIL, so part of a measured latency is the client's own
  queue).

The report gives the server's CPU per request and the clients' (both on the same cores).
Scenarios, each run for ``--seconds`` per client count and client after a warm-up:

* overview — the ``/`` page (six KPI tiles over customer_360, 24 months of trends via the cube);
* card — the ``/customers/{party_id}`` page of a random customer (golden record with sources,
  consent, value, the newest 50 events of the timeline: one row of ``mart_card``), its view
  written to the audit log;
* search — ``/api/v1/customers?q=`` a random surname (accent- and case-insensitive);
* cube — ``/api/v1/cube`` revenue, orders and buying customers by quarter × channel × RFM
  segment, sliced on a random (year, branch): distinct questions, so the cache helps only
  when a question comes back (answered from ``mart_cube_rollup`` when the build made it).

Side by side, what a user would otherwise run: the same card and cube questions as bare SQL on
the published DuckDB file from one Python client (no HTTP, no rights, no rendering, no audit).
The clients share the machine with the server: on a 2-core box they take CPU the server
would otherwise have (the report prints the load average).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from loadgen import scenario_url  # noqa: E402  (bench/, beside this file)

from prisme import engine as engine_mod  # noqa: E402
from prisme.access import users as users_mod  # noqa: E402
from prisme.config import load_settings  # noqa: E402

USER, PASSWORD = "bench-admin", "bench-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(project: Path, port: int, cache: bool, workers: int) -> subprocess.Popen:
    env = {**os.environ, "PRISME_SERVE_CACHE_SIZE": "512" if cache else "0"}
    proc = subprocess.Popen([sys.executable, "-m", "prisme.cli", "serve", "--project",
                             str(project), "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("the server did not start")
    # warm: the server reads the per-customer marts into its engine's cache when it starts
    # ([engine] serve_prewarm); the timed runs begin once it says so (at most 10 minutes)
    for _ in range(3000):
        if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json().get("warm"):
            print(f"server warm {time.perf_counter() - t0:.1f} s after its start", flush=True)
            break
        time.sleep(0.2)
    else:
        print("server not warm after 10 minutes: measuring anyway", flush=True)
    return proc


def login(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=120)
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"username": USER, "password": PASSWORD, "csrf": csrf,
                               "next": "/"})
    assert r.status_code == 303, r.status_code  # redirected to the overview
    return c


def sample(settings, n: int = 2000) -> dict:
    with engine_mod.connect(settings, read_only=True) as eng:
        c = eng.table("customer_360")
        parties = eng.to_pandas(c.select("party_id", "last_name", "branch").limit(200_000))
        years = sorted(eng.to_pandas(eng.table("mart_cube_sales").select(
            y=lambda t: t.ordered_at.year().cast("string")).distinct()).y)
    rng = random.Random(7)
    rows = parties.sample(min(n, len(parties)), random_state=7)
    names = [x for x in rows.last_name.dropna() if len(x) >= 3]
    branches = sorted(parties.branch.dropna().unique())
    return {"parties": list(rows.party_id), "names": names, "years": years,
            "branches": branches, "rng": rng}


def run(base: str, kind: str, clients: int, seconds: float, s: dict, server_pid: int) -> dict:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    sessions = [login(base) for _ in range(clients)]
    for c in sessions[:1]:  # warm-up
        for i in range(3):
            c.get(scenario_url(kind, s, random.Random(i)))
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        rng = random.Random(1000 + i)
        c = sessions[i]
        while time.perf_counter() < stop:
            url = scenario_url(kind, s, rng)
            t0 = time.perf_counter()
            r = c.get(url)
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                if r.status_code != 200:
                    errors[0] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    cpu0, own0 = _cpu_s(server_pid), time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu = (_cpu_s(server_pid) - cpu0, time.process_time() - own0)
    for c in sessions:
        c.close()
    return _summary(kind, clients, "httpx threads", lat, errors[0], wall, cpu)


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")



def _summary(kind, clients, load, lat, errors, wall, cpu) -> dict:
    """Latency quantiles, throughput, and the CPU per request of the server and of the
    clients (``cpu``: their CPU seconds during the timed run)."""
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0]] * 99
    n = max(1, len(lat))
    return {"scenario": kind, "clients": clients, "load": load, "requests": len(lat),
            "errors": errors, "p50_ms": 1000 * q[49], "p95_ms": 1000 * q[94],
            "rps": len(lat) / wall, "server_cpu_ms": 1000 * cpu[0] / n,
            "client_cpu_ms": 1000 * cpu[1] / n}


def run_processes(base: str, kind: str, clients: int, seconds: float, s: dict,
                  server_pid: int) -> dict:
    """The same closed loop with the light client of ``bench/loadgen.py``: one process per
    client, ``http.client`` on one keep-alive connection, each request timed end to end."""
    sessions = [login(base) for _ in range(clients)]
    for i in range(3):  # warm-up, as in :func:`run`
        sessions[0].get(scenario_url(kind, s, random.Random(i)))
    cookies = [f"prisme_session={c.cookies.get('prisme_session')}" for c in sessions]
    for c in sessions:
        c.close()
    host, port = base.removeprefix("http://").split(":")
    sample = {k: v for k, v in s.items() if k != "rng"}
    start = time.time() + 1.0 + 0.1 * clients  # every client started and waiting
    procs = []
    for i in range(clients):
        p = subprocess.Popen([sys.executable, str(Path(__file__).with_name("loadgen.py"))],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        p.stdin.write(json.dumps({"host": host, "port": int(port), "cookie": cookies[i],
                                  "kind": kind, "sample": sample, "seed": 1000 + i,
                                  "start": start, "stop": start + seconds}))
        p.stdin.close()
        procs.append(p)
    time.sleep(max(0.0, start - time.time()))
    cpu0 = _cpu_s(server_pid)
    time.sleep(max(0.0, start + seconds - time.time()))
    server_cpu = _cpu_s(server_pid) - cpu0  # (a request still running at the end: ~0)
    lat, errors, client_cpu = [], 0, 0.0
    for p in procs:
        out = json.loads(p.stdout.read())
        p.wait()
        lat += out["latencies"]
        errors += out["errors"]
        client_cpu += out["cpu_s"]
    return _summary(kind, clients, "processes", lat, errors, seconds,
                    (server_cpu, client_cpu))


def bare(settings, s: dict, n: int = 30) -> dict:
    """The same card and cube questions as plain SQL on the published file (one client)."""
    from prisme.engine import publish

    cur = publish.current(settings.warehouse_path)
    path = (publish.directory(settings.warehouse_path) / cur["file"]) if cur and \
        cur.get("file") else settings.warehouse_path
    con = duckdb.connect(str(path), read_only=True)
    con.execute(f"SET threads = {settings.engine.threads}")
    rng = random.Random(3)
    out = {}
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    if "mart_card" in tables:  # the card's one row, as the application reads it
        card_sql = ["SELECT * FROM mart_card WHERE party_id = ? LIMIT 1"]
    else:  # a build before mart_card: its four lookups
        card_sql = [
            "SELECT * FROM customer_360 WHERE party_id = ?",
            "SELECT * FROM dim_party WHERE party_id = ? AND is_current",
            "SELECT source, source_customer_id FROM party_map WHERE party_id = ?",
            'SELECT * FROM mart_timeline WHERE party_id = ? ORDER BY "at" DESC LIMIT 200',
        ]
        cols = {r[0] for r in con.execute("DESCRIBE dim_party").fetchall()}
        if "is_current" not in cols:
            card_sql[1] = "SELECT * FROM dim_party WHERE party_id = ?"
    lat = []
    for _ in range(n):
        p = rng.choice(s["parties"])
        t0 = time.perf_counter()
        for q in card_sql:
            con.execute(q, [p]).fetchall()
        lat.append(time.perf_counter() - t0)
    out["card"] = lat
    lat = []
    for _ in range(n):
        year, branch = rng.choice(s["years"]), rng.choice(s["branches"])
        t0 = time.perf_counter()
        con.execute(
            "SELECT year(ordered_at) || '-Q' || quarter(ordered_at) AS q, channel, rfm_segment, "
            "sum(revenue), count(DISTINCT order_key), count(DISTINCT party_id) "
            "FROM mart_cube_sales WHERE CAST(year(ordered_at) AS VARCHAR) = ? AND branch = ? "
            "GROUP BY ALL", [year, branch]).fetchall()
        lat.append(time.perf_counter() - t0)
    out["cube"] = lat
    if "mart_cube_rollup" in tables:  # the same question on the build's pre-aggregate
        lat = []
        for _ in range(n):
            year, branch = rng.choice(s["years"]), rng.choice(s["branches"])
            t0 = time.perf_counter()
            con.execute(
                "SELECT quarter, channel, rfm_segment, sum(revenue), sum(orders), "
                "sum(customers) FROM mart_cube_rollup WHERE level = 'quarter' AND by_channel "
                "AND NOT by_category AND year = ? AND branch = ? GROUP BY ALL",
                [year, branch]).fetchall()
            lat.append(time.perf_counter() - t0)
        out["cube_rollup"] = lat
    con.close()
    return {k: 1000 * statistics.median(v) for k, v in out.items()}


def build_card(settings) -> None:
    """``mart_card``, ``mart_search`` and its term index ``mart_search_terms`` alone (not the
    whole serving stage), swapped in, indexed, published: the same steps as the build's
    serving stage."""
    from prisme.serve import marts

    eng = engine_mod.connect(settings)
    try:
        t0 = time.perf_counter()
        with eng.exclusive("bench: mart_card"), eng.publishing("bench: mart_card"):
            n = marts.build_card(eng, marts.CARD + "__building")
            t1 = time.perf_counter()
            _, terms = marts.build_search(eng, marts.SEARCH + "__building",
                                          marts.SEARCH_TERMS + "__building")
            t2 = time.perf_counter()
            with eng.transaction():
                for name in (marts.CARD, marts.SEARCH, marts.SEARCH_TERMS):
                    eng.drop_table(name, force=True)
                    eng.rename_table(name + "__building", name)
                marts.index_card(eng)
                marts.index_search(eng)
            t3 = time.perf_counter()
        print(f"mart_card: {n:,} rows built in {t1 - t0:.1f} s; mart_search and "
              f"mart_search_terms ({terms:,} terms) in {t2 - t1:.1f} s; swapped and indexed "
              f"in {t3 - t2:.1f} s, published in {time.perf_counter() - t3:.1f} s", flush=True)
    finally:
        eng.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, required=True)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 20])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--scenarios", nargs="+", default=["overview", "card", "search", "cube"])
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--load", nargs="+", choices=["processes", "httpx"],
                    default=["processes", "httpx"],
                    help="the clients: processes of bench/loadgen.py (http.client, one per "
                         "client) and/or threads of this process with httpx (the first "
                         "client of this bench); each scenario runs with each, in turn")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--build-card", action="store_true",
                    help="first (re)build mart_card, mart_search and mart_search_terms on the "
                         "project and "
                         "publish them (a copy of a warehouse built by an earlier version), "
                         "printing how long it took")
    args = ap.parse_args()
    settings = load_settings(args.project)
    if args.build_card:
        build_card(settings)
    users_mod.add_user(settings.root, USER, PASSWORD, "admin", replace=True)
    with engine_mod.connect(settings, read_only=True) as eng:
        customers = int(eng.scalar(eng.table("customer_360").count()))
        lines = int(eng.scalar(eng.table("mart_cube_sales").count()))
    s = sample(settings)
    port = _free_port()
    server = start_server(args.project, port, cache=not args.no_cache, workers=args.workers)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for kind in args.scenarios:
            for clients, load in itertools.product(args.clients, args.load):
                if load == "httpx":
                    r = run(base, kind, clients, args.seconds, s, server.pid)
                else:
                    r = run_processes(base, kind, clients, args.seconds, s, server.pid)
                rows.append(r)
                print(f"{kind:9s} {clients:3d} clients ({load:9s}): p50 {r['p50_ms']:8.1f} ms  "
                      f"p95 {r['p95_ms']:8.1f} ms  {r['rps']:7.1f} req/s  "
                      f"({r['requests']} requests, {r['errors']} errors)", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    b = bare(settings, s)
    print(f"\n{customers:,} customers, {lines:,} sale lines; {args.workers} worker(s); cache "
          f"{'off' if args.no_cache else 'on'}; load average {os.getloadavg()[0]:.1f}")
    print("| scenario | clients | client | p50 ms | p95 ms | req/s | errors | server CPU ms/req "
          "| client CPU ms/req | bare DuckDB p50 ms | × bare (p50) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ref = b.get(r["scenario"])
        ratio = f"{r['p50_ms'] / ref:.1f}" if ref and r["clients"] == 1 else ""
        print(f"| {r['scenario']} | {r['clients']} | {r['load']} | {r['p50_ms']:.1f} | "
              f"{r['p95_ms']:.1f} | {r['rps']:.1f} | {r['errors']} | "
              f"{r['server_cpu_ms']:.2f} | {r['client_cpu_ms']:.2f} | "
              f"{f'{ref:.1f}' if ref else ''} | {ratio} |")
    if "cube_rollup" in b:
        print(f"\nbare DuckDB, the cube question on mart_cube_rollup: p50 "
              f"{b['cube_rollup']:.1f} ms (on the sale lines: {b['cube']:.1f} ms)")
    if args.json:
        args.json.write_text(json.dumps({"customers": customers, "lines": lines, "rows": rows,
                                         "bare_p50_ms": b}, indent=1))


if __name__ == "__main__":
    main()
