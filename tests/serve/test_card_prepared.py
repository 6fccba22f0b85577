"""The 360° card from prepared point lookups: compiled once per engine and user scope, the
same answer as the expressions compiled at each request, rights included."""

from __future__ import annotations

import types

import pandas as pd
import pytest

from prisme import engine as engine_mod
from prisme.access.rights import Forbidden
from prisme.access.users import User
from prisme.engine.base import Engine
from prisme.serve import customers
from prisme.serve.data import Reader


def _users(served):
    return {"admin": User("a", "admin"), "analyst": User("n", "analyst"),
            "manager": User("m", "manager", branch=served.branch),
            "advisor": User("v", "advisor", advisor=served.advisor)}


def _answer(reader, party_id):
    try:
        return customers.card(reader, party_id)
    except (Forbidden, customers.NotFound) as exc:
        return type(exc).__name__


@pytest.mark.parametrize("role", ["admin", "analyst", "manager", "advisor"])
def test_prepared_card_equals_the_card_compiled_per_request(served, role):
    user = _users(served)[role]
    with engine_mod.connect(served.settings, read_only=True) as eng:
        c = eng.table("customer_360")
        ids = list(eng.to_pandas(c.select("party_id").order_by("party_id").limit(5)).party_id)
    ids += [served.inside, served.outside, "NO-SUCH-PARTY"]
    with engine_mod.connect(served.settings, read_only=True) as fast, \
            engine_mod.connect(served.settings, read_only=True) as slow:
        # the engine's generic path: the expression compiled with the value at each run
        slow.prepare = types.MethodType(Engine.prepare, slow)
        slow.fetch = types.MethodType(Engine.fetch, slow)
        for party_id in ids:
            got = _answer(Reader(fast, user, "t"), party_id)
            want = _answer(Reader(slow, user, "t"), party_id)
            assert got == want, (role, party_id)


def test_card_lookups_are_compiled_once_per_scope(served):
    """A pooled engine keeps its prepared lookups: the second card of the same scope compiles
    nothing; another scope compiles its own (the rights are part of the query)."""
    with engine_mod.connect(served.settings, read_only=True) as eng:
        memo_holder = types.SimpleNamespace(publishes=True)
        compiled = []
        real = eng.con.compile
        eng.con.compile = lambda *a, **k: compiled.append(1) or real(*a, **k)
        admin, advisor = User("a", "admin"), User("v", "advisor", advisor=served.advisor)
        customers.card(Reader(eng, admin, "v1", memo_holder), served.inside)
        first = len(compiled)
        assert first >= 1  # the card's row of mart_card (fields, sources, records, events)
        customers.card(Reader(eng, admin, "v1", memo_holder), served.outside)
        assert len(compiled) == first
        customers.card(Reader(eng, advisor, "v1", memo_holder), served.inside)
        assert len(compiled) > first
        n = len(compiled)
        with pytest.raises(Forbidden):
            customers.card(Reader(eng, advisor, "v1", memo_holder), served.outside)
        with pytest.raises(Forbidden):
            customers.card(Reader(eng, advisor, "v1", memo_holder), served.outside)
        assert len(compiled) == n + 1  # the existence check, once
        p = Reader(eng, admin, "v1", memo_holder).prepared("card", None)
        assert p.sql is not None and "$1" in p.sql and "mart_card" in p.sql


@pytest.mark.parametrize("role", ["admin", "analyst", "manager", "advisor"])
def test_one_party_hint_keeps_the_same_rows(served, role):
    """``Reader.table(name, party)`` (the portfolio check as a point lookup) holds exactly the
    rows of that party that the whole restricted table holds, inside or outside the
    portfolio."""
    user = _users(served)[role]
    with engine_mod.connect(served.settings, read_only=True) as eng:
        reader = Reader(eng, user, "t")
        for name in ("mart_card", "party_map", "customer_360"):
            for pid in (served.inside, served.outside):
                whole = reader.table(name)
                hinted = reader.table(name, pid)
                a = eng.to_pandas(whole.filter(whole.party_id == pid))
                b = eng.to_pandas(hinted.filter(hinted.party_id == pid))
                a, b = _flat(a), _flat(b)
                key = list(a.columns)
                a = a.sort_values(key).reset_index(drop=True)
                b = b.sort_values(key).reset_index(drop=True)
                pd.testing.assert_frame_equal(a, b)
                visible = role in ("admin", "analyst") or pid == served.inside
                assert (len(a) > 0) is visible, (name, pid)


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """List columns (``source_records``) as sorted text, so that rows sort and compare."""
    for c in df.columns:
        if any(hasattr(v, "__len__") and not isinstance(v, str) for v in df[c]):
            df[c] = df[c].map(lambda v: repr(sorted(map(repr, v))) if v is not None else None)
    return df


