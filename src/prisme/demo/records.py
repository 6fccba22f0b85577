"""The customer records of the three source systems, drawn from the true persons.

A person is known to 1–3 systems (``crm``: the stores' loyalty CRM, ``shop``: the e-commerce
site, ``callcentre``), sometimes twice in one system. Each record is a snapshot taken when the
system last updated it: a record last touched before a person's move still shows the old
address, before a marriage the maiden name, and so on. Each system then spells things its own
way (upper-case surnames, phone notations, accents dropped) and some records carry typos,
swapped names, placeholders or planted defects. Everything done to a record is returned in
its truth columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prisme.demo import variation as V
from prisme.demo import writers as W
from prisme.demo.names import ADVISOR_NAMES, NICKNAMES
from prisme.demo.people import People
from prisme.demo.process import Purchases

SOURCES = ("crm", "shop", "callcentre")
MEMBERSHIP = {"crm": 0.65, "shop": 0.5, "callcentre": 0.3}
DUPLICATE_RATE = {"crm": 0.02, "shop": 0.01, "callcentre": 0.0}

#: phone notations each system produces (style, probability)
PHONE_STYLES = {
    "crm": (["spaced", "national", "dotted", "intl_spaced"], [0.65, 0.2, 0.1, 0.05]),
    "shop": (["e164", "intl_spaced", "national", "spaced"], [0.45, 0.25, 0.2, 0.1]),
    "callcentre": (["0033", "national", "e164"], [0.4, 0.4, 0.2]),
}
PLACEHOLDER_EMAIL = {"crm": "N/A", "shop": "noemail@noemail.com",
                     "callcentre": "nomail@nomail.com"}
PLACEHOLDER_PHONE = "0000000000"


@dataclass
class Records:
    """One DataFrame per source: canonical-named values plus truth columns."""

    by_source: dict[str, pd.DataFrame]
    defects: pd.DataFrame  #: source, source_customer_id, column, defect, value

    def ids_of(self, source: str) -> pd.DataFrame:
        """person index → the (first) id the person has in ``source``."""
        df = self.by_source[source]
        df = df[~df["duplicate_record"]]
        return df[["person", "source_customer_id"]]


def branches_and_advisors(people: People) -> dict[str, list[str]]:
    """Three advisors per branch, from a fixed list (deterministic)."""
    out, k = {}, 0
    for b in sorted(set(people["branch"])):
        out[b] = [ADVISOR_NAMES[(k + j) % len(ADVISOR_NAMES)] for j in range(3)]
        k += 3
    return out


def _membership(rng, n):
    member = {s: rng.random(n) < p for s, p in MEMBERSHIP.items()}
    none = ~(member["crm"] | member["shop"])
    to_crm = rng.random(n) < 0.55
    member["crm"] |= none & to_crm
    member["shop"] |= none & ~to_crm
    return member


def make_records(rng: np.random.Generator, people: People, buys: Purchases,
                 today_day: float) -> Records:
    n = len(people)
    member = _membership(rng, n)
    # life-event times: uniform between acquisition and today
    events = {e: buys.t0 + rng.random(n) * (today_day - buys.t0)
              for e in ("moved", "married", "changed_email", "changed_phone")}
    advisors = branches_and_advisors(people)
    frames, defects = {}, []
    for s in SOURCES:
        person = np.flatnonzero(member[s])
        dup = person[rng.random(len(person)) < DUPLICATE_RATE[s]]
        person = np.concatenate([person, dup])
        is_dup = np.concatenate([np.zeros(len(person) - len(dup), bool), np.ones(len(dup), bool)])
        df, d = _source_records(rng, s, people, buys, events, person, is_dup, today_day,
                                advisors)
        frames[s] = df
        defects.append(d)
    return Records(frames, pd.concat(defects, ignore_index=True))


def _snapshot_times(rng, s, buys, person, today_day):
    t0 = buys.t0[person]
    span = today_day - t0
    if s == "callcentre":
        created = t0 + rng.random(len(person)) * span * 0.8
    else:
        created = np.where(rng.random(len(person)) < 0.6, t0 - rng.random(len(person)) * 3,
                           t0 + rng.exponential(60, len(person)))
        created = np.minimum(created, today_day - 1)
    updated = created + (today_day - created) * rng.random(len(person)) ** 0.7
    return created, updated


def _source_records(rng, s, people, buys, events, person, is_dup, today_day, advisors):
    m = len(person)
    uk = people["uk"][person]
    created, updated = _snapshot_times(rng, s, buys, person, today_day)

    def old(event):
        return people[event][person] & (updated < events[event][person])

    shows = {e: old(e) for e in ("moved", "married", "changed_email", "changed_phone")}
    first = people["first_name"][person].copy()
    last = np.where(shows["married"], people["maiden_name"][person],
                    people["last_name"][person])
    nick = rng.random(m) < 0.04
    nick &= np.array([f in NICKNAMES for f in first])
    first[nick] = [NICKNAMES[f] for f in first[nick]]

    moved = shows["moved"]
    address = np.where(moved, people["old_address_line"][person], people["address_line"][person])
    postcode = np.where(moved, people["old_postal_code"][person], people["postal_code"][person])
    city = np.where(moved, people["old_city"][person], people["city"][person])
    email = np.where(shows["changed_email"], people["old_email"][person], people["email"][person])
    mobile = np.where(shows["changed_phone"], people["old_mobile"][person],
                      people["mobile"][person])
    landline = people["landline"][person]
    want_land = rng.random(m) < {"crm": 0.35, "shop": 0.1, "callcentre": 0.5}[s]
    national = np.where((want_land & (landline != None)) | (mobile == None),  # noqa: E711
                        landline, mobile)
    styles, probs = PHONE_STYLES[s]
    phone = V.format_phones(national, uk, rng, styles, probs)

    # missing fields, per system habits
    blank = {"crm": {"email": .12, "phone": .08, "birth_date": .15, "address_line": .02},
             "shop": {"phone": .25, "birth_date": .45, "address_line": .04},
             "callcentre": {"email": .35, "birth_date": 1.0, "address_line": 1.0}}[s]
    birth = people["birth_date"][person].astype("datetime64[D]")
    cols = {"first_name": first, "last_name": last, "email": email, "phone": phone,
            "address_line": address, "postal_code": postcode, "city": city}
    nat = np.datetime64("NaT")
    for col, share in blank.items():
        gone = rng.random(m) < share
        if col == "birth_date":
            birth = np.where(gone, nat, birth)
        else:
            cols[col] = np.where(gone, None, cols[col])

    truth = {
        "typo": np.zeros(m, bool), "swapped_names": rng.random(m) < 0.02, "nickname": nick,
        "shows_old_address": moved, "shows_maiden_name": shows["married"],
        "shows_old_email": shows["changed_email"] & (cols["email"] != None),  # noqa: E711
        "shows_old_phone": shows["changed_phone"] & ~(want_land & (landline != None)),  # noqa: E711
        "placeholder": np.zeros(m, bool), "near_empty": np.zeros(m, bool),
        "one_letter_name": np.zeros(m, bool),
    }
    _typos_and_styles(rng, s, cols, truth)
    d = _plant(rng, s, cols, truth, uk)
    birth, created, updated, d2 = _plant_dates(rng, s, birth, created, updated, today_day)

    df = pd.DataFrame(cols)
    df["person"] = person
    df["person_id"] = people["person_id"][person]
    df["household_id"] = people["household_id"][person]
    df["duplicate_record"] = is_dup
    for k in ("moved", "married", "changed_email", "changed_phone"):
        df[k] = people[k][person]
    for k, v in truth.items():
        df[k] = v
    df["birth_date"] = birth
    df["created_at"] = _to_seconds(created)
    df["updated_at"] = _to_seconds(updated)
    df["uk"] = uk
    df["female"] = people["female"][person]
    df["married_now"] = people["married"][person] & ~shows["married"]
    df["branch"] = people["branch"][person]
    other_branch = rng.random(m) < 0.1
    all_branches = np.array(sorted(advisors), dtype=object)
    df.loc[other_branch, "branch"] = all_branches[rng.integers(0, len(all_branches),
                                                               other_branch.sum())]
    pick = rng.integers(0, 3, m)
    df["advisor"] = [advisors[b][k] for b, k in zip(df["branch"], pick, strict=True)]
    df["consent_email"] = rng.random(m) < 0.7
    df["consent_phone"] = rng.random(m) < 0.5
    df["consent_post"] = rng.random(m) < 0.85
    df["_row"] = np.arange(m)
    df = _assign_ids(df, s)
    id_of_row = np.empty(m, dtype=object)
    id_of_row[df["_row"].to_numpy()] = df["source_customer_id"].to_numpy()
    df = df.drop(columns="_row")
    defects = pd.concat([d, d2], ignore_index=True)
    defects["source_customer_id"] = id_of_row[defects["row"].to_numpy()]
    dups = df[df["duplicate_record"]]
    defects = pd.concat([defects.drop(columns="row"), pd.DataFrame({
        "source": s, "column": "source_customer_id", "defect": "duplicate_record",
        "value": dups["source_customer_id"], "source_customer_id": dups["source_customer_id"]})],
        ignore_index=True)
    return df, defects


def _to_seconds(days: np.ndarray) -> np.ndarray:
    return (np.round(days * 86400)).astype("int64").astype("datetime64[s]")


def _assign_ids(df: pd.DataFrame, s: str) -> pd.DataFrame:
    """Ids grow with creation time, as systems number their customers."""
    df = df.sort_values(["created_at", "person"], kind="stable").reset_index(drop=True)
    k = np.arange(1, len(df) + 1)
    if s == "crm":
        ids = W.prefixed_numbers("C", k, 7)
    elif s == "shop":
        ids = W.prefixed_numbers("", 100_000 + k, 6)
    else:
        ids = W.prefixed_numbers("T", k, 6)
    df["source_customer_id"] = ids.to_numpy(zero_copy_only=False)
    return df


def _typos_and_styles(rng, s, cols, truth):
    m = len(cols["first_name"])
    first, last = cols["first_name"], cols["last_name"]
    has_typo = rng.random(m) < 0.06
    on_last = rng.random(m) < 0.6
    for i in np.flatnonzero(has_typo):
        if on_last[i]:
            last[i] = V.typo(last[i], rng)
        else:
            first[i] = V.typo(first[i], rng)
    truth["typo"] = has_typo
    sw = truth["swapped_names"]
    first[sw], last[sw] = last[sw].copy(), first[sw].copy()
    if s == "shop":
        plain = rng.random(m) < 0.3
        first[plain] = V.fold_accents(first[plain])
        last[plain] = V.fold_accents(last[plain])
        low = rng.random(m) < 0.05
        first[low] = [x.lower() for x in first[low]]
        last[low] = [x.lower() for x in last[low]]
    if s == "crm":
        up = rng.random(m) < 0.7
        last[up] = [x.upper() for x in last[up]]
    e = cols["email"]
    has = e != None  # noqa: E711
    if s == "shop":
        cased = has & (rng.random(m) < 0.1)
        e[cased] = [x[:1].upper() + x[1:] for x in e[cased]]
    if s == "callcentre":
        up = has & (rng.random(m) < 0.1)
        e[up] = [x.upper() for x in e[up]]
        pad = has & (rng.random(m) < 0.05)
        e[pad] = [f" {x} " for x in e[pad]]


def _defect_rows(s, rows, column, defect, values):
    return pd.DataFrame({"source": s, "row": rows, "column": column, "defect": defect,
                         "value": values})


def _plant(rng, s, cols, truth, uk):
    """Placeholders, near-empty records, one-letter names and invalid values."""
    m = len(uk)
    out = []
    e, ph, pc = cols["email"], cols["phone"], cols["postal_code"]
    r = rng.random(m)
    # near-empty records (an id and a surname, nothing else; blanked below) get no other defect
    ne = (r >= 0.8) & (r < 0.8 + {"crm": .005, "shop": .002, "callcentre": .005}[s])
    # placeholders a system's users type when they have nothing
    pe = r < {"crm": .015, "shop": .02, "callcentre": .01}[s]
    if s == "shop":  # the web shop requires an e-mail: those without type a placeholder
        pe |= (e == None) & ~ne  # noqa: E711
    e[pe] = PLACEHOLDER_EMAIL[s]
    out.append(_defect_rows(s, np.flatnonzero(pe), "email", "placeholder_email", e[pe]))
    pp = (r >= 0.5) & (r < 0.5 + {"crm": .015, "shop": .005, "callcentre": .01}[s])
    ph[pp] = PLACEHOLDER_PHONE
    out.append(_defect_rows(s, np.flatnonzero(pp), "phone", "placeholder_phone", ph[pp]))
    na = (r >= 0.6) & (r < 0.605) if s == "crm" else np.zeros(m, bool)
    cols["city"][na] = "N/A"
    out.append(_defect_rows(s, np.flatnonzero(na), "city", "placeholder_text", cols["city"][na]))
    truth["placeholder"] = pe | pp | na
    # one-letter first names (an initial)
    one = (r >= 0.7) & (r < 0.71)
    cols["first_name"][one] = [x[:1] + ("." if s == "crm" else "") for x in
                               cols["first_name"][one]]
    truth["one_letter_name"] = one
    # near-empty records: an id and a surname, nothing else
    for c in ("first_name", "email", "phone", "address_line", "postal_code", "city"):
        cols[c][ne] = None
    truth["near_empty"] = ne
    out.append(_defect_rows(s, np.flatnonzero(ne), "first_name", "near_empty_record", ""))
    # invalid values
    r2 = rng.random(m)
    bad_e = (r2 < 0.012) & (e != None) & ~pe  # noqa: E711
    e[bad_e] = [V.invalid_email(x, rng) for x in e[bad_e]]
    out.append(_defect_rows(s, np.flatnonzero(bad_e), "email", "invalid_email", e[bad_e]))
    bad_p = (r2 >= 0.2) & (r2 < 0.208) & (ph != None) & ~pp  # noqa: E711
    ph[bad_p] = [V.unparsable_phone(x, rng) for x in ph[bad_p]]
    out.append(_defect_rows(s, np.flatnonzero(bad_p), "phone", "unparsable_phone", ph[bad_p]))
    bad_c = (r2 >= 0.4) & (r2 < 0.406) & (pc != None)  # noqa: E711
    pc[bad_c] = [V.bad_postcode(x, rng) for x in pc[bad_c]]
    out.append(_defect_rows(s, np.flatnonzero(bad_c), "postal_code", "bad_postcode", pc[bad_c]))
    return pd.concat(out, ignore_index=True)


def _plant_dates(rng, s, birth, created, updated, today_day):
    m = len(birth)
    out = []
    r = rng.random(m)
    bad_b = (r < 0.006) & ~np.isnat(birth)
    kind = rng.integers(0, 3, m)
    today = np.datetime64(int(today_day), "D")
    fake = np.where(kind == 0, np.datetime64("1900-01-01"),
                    np.where(kind == 1, today - np.timedelta64(700, "D"),
                             np.datetime64("1869-05-14")))
    birth = np.where(bad_b, fake, birth)
    out.append(_defect_rows(s, np.flatnonzero(bad_b), "birth_date", "implausible_birth_date",
                            birth[bad_b].astype(str)))
    fut = (r >= 0.5) & (r < 0.503)
    updated = np.where(fut, today_day + 200 + rng.random(m) * 600, updated)
    out.append(_defect_rows(s, np.flatnonzero(fut), "updated_at", "future_date",
                            _to_seconds(updated[fut]).astype(str)))
    return birth, created, updated, pd.concat(out, ignore_index=True)
