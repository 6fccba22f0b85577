"""The demo's truth agrees with its files: every record has its person, households are what
they say, planted defects are where the truth says, the purchase process has its parameters."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

ID_COLUMN = {"crm": "N° client", "shop": "customer_id", "callcentre": "contactId"}
#: canonical column → header, per customer system (as in the written prisme.toml)
HEADERS = {
    "crm": {"email": "E-mail", "phone": "Téléphone", "postal_code": "CP", "city": "Ville",
            "birth_date": "Date de naissance", "updated_at": "Date modif.",
            "address_line": "Adresse", "first_name": "Prénom", "last_name": "Nom"},
    "shop": {"email": "email", "phone": "phone", "postal_code": "postcode", "city": "city",
             "birth_date": "date_of_birth", "updated_at": "updated_at",
             "address_line": "address_line1", "first_name": "first_name",
             "last_name": "last_name"},
    "callcentre": {"email": "emailAddress", "phone": "phoneNumber", "postal_code": "postcode",
                   "city": "town", "updated_at": "updatedAt", "first_name": "firstName",
                   "last_name": "lastName"},
}


def test_every_source_record_has_exactly_one_person(demo, truth, customer_files):
    persons = truth["persons"]
    assert not persons.duplicated(["source", "source_customer_id"]).any()
    for source, df in customer_files.items():
        ids = set(df[ID_COLUMN[source]])
        known = set(persons.loc[persons["source"] == source, "source_customer_id"])
        assert ids == known, source
        assert demo.records[source] == len(known)
    # every person of the company is known to at least one system
    assert persons["person_id"].nunique() == demo.customers
    assert set(persons["person_id"]) == set(truth["churners"]["person_id"])


def test_customer_lists_overlap_across_systems(truth):
    p = truth["persons"]
    systems = p.groupby("person_id")["source"].nunique()
    assert set(systems.unique()) == {1, 2, 3}
    assert 0.2 < (systems >= 2).mean() < 0.8


def test_household_members_are_distinct_persons_sharing_an_address(truth, customer_files):
    persons, households = truth["persons"], truth["households"]
    size = persons.groupby("household_id")["person_id"].nunique()
    h = households.set_index("household_id")
    assert (size.reindex(h.index).to_numpy() == h["size"].astype(int).to_numpy()).all()
    assert (h["size"].astype(int) >= 2).mean() > 0.3

    crm = customer_files["crm"].merge(
        persons[persons["source"] == "crm"], left_on="N° client", right_on="source_customer_id")
    clean = crm[(crm["shows_old_address"] == "false") & (crm["near_empty"] == "false")
                & (crm["Adresse"] != "")]
    bad_codes = set(truth["quality_defects"].query("defect == 'bad_postcode'")
                    ["source_customer_id"])
    clean = clean[~clean["N° client"].isin(bad_codes)]
    joined = clean.join(h, on="household_id")
    assert (joined["Adresse"] == joined["address_line"]).all()
    assert (joined["CP"] == joined["postal_code"]).all()

    # members of one household: different persons with different birth dates
    multi = joined[joined["size"].astype(int) >= 2]
    dated = multi[multi["Date de naissance"] != ""].drop_duplicates("person_id")
    implausible = set(truth["quality_defects"].query("defect == 'implausible_birth_date'")
                      ["source_customer_id"])
    dated = dated[~dated["N° client"].isin(implausible)]
    assert not dated.duplicated(["household_id", "Date de naissance"]).any()
    assert len(dated) > 100


def test_planted_value_defects_are_in_the_files(truth, customer_files):
    defects = truth["quality_defects"]
    kinds = set(defects["defect"])
    assert {"invalid_email", "unparsable_phone", "bad_postcode", "implausible_birth_date",
            "future_date", "placeholder_email", "placeholder_phone", "placeholder_text",
            "near_empty_record", "duplicate_record", "duplicate_line"} <= kinds
    checked = 0
    for row in defects.itertuples():
        if row.defect not in ("invalid_email", "unparsable_phone", "bad_postcode",
                              "placeholder_email", "placeholder_phone", "placeholder_text"):
            continue
        df = customer_files[row.source]
        rec = df[df[ID_COLUMN[row.source]] == row.source_customer_id]
        assert len(rec) >= 1
        assert (rec[HEADERS[row.source][row.column]] == row.value).all(), row
        checked += 1
    assert checked > 200


def test_planted_dates_and_duplicates_are_in_the_files(demo, truth, customer_files):
    defects = truth["quality_defects"]
    crm = customer_files["crm"].set_index("N° client")
    today = dt.date.fromisoformat(truth["process"]["today"])
    births = defects.query("source == 'crm' and defect == 'implausible_birth_date'")
    assert len(births) > 0
    for cid in births["source_customer_id"]:
        value = crm.loc[[cid], "Date de naissance"].iloc[0]
        born = dt.datetime.strptime(value, "%d/%m/%Y").date()
        assert born.year < 1901 or (today - born).days < 5 * 365
    future = defects.query("source == 'shop' and defect == 'future_date'")
    shop = customer_files["shop"].set_index("customer_id")
    assert len(future) > 0
    for cid in future["source_customer_id"]:
        assert dt.date.fromisoformat(shop.loc[cid, "updated_at"]) > today
    # a repeated line appears twice in the CRM export, a duplicate record is a second id
    lines = defects.query("defect == 'duplicate_line'")["source_customer_id"]
    counts = customer_files["crm"]["N° client"].value_counts()
    assert len(lines) > 0 and (counts.reindex(lines) == 2).all()
    assert (counts.drop(lines).eq(1)).all()
    persons = truth["persons"]
    dup = defects.query("defect == 'duplicate_record'")
    for row in dup.head(50).itertuples():
        pid = persons.loc[(persons["source"] == row.source)
                          & (persons["source_customer_id"] == row.source_customer_id),
                          "person_id"].iloc[0]
        n = ((persons["source"] == row.source) & (persons["person_id"] == pid)).sum()
        assert n >= 2


def test_placeholders_are_shared_by_many_records(customer_files):
    shop = customer_files["shop"]["email"].replace("", None).value_counts()
    assert shop.index[0] == "noemail@noemail.com" and shop.iloc[0] >= 20
    crm_phone = customer_files["crm"]["Téléphone"].replace("", None).value_counts()
    assert crm_phone.index[0] == "0000000000" and crm_phone.iloc[0] >= 20


def test_life_events_show_in_some_records(truth, customer_files):
    p = truth["persons"]
    for flag in ("shows_old_address", "shows_maiden_name", "shows_old_email", "typo",
                 "swapped_names", "nickname", "near_empty", "one_letter_name"):
        assert (p[flag] == "true").sum() > 0, flag
    # a person who moved, seen by two systems before and after the move
    moved = p[p["moved"] == "true"].groupby("person_id")["shows_old_address"].nunique()
    assert (moved == 2).sum() > 0
    # a married woman's record that still carries her maiden name differs from another one
    crm = customer_files["crm"].merge(p[p["source"] == "crm"], left_on="N° client",
                                      right_on="source_customer_id")
    maiden = crm[(crm["shows_maiden_name"] == "true") & (crm["typo"] == "false")
                 & (crm["swapped_names"] == "false")]
    h = truth["households"].set_index("household_id")["last_name"].str.upper()
    assert (maiden["Nom"] != maiden["household_id"].map(h)).all()


def test_purchase_process_parameters_match_the_truth(truth):
    proc, ch = truth["process"], truth["churners"]
    lam = ch["lambda"].astype(float).to_numpy()
    p = ch["p"].astype(float).to_numpy()
    n = len(lam)
    r, alpha, a, b = proc["r"], proc["alpha"], proc["a"], proc["b"]
    # E[λ] = r/α, sd = √r/α; E[p] = a/(a+b), Var = ab/((a+b)²(a+b+1))
    assert abs(lam.mean() - r / alpha) < 4 * np.sqrt(r) / alpha / np.sqrt(n)
    assert abs(lam.var() / lam.mean() ** 2 - 1 / r) < 0.25 / r
    sd_p = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    assert abs(p.mean() - a / (a + b)) < 4 * sd_p / np.sqrt(n)
    alive = ch["alive_at_end"] == "true"
    assert (ch.loc[alive, "dropped_out_at"] == "").all()
    assert (ch.loc[~alive, "dropped_out_at"] != "").all()
    assert set(ch.loc[~alive, "churn_driver"]) == {"low_satisfaction", "late_payment",
                                                    "natural"}
    # low satisfaction raises the drop-out probability
    z = ch["satisfaction"].astype(float).to_numpy()
    assert np.corrcoef(z, p)[0, 1] < -0.25
    assert p[z < -1].mean() > p[z > 1].mean()
    # paying late raises it too, less strongly; the two drivers are independent
    w = ch["payment_lateness"].astype(float).to_numpy()
    assert 0.1 < np.corrcoef(w, p)[0, 1] < -np.corrcoef(z, p)[0, 1]
    assert p[w > 1].mean() > p[w < -1].mean()
    assert abs(np.corrcoef(w, z)[0, 1]) < 4 / np.sqrt(n)
    late = ch["churn_driver"] == "late_payment"
    assert (w[late.to_numpy()] > 1).all() and (z[late.to_numpy()] >= -0.5).all()


def test_invoices_are_due_30_days_after_the_order_and_late_payers_pay_late(demo, truth):
    root = Path(demo.directory)
    frames = [pd.read_csv(f, sep=",", encoding="utf-8-sig", dtype=str, keep_default_na=False)
              for f in sorted((root / "sources/shop/orders").glob("orders_*.csv"))]
    shop = pd.concat(frames, ignore_index=True)
    sales = shop[(shop.order_type == "SALE") & (shop.customer_id != "")]
    assert (sales.due_date != "").all()
    assert (shop.loc[shop.order_type == "RETURN", "due_date"] == "").all()
    ordered = pd.to_datetime(sales.order_date)
    due = pd.to_datetime(sales.due_date)
    assert ((due - ordered).dt.days.between(29, 30)).all()
    paid = sales[sales.paid_date != ""]
    days_late = (pd.to_datetime(paid.paid_date) - pd.to_datetime(paid.due_date)).dt.days
    persons = truth["persons"].query("source == 'shop'").set_index("source_customer_id")
    w = paid.customer_id.map(persons["person_id"]).map(
        truth["churners"].set_index("person_id")["payment_lateness"].astype(float))
    assert days_late[w.to_numpy() > 1].clip(lower=0).mean() > 3 * days_late[
        w.to_numpy() < 0].clip(lower=0).mean()
    assert (pd.to_datetime(paid.paid_date) >= pd.to_datetime(paid.order_date)).all()


def test_surveys_measure_the_satisfaction_that_drives_churn(demo, truth):
    root = Path(demo.directory)
    s = pd.read_csv(root / "sources/surveys/satisfaction.csv", sep=";", encoding="utf-8-sig",
                    dtype=str, keep_default_na=False)
    persons = truth["persons"].query("source == 'crm'").set_index("source_customer_id")
    ch = truth["churners"].set_index("person_id")
    pid = persons.loc[s["ID client"], "person_id"].to_numpy()
    nps = s["Recommandation (0-10)"].astype(float).to_numpy()
    p = ch.loc[pid, "p"].astype(float).to_numpy()
    assert np.corrcoef(nps, p)[0, 1] < -0.15
    alive = ch.loc[pid, "alive_at_end"].to_numpy() == "true"
    assert nps[alive].mean() > nps[~alive].mean()


def test_purchase_process_json_is_complete(truth):
    proc = truth["process"]
    for key in ("r", "alpha", "a", "b", "seasonality", "today", "history_start",
                "satisfaction_rho", "time_unit"):
        assert key in proc
    json.dumps(proc)


def test_each_record_lists_its_planted_defects(truth):
    p, d = truth["persons"], truth["quality_defects"]
    flagged = p[p["defects"] != ""]
    assert set(zip(flagged["source"], flagged["source_customer_id"], strict=True)) == set(
        zip(d["source"], d["source_customer_id"], strict=True))
    one = d.iloc[0]
    row = p[(p["source"] == one["source"]) & (p["source_customer_id"] == one["source_customer_id"])]
    assert one["defect"] in row["defects"].iloc[0].split(";")