@pytest.mark.parametrize("role", ["admin", "analyst", "manager", "advisor"])
def test_prepared_search_equals_the_search_compiled_per_request(served, role):
    user = _users(served)[role]
    with engine_mod.connect(served.settings, read_only=True) as eng:
        c = eng.to_pandas(eng.table("customer_360").select(
            "party_id", "last_name", "email", "phone").order_by("party_id").limit(40))
    words = [c.last_name.dropna().iloc[0], c.last_name.dropna().iloc[1].upper(),
             c.party_id.iloc[2].lower(), c.email.dropna().iloc[0],
             str(c.phone.dropna().iloc[0]), "", "zzzz qqq", "o'b"]
    with engine_mod.connect(served.settings, read_only=True) as fast, \
            engine_mod.connect(served.settings, read_only=True) as slow:
        slow.prepare = types.MethodType(Engine.prepare, slow)
        slow.fetch = types.MethodType(Engine.fetch, slow)
        holder = types.SimpleNamespace(publishes=True)
        for q in words:
            for page in (1, 2):
                got = customers.search(Reader(fast, user, "v", holder), q, page, 5)
                want = customers.search(Reader(slow, user, "v"), q, page, 5)
                assert got == want, (role, q, page)
        assert customers.search(Reader(fast, user, "v", holder), served.inside, 1, 5)[
            "total"] == 1


class _EarlierSearchMart(Reader):
    """A reader whose ``mart_search`` has only the keys (a build before the search's page
    was read from it): the page's rows then come from ``customer_360``."""

    def derived(self, name, live, party=None):
        from prisme.serve.marts import SEARCH

        t = super().derived(name, live, party)
        if name == SEARCH:
            t = t.select("party_id", "branch", "advisor", "search_text", "email_key",
                         "phone_key")
        return t


@pytest.mark.parametrize("role", ["admin", "analyst", "manager", "advisor"])
def test_search_page_from_mart_search_equals_the_page_from_customer_360(served, role):
    user = _users(served)[role]
    with engine_mod.connect(served.settings, read_only=True) as eng:
        c = eng.to_pandas(eng.table("customer_360").select(
            "party_id", "last_name", "email", "phone").order_by("party_id").limit(60))
        names = list(c.last_name.dropna())
        words = [names[0][:3].lower(), names[5].upper(), names[9][1:4], "a", "e",
                 c.email.dropna().iloc[2], str(c.phone.dropna().iloc[3])[-6:],
                 c.party_id.iloc[7], "", "zzzz"]
        for q in words:
            for page in (1, 2):
                got = customers.search(Reader(eng, user, "v"), q, page, 7)
                want = customers.search(_EarlierSearchMart(eng, user, "v"), q, page, 7)
                assert got == want, (role, q, page)


def test_serving_engines_run_each_query_on_serve_threads(served):
    """The read-only engines of the application run each query on ``serve_threads``
    threads (requests run side by side; one thread per small query splits nothing)."""
    from prisme.serve.data import Warehouse

    want = served.settings.engine.serve_threads
    assert want == 1
    w = Warehouse(served.settings)
    try:
        with w.engine() as (eng, _):
            assert eng.execute_sql("SELECT current_setting('threads')")[0][0] == want
    finally:
        w.close()


def test_the_server_works_on_serve_requests_requests_at_once(served):
    """The pages run in the event loop's thread pool; the application sizes it from
    ``[engine] serve_requests`` (anyio's default of 40 threads would let 20 clients' requests
    take turns at the interpreter lock mid-request)."""
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from prisme.serve.app import create_app

    settings = served.settings.model_copy(deep=True)
    settings.engine.serve_requests = 3
    with TestClient(create_app(settings)) as client:
        tokens = client.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert tokens == 3
        assert client.get("/healthz").status_code == 200


def test_a_server_warms_the_per_customer_marts_of_the_version_it_serves(served):
    """At start the application opens the published state and reads ``mart_card`` and
    ``mart_search`` into the engine's cache in the background (``/healthz`` says when);
    with ``serve_prewarm = false`` it does not."""
    import time

    from fastapi.testclient import TestClient

    from prisme.serve.app import create_app

    with TestClient(create_app(served.settings)) as client:
        for _ in range(300):
            if client.get("/healthz").json()["warm"]:
                break
            time.sleep(0.1)
        assert client.get("/healthz").json()["warm"] is True
        assert client.get("/healthz").json()["ok"] is True
    settings = served.settings.model_copy(deep=True)
    settings.engine.serve_prewarm = False
    with TestClient(create_app(settings)) as client:
        time.sleep(0.5)
        assert client.get("/healthz").json()["warm"] is False


def test_closing_the_warehouse_interrupts_a_warm_up_still_running(served, monkeypatch):
    """A server stopping (or the interpreter exiting) while the warm-up still reads must not
    leave a native query running: ``close`` interrupts it and waits for its thread."""
    import threading
    import time

    from prisme.engine.duckdb_backend import DuckDBEngine
    from prisme.serve.data import Warehouse

    stop = threading.Event()
    monkeypatch.setattr(DuckDBEngine, "prewarm", lambda self, tables: stop.wait(60) and 0)
    monkeypatch.setattr(DuckDBEngine, "interrupt", lambda self: stop.set())
    w = Warehouse(served.settings)
    w.start()
    time.sleep(0.2)
    assert w._prewarm_thread.is_alive() and not w.is_warm()
    t0 = time.perf_counter()
    w.close()
    assert not w._prewarm_thread.is_alive() and time.perf_counter() - t0 < 10
