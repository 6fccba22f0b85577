"""resolve(): a partition, deterministic, safe on bad input, household-aware, steward-bound."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prisme.identity import evaluate, pairwise_scores, resolve

FIRST = ["Jean", "Marie", "Pierre", "Julie", "Lucas", "Emma", "Hugo", "Léa", "Paul", "Anne"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]


def _people(n: int, seed: int = 0) -> pd.DataFrame:
    """n distinct people, each with an e-mail, phone, birth date and address of their own."""
    rng = np.random.default_rng(seed)
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    rows = []
    for i in range(n):
        rows.append({
            "first_name": first[i], "last_name": last[i],
            "email": f"{first[i].lower()}.{last[i].lower()}{i}@mail{i % 7}.fr",
            "phone": f"06{10_000_000 + i * 7919 % 90_000_000:08d}",
            "birth_date": f"{1940 + i % 60}-{1 + (i + i // 60) % 12:02d}-{1 + i * 7 % 28:02d}",
            "address_line": f"{1 + i} rue des Lilas", "postal_code": f"{75001 + i % 20}",
            "city": "Paris", "country": "FR",
        })
    return pd.DataFrame(rows)


def _records(people: pd.DataFrame, copies: list[int]) -> tuple[pd.DataFrame, np.ndarray]:
    """Records of the people (copies[i] records of person i, second copies in another source
    with a typo in the last name and no e-mail)."""
    rows, truth = [], []
    for i, k in enumerate(copies):
        for c in range(k):
            r = people.iloc[i].to_dict()
            if c:
                r["last_name"] = r["last_name"][:-1] + r["last_name"][-1].upper()
                r["email"] = None
            r.update(source=f"s{c}", source_customer_id=f"{i}-{c}", record_id=f"r{i:04d}{c}")
            rows.append(r)
            truth.append(i)
    return pd.DataFrame(rows), np.array(truth)


def _check_partition(df: pd.DataFrame, out: pd.DataFrame) -> None:
    assert list(out.columns) == ["record_id", "party_id", "match_probability"]
    assert out["record_id"].tolist() == df["record_id"].tolist()
    assert out["party_id"].notna().all()
    assert out["match_probability"].between(0, 1).all()
    # a party's id names one of its own records
    for pid, g in out.groupby("party_id"):
        assert pid == "P" + min(g["record_id"])


def test_duplicates_are_found_and_strangers_kept_apart():
    df, truth = _records(_people(60), [2] * 20 + [1] * 40)
    out = resolve(df)
    _check_partition(df, out)
    score = evaluate(out["party_id"], truth)
    assert score["precision"] == 1.0 and score["recall"] == 1.0


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 3), min_size=1, max_size=8), st.integers(0, 1000))
def test_resolve_is_a_partition_of_any_small_input(copies, seed):
    df, _ = _records(_people(len(copies), seed), copies)
    out = resolve(df)
    _check_partition(df, out)


def test_same_input_same_party_ids_and_shuffled_input_same_partition():
    df, _ = _records(_people(40, 3), [2, 1, 3, 1] * 10)
    first = resolve(df)
    again = resolve(df)
    pd.testing.assert_frame_equal(first, again)
    shuffled = df.sample(frac=1.0, random_state=5).reset_index(drop=True)
    other = resolve(shuffled).set_index("record_id").loc[df["record_id"]]
    assert other["party_id"].tolist() == first["party_id"].tolist()


def test_placeholders_do_not_blow_up_or_merge_strangers():
    people = _people(3000, 11)
    people["email"] = "noemail@x.com"
    people["phone"] = "0000000000"
    people.loc[::2, "email"] = "NOEMAIL@X.COM "
    people["address_line"] = None
    df, truth = _records(people, [1] * 3000)
    start = time.perf_counter()
    out = resolve(df)
    assert time.perf_counter() - start < 60
    assert evaluate(out["party_id"], truth)["predicted_pairs"] == 0


def test_shared_non_placeholder_values_are_ignored_too():
    people = _people(200, 2)
    people["email"] = "contact@shop.example.fr"  # the shop's own address on every record
    df, truth = _records(people, [1] * 200)
    out = resolve(df)
    without = resolve(df.drop(columns="email"))
    # the shared address identifies nobody: the parties are those found without it
    pd.testing.assert_frame_equal(out, without)


def test_near_empty_and_one_letter_records_do_not_merge_strangers():
    rows = [{"record_id": f"e{i}", "last_name": "Martin"} for i in range(30)]
    rows += [{"record_id": f"i{i}", "first_name": "J", "last_name": "Dupont",
              "city": "Paris"} for i in range(30)]
    rows += [{"record_id": f"n{i}"} for i in range(10)]
    df = pd.DataFrame(rows)
    out = resolve(df)
    _check_partition(df, out)
    assert out["party_id"].nunique() == len(df)


HOUSEHOLD = [
    # record_id, first, last, birth, email, phone, address, postcode, person
    ("h1", "Jean", "Dupont", "1970-03-02", "famille.dupont@orange.fr", "01 45 67 89 10",
     "12 rue des Lilas", "75011", "jean"),
    ("h2", "Marie", "Dupont", "1972-07-14", "famille.dupont@orange.fr", "01 45 67 89 10",
     "12 rue des Lilas", "75011", "marie"),
    ("h3", "Lucas", "Dupont", "2001-11-30", "lucas.dupont@gmail.com", "01 45 67 89 10",
     "12 rue des Lilas", "75011", "lucas"),
    ("h4", "Jean", "DUPONT", "1970-03-02", "jean.dupont@free.fr", "06 11 22 33 44",
     "12, rue des Lilas", "75011", "jean"),
    ("h5", "Marie", "Dupont", None, "famille.dupont@orange.fr", "01 45 67 89 10",
     "12 rue des lilas", "75011", "marie"),
    ("h6", "Emma", "Dupont", "2004-05-09", "famille.dupont@orange.fr", "01 45 67 89 10",
     "12 rue des Lilas", "75011", "emma"),
    # Marie married: new last name, moved, new e-mail; same phone (mobile) and birth date
    ("m1", "Claire", "Lefèvre", "1985-09-21", "claire.lefevre@gmail.com", "06 98 76 54 32",
     "3 avenue Foch", "69006", "claire"),
    ("m2", "Claire", "Moreau", "1985-09-21", "claire.moreau@yahoo.fr", "+33 6 98 76 54 32",
     "40 boulevard Voltaire", "13008", "claire"),
    # moved and changed phone, kept e-mail
    ("v1", "Thomas", "Girard", "1990-01-05", "t.girard@laposte.net", "06 55 44 33 22",
     "8 rue Nationale", "59000", "thomas"),
    ("v2", "Tom", "Girard", "1990-01-05", "T.Girard@laposte.net", "07 12 12 12 12",
     "77 rue de Paris", "35000", "thomas"),
    # swapped first / last name
    ("s1", "Bernard", "Alain", "1961-02-17", "alain.bernard@sfr.fr", "06 01 02 03 04",
     "5 place du Marché", "44000", "alain"),
    ("s2", "Alain", "Bernard", "1961-02-17", "alain.bernard@sfr.fr", None, "5 place du Marché",
     "44000", "alain"),
]


def _household_frame() -> tuple[pd.DataFrame, pd.Series]:
    cols = ["record_id", "first_name", "last_name", "birth_date", "email", "phone",
            "address_line", "postal_code", "person"]
    df = pd.DataFrame(HOUSEHOLD, columns=cols)
    filler, _ = _records(_people(150, 9), [1] * 150)  # a realistic background population
    df = pd.concat([df, filler.assign(person=filler["record_id"])], ignore_index=True)
    return df.drop(columns="person"), df["person"]


def test_households_are_different_people_movers_and_married_stay_one():
    df, person = _household_frame()
    out = resolve(df).set_index("record_id")["party_id"]
    p = out.to_dict()
    assert len({p["h1"], p["h2"], p["h3"], p["h6"]}) == 4  # four people, one household
    assert p["h1"] == p["h4"] and p["h2"] == p["h5"]
    assert p["m1"] == p["m2"]  # married and moved
    assert p["v1"] == p["v2"]  # moved, new phone, nickname
    assert p["s1"] == p["s2"]  # names swapped
    assert evaluate(out.to_numpy(), person.to_numpy())["f1"] == 1.0


def test_household_members_without_birth_dates_stay_apart():
    """Two people of one household share e-mail, phone and address and no record has a birth
    date: their different first names still make them two people."""
    df, _ = _household_frame()
    extra = pd.DataFrame([
        ("k1", "Olivier", "Moreau", None, "famille.moreau31594@orange.fr", "06 13 64 74 68",
         "148 rue Jean Jaurès", "59000", "olivier"),
        ("k2", "Juliette", "Moreau", None, "famille.moreau31594@orange.fr", "07 64 57 94 17",
         "148 rue Jean Jaures", "59000", "juliette"),
        ("k3", "Olivier", "MOREAU", None, "famille.moreau31594@orange.fr", None,
         "148 rue Jean Jaurès", "59000", "olivier"),
    ], columns=["record_id", "first_name", "last_name", "birth_date", "email", "phone",
                "address_line", "postal_code", "person"])
    df = pd.concat([df, extra.drop(columns="person")], ignore_index=True)
    p = resolve(df).set_index("record_id")["party_id"].to_dict()
    assert p["k1"] != p["k2"]
    assert p["k1"] == p["k3"]


def test_call_centre_records_with_the_landline_join_their_person():
    """A call centre keeps a name, a postcode and whichever number the caller gave (here the
    landline); the CRM record has the address, the mobile and an e-mail. Nothing is shared
    exactly but the name and postcode, so the EM sessions on birth date + postcode, e-mail and
    phone find no pairs: the model must keep those fields all the same (Splink drops a
    session's comparisons when it raises) and link the records."""
    people = _people(300, 5)  # one name each: namesakes are not what this test is about
    people["last_name"] += [f"-{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300)]
    crm, _ = _records(people, [1] * 300)
    calls = people.iloc[:60].copy()
    calls["phone"] = [f"01{40_000_000 + i * 7:08d}" for i in range(60)]
    calls[["email", "address_line", "birth_date"]] = None
    calls["record_id"] = [f"c{i:04d}" for i in range(60)]
    df = pd.concat([crm, calls], ignore_index=True)
    truth = np.concatenate([np.arange(300), np.arange(60)])
    score = evaluate(resolve(df)["party_id"], truth)
    assert score["recall"] >= 0.9, score
    assert score["precision"] >= 0.95, score


def test_steward_links_win_over_the_model():
    df, person = _household_frame()
    out = resolve(df, must_link=[("h3", "h6")], cannot_link=[("m1", "m2")])
    p = out.set_index("record_id")["party_id"].to_dict()
    assert p["h3"] == p["h6"]
    assert p["m1"] != p["m2"]
    assert out.set_index("record_id").loc["h3", "match_probability"] == 1.0
    # a cannot-link splits a chain even when the two records are linked only through others
    chained = resolve(df, must_link=[("h1", "h2"), ("h2", "h3")], cannot_link=[("h1", "h3")])
    q = chained.set_index("record_id")["party_id"].to_dict()
    assert q["h1"] != q["h3"]


def test_unknown_steward_record_is_an_error():
    df, _ = _records(_people(5), [1] * 5)
    with pytest.raises(ValueError, match="nope"):
        resolve(df, must_link=[("r00000", "nope")])


def test_bad_record_ids_are_reported():
    df, _ = _records(_people(3), [1, 1, 1])
    with pytest.raises(ValueError, match="record_id"):
        resolve(df.drop(columns="record_id"))
    df.loc[1, "record_id"] = df.loc[0, "record_id"]
    with pytest.raises(ValueError, match="unique"):
        resolve(df)


def test_pairwise_scores_for_stewards():
    df, truth = _records(_people(30), [2] * 10 + [1] * 20)
    pairs = pairwise_scores(df, threshold=0.5)
    assert {"record_id_l", "record_id_r", "match_probability", "match_weight"} <= set(pairs)
    assert (pairs["match_probability"] >= 0.5).all()
    assert len(pairs) >= 10


def test_tiny_inputs():
    assert resolve(pd.DataFrame({"record_id": []})).empty
    one = resolve(pd.DataFrame({"record_id": ["a"], "last_name": ["X"]}))
    assert one["party_id"].tolist() == ["Pa"] and one["match_probability"].tolist() == [1.0]


def test_evaluate_counts_pairs():
    # truth: {0,1,2} {3,4}; prediction: {0,1} {2,3,4}
    score = evaluate([0, 0, 1, 1, 1], ["a", "a", "a", "b", "b"])
    assert (score["tp"], score["predicted_pairs"], score["true_pairs"]) == (2, 4, 4)
    assert score["precision"] == score["recall"] == score["f1"] == 0.5
    hh = evaluate([0, 0, 1, 1, 1], ["a", "a", "a", "b", "b"], within=[1, 1, 1, 2, 2])
    assert (hh["tp"], hh["predicted_pairs"], hh["true_pairs"]) == (2, 2, 4)


def test_runs_on_the_project_engine_and_leaves_it_clean(engine):
    df, truth = _records(_people(40, 4), [2] * 10 + [1] * 30)
    before = set(engine.list_tables())
    out = resolve(df, engine=engine)
    assert evaluate(out["party_id"], truth)["f1"] == 1.0
    assert set(engine.list_tables()) == before
