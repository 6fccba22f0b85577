"""resolve_parties end to end: party_map, party_history, dim_party, as_of, facts-only keys."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from identity_tables import customers, write

from prisme.identity import build, stable


def email_resolver(df: pd.DataFrame, **_: object) -> pd.DataFrame:
    """A transparent stand-in for the model: records sharing an e-mail are one party."""
    key = df.email.str.lower().where(df.email.notna(), "rec" + df.record_id.astype(str))
    first = df.groupby(key).record_id.transform("min")
    return pd.DataFrame({"record_id": df.record_id, "party_id": "P" + first.astype(str),
                         "match_probability": 0.97})


def party_of(engine) -> dict[tuple[str, str], str]:
    pm = engine.to_pandas(engine.table("party_map"))
    return dict(zip(zip(pm.source, pm.source_customer_id, strict=True), pm.party_id,
                    strict=True))


BASE = [
    {"source": "crm", "source_customer_id": "C1", "first_name": "Anne", "email": "anne@x.fr"},
    {"source": "shop", "source_customer_id": "S9", "first_name": "Anne", "email": "ANNE@x.fr"},
    {"source": "crm", "source_customer_id": "C2", "first_name": "Paul", "email": "paul@x.fr"},
    {"source": "crm", "source_customer_id": "C3", "first_name": "Lea", "email": None},
]


def test_first_build_writes_the_three_tables(engine, settings):
    customers(engine, BASE)
    s = build.resolve_parties(engine, settings, load_id="L1", resolver=email_resolver)
    assert (s.records, s.parties, s.new_parties, s.merges, s.splits) == (4, 3, 3, 0, 0)
    got = party_of(engine)
    assert got[("crm", "C1")] == got[("shop", "S9")] == "P00000001"
    assert got[("crm", "C2")] == "P00000002" and got[("crm", "C3")] == "P00000003"
    hist = engine.to_pandas(engine.table("party_history"))
    assert len(hist) == 4 and set(hist.event) == {"created"} and set(hist.load_id) == {"L1"}
    dim = engine.to_pandas(engine.table("dim_party")).set_index("party_id")
    assert dim.loc["P00000001", "record_count"] == 2
    assert list(dim.loc["P00000001", "sources"]) == ["crm", "shop"]
    pm = engine.to_pandas(engine.table("party_map"))
    assert (pm.match_probability == 0.97).all()


def test_rebuild_is_idempotent_and_incremental_load_attaches(engine, settings):
    customers(engine, BASE)
    build.resolve_parties(engine, settings, load_id="L1", resolver=email_resolver)
    before = party_of(engine)
    again = build.resolve_parties(engine, settings, load_id="L1", resolver=email_resolver)
    assert party_of(engine) == before and again.new_parties == 0
    assert len(engine.to_pandas(engine.table("party_history"))) == 4
    customers(engine, [{"source": "web", "source_customer_id": "W5", "email": "paul@x.fr"},
                       {"source": "web", "source_customer_id": "W6", "email": "zoe@x.fr"}],
              load_id="L2")
    s = build.resolve_parties(engine, settings, load_id="L2", resolver=email_resolver)
    after = party_of(engine)
    assert {k: after[k] for k in before} == before
    assert after[("web", "W5")] == before[("crm", "C2")]
    assert after[("web", "W6")] == "P00000004"
    assert (s.attached, s.new_parties) == (1, 1)


def test_as_of_answers_for_the_past_after_a_merge(engine, settings):
    customers(engine, BASE)
    build.resolve_parties(engine, settings, load_id="L1", resolver=email_resolver,
                          at=datetime(2026, 2, 1))
    # a new version of C2 carries Anne's e-mail: the model now sees one customer
    engine.create_table("dim_customer", engine.table("dim_customer").mutate(
        is_current=engine.table("dim_customer").source_customer_id != "C2"), overwrite=True)
    customers(engine, [{"source": "crm", "source_customer_id": "C2", "first_name": "Paul",
                        "email": "anne@x.fr"}], load_id="L2")
    s = build.resolve_parties(engine, settings, load_id="L2", resolver=email_resolver,
                              at=datetime(2026, 3, 1))
    assert s.merges == 1
    now = party_of(engine)
    assert now[("crm", "C2")] == "P00000001"
    hist = engine.to_pandas(engine.table("party_history"))
    merged = hist[hist.event == "merged"]
    assert merged[["party_id", "other_party_id", "source_customer_id", "load_id"]].values.tolist() \
        == [["P00000001", "P00000002", "C2", "L2"]]
    past = engine.to_pandas(stable.party_map_as_of(engine, datetime(2026, 2, 15)))
    then = dict(zip(past.source_customer_id, past.party_id, strict=True))
    assert then["C2"] == "P00000002" and then["C1"] == "P00000001"
    assert engine.to_pandas(stable.party_map_as_of(engine, datetime(2026, 1, 1))).empty


def test_keys_seen_only_in_facts_get_a_party_of_their_own(engine, settings):
    customers(engine, BASE)
    write(engine, "transaction", [
        {"source": "crm", "order_id": "O1", "source_customer_id": "C1", "sku": "A",
         "ordered_at": datetime(2026, 1, 2), "quantity": 1.0, "revenue": 10},
        {"source": "shop", "order_id": "O2", "source_customer_id": "GHOST", "sku": "A",
         "ordered_at": datetime(2026, 1, 2), "quantity": 1.0, "revenue": 10},
    ])
    s = build.resolve_parties(engine, settings, resolver=email_resolver)
    got = party_of(engine)
    assert s.fact_only_keys == 1 and s.parties == 4
    assert got[("shop", "GHOST")] not in {got[k] for k in got if k != ("shop", "GHOST")}
    dim = engine.to_pandas(engine.table("dim_party")).set_index("party_id")
    assert dim.loc[got[("shop", "GHOST")], "record_count"] == 0
    # when the customer record arrives later, it keeps the party its sales already have
    ghost = got[("shop", "GHOST")]
    customers(engine, [{"source": "shop", "source_customer_id": "GHOST", "email": "g@x.fr"}],
              load_id="L2")
    build.resolve_parties(engine, settings, resolver=email_resolver)
    assert party_of(engine)[("shop", "GHOST")] == ghost


def test_a_failing_write_leaves_the_previous_state(engine, settings, monkeypatch):
    customers(engine, BASE)
    build.resolve_parties(engine, settings, resolver=email_resolver)
    before = party_of(engine)
    customers(engine, [{"source": "web", "source_customer_id": "W7", "email": "anne@x.fr"}],
              load_id="L2")

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build.golden, "golden_records", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build.resolve_parties(engine, settings, resolver=email_resolver)
    assert party_of(engine) == before
    assert len(engine.to_pandas(engine.table("party_history"))) == 4


def test_a_resolver_that_loses_records_is_refused(engine, settings):
    customers(engine, BASE)

    def lossy(df, **_):
        return email_resolver(df).iloc[1:]

    with pytest.raises(ValueError, match="1 missing"):
        build.resolve_parties(engine, settings, resolver=lossy)


def test_with_the_real_resolver(engine, settings):
    rows = [
        {"source": "crm", "source_customer_id": "C1", "first_name": "Camille",
         "last_name": "Lefèvre", "email": "camille.lefevre@orange.fr", "phone": "+33612345678",
         "postal_code": "75011", "city": "Paris", "birth_date": "1984-03-02"},
        {"source": "shop", "source_customer_id": "S1", "first_name": "CAMILLE",
         "last_name": "Lefevre", "email": "camille.lefevre@orange.fr", "phone": "+33612345678",
         "postal_code": "75011", "city": "PARIS", "birth_date": "1984-03-02"},
        {"source": "crm", "source_customer_id": "C2", "first_name": "Hugo",
         "last_name": "Martin", "email": "hugo.martin@free.fr", "phone": "+33698765432",
         "postal_code": "69003", "city": "Lyon", "birth_date": "1990-11-20"},
    ]
    for r in rows:
        r["birth_date"] = pd.Timestamp(r["birth_date"]).date()
    customers(engine, rows)
    s = build.resolve_parties(engine, settings)
    got = party_of(engine)
    assert s.records == 3
    assert got[("crm", "C1")] == got[("shop", "S1")] != got[("crm", "C2")]


def test_an_empty_warehouse_gives_parties_to_fact_keys_only(engine, settings):
    customers(engine, BASE)
    engine.create_table("dim_customer", engine.table("dim_customer").limit(0), overwrite=True)
    write(engine, "transaction", [
        {"source": "shop", "order_id": "O2", "source_customer_id": "GHOST", "sku": "A",
         "ordered_at": datetime(2026, 1, 2), "quantity": 1.0, "revenue": 10}])
    s = build.resolve_parties(engine, settings, resolver=email_resolver)
    assert (s.records, s.parties, s.fact_only_keys) == (0, 1, 1)
    assert party_of(engine) == {("shop", "GHOST"): "P00000001"}


def test_facts_without_a_source_column_are_tied_to_the_right_system(engine, settings):
    import ibis

    from prisme.warehouse.schema import LOAD_BATCHES

    customers(engine, BASE)
    lb = pd.DataFrame({"load_id": ["LC", "LW"], "source": ["crm_calls", "web_sessions"],
                       "entity": ["call", "web_session"], "status": ["loaded", "loaded"]})
    for c in LOAD_BATCHES.names:
        if c not in lb.columns:
            lb[c] = None
    engine.create_table("load_batches", ibis.memtable(lb[list(LOAD_BATCHES.names)])
                        .cast(LOAD_BATCHES))
    at = datetime(2026, 1, 2)
    write(engine, "call", [{"call_id": "1", "source_customer_id": "C1", "at": at},
                           {"call_id": "2", "source_customer_id": "C404", "at": at}],
          load_id="LC")
    # sessions carry the shop's ids without saying so: most of them match shop records
    write(engine, "web_session", [{"session_id": "a", "source_customer_id": "S9", "started_at": at},
                                  {"session_id": "b", "source_customer_id": "S77",
                                   "started_at": at}], load_id="LW")
    build.resolve_parties(engine, settings, resolver=email_resolver)
    got = party_of(engine)
    assert ("crm", "C404") in got and ("shop", "S77") in got
    assert not any(s in ("crm_calls", "web_sessions") for s, _ in got)
    assert len(got) == 6
