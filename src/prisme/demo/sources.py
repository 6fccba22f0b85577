"""The demo's source files, each in the form its system really exports, and their mapping.

| source (prisme.toml)     | system     | file(s)                                   | form |
|--------------------------|------------|-------------------------------------------|------|
| crm_customers            | CRM        | sources/crm/clients.csv                   | `;`, cp1252, decimal comma, dd/mm/yyyy, French headers |
| crm_sales                | CRM / POS  | sources/crm/ventes/ventes_YYYY-MM.csv     | same, one file a month |
| shop_customers           | web shop   | sources/shop/customers.csv                | `,`, UTF-8 with BOM, ISO dates |
| shop_orders              | web shop   | sources/shop/orders/orders_YYYY.csv       | same, one file a year, EUR and GBP |
| callcentre_contacts      | call centre| sources/callcentre/contacts.jsonl         | JSON lines |
| callcentre_calls         | call centre| sources/callcentre/calls_YYYY.jsonl       | JSON lines |
| products                 | ERP        | sources/erp/catalogue.xlsx                | Excel |
| web_sessions             | analytics  | sources/web/sessions.parquet              | Parquet |
| campaigns                | marketing  | sources/marketing/campagnes.csv           | `;`, UTF-8, dd/mm/yyyy |
| crm_campaign_contacts …  | marketing  | sources/marketing/contacts_*.csv          | `;`, UTF-8 |
| surveys                  | survey tool| sources/surveys/satisfaction.csv          | `;`, UTF-8 with BOM, dd/mm/yyyy hh:mm |
| shop_surveys             | web shop   | sources/shop/reviews.csv                  | `,`, UTF-8, ISO timestamps |
| ad_spend                 | ad platform| sources/ads/ad_spend.csv                  | `,`, ISO dates |
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from prisme.config import SourceSettings
from prisme.demo import writers as W
from prisme.demo.sales import CHANNELS, GBP_RATE, PHONE, STORE, WEB

CRM_FMT = dict(format="csv", separator=";", decimal=",", date_format="%d/%m/%Y",
               encoding="cp1252")
SHOP_FMT = dict(format="csv", separator=",", decimal=".", date_format="%Y-%m-%d",
                encoding="utf-8-sig")
JSON_FMT = dict(format="jsonl", date_format="%Y-%m-%dT%H:%M:%S", encoding="utf-8")


def _yes_no(values, yes="Oui", no="Non"):
    return np.where(np.asarray(values, bool), yes, no).astype(object)


def crm_customers(root: Path, df: pd.DataFrame, rng):
    """The CRM export; also returns the ids of the lines it repeats (a planted defect)."""
    civ = np.where(df["female"], "Mme", "M.")
    civ = np.where(rng.random(len(df)) < 0.1, None, civ)
    cols = {
        "N° client": df["source_customer_id"], "Civilité": civ, "Nom": df["last_name"],
        "Prénom": df["first_name"],
        "Date de naissance": W.date_text(df["birth_date"], "%d/%m/%Y"),
        "E-mail": df["email"], "Téléphone": df["phone"], "Adresse": df["address_line"],
        "CP": df["postal_code"], "Ville": df["city"],
        "Pays": np.where(df["uk"], "Royaume-Uni", "France").astype(object),
        "Agence": df["branch"], "Conseiller": df["advisor"],
        "Opt-in e-mail": _yes_no(df["consent_email"]), "Opt-in tél.": _yes_no(df["consent_phone"]),
        "Opt-in courrier": _yes_no(df["consent_post"]),
        "Date création": W.date_text(df["created_at"], "%d/%m/%Y"),
        "Date modif.": W.date_text(df["updated_at"], "%d/%m/%Y"),
    }
    # an export that repeats some lines (a join gone wrong upstream)
    rep = np.where(rng.random(len(df)) < 0.003, 2, 1)
    idx = np.repeat(np.arange(len(df)), rep)
    cols = {k: (v.take(pa.array(idx)) if isinstance(v, pa.Array) else np.asarray(v, object)[idx])
            for k, v in cols.items()}
    path = W.write_csv(cols, root / "sources/crm/clients.csv", separator=";",
                       encoding="cp1252")
    mapping = {"source_customer_id": "N° client", "gender": "Civilité", "last_name": "Nom",
               "first_name": "Prénom", "birth_date": "Date de naissance", "email": "E-mail",
               "phone": "Téléphone", "address_line": "Adresse", "postal_code": "CP",
               "city": "Ville", "country": "Pays", "branch": "Agence", "advisor": "Conseiller",
               "consent_email": "Opt-in e-mail", "consent_phone": "Opt-in tél.",
               "consent_post": "Opt-in courrier", "created_at": "Date création",
               "updated_at": "Date modif."}
    s = SourceSettings(entity="customer", path="sources/crm/clients.csv", **CRM_FMT,
                       columns=mapping, constants={"source": "crm", "kind": "person"}, trust=1)
    return [path], s, df["source_customer_id"].to_numpy(object)[rep == 2]


def shop_customers(root: Path, df: pd.DataFrame) -> tuple[list[Path], SourceSettings]:
    cols = {
        "customer_id": df["source_customer_id"], "email": df["email"],
        "first_name": df["first_name"], "last_name": df["last_name"], "phone": df["phone"],
        "address_line1": df["address_line"], "postcode": df["postal_code"], "city": df["city"],
        "country_code": np.where(df["uk"], "GB", "FR").astype(object),
        "date_of_birth": W.date_text(df["birth_date"], "%Y-%m-%d"),
        "newsletter": np.where(df["consent_email"], "true", "false").astype(object),
        "created_at": W.date_text(df["created_at"], "%Y-%m-%d"),
        "updated_at": W.date_text(df["updated_at"], "%Y-%m-%d"),
    }
    path = W.write_csv(cols, root / "sources/shop/customers.csv", bom=True)
    mapping = {"source_customer_id": "customer_id", "email": "email",
               "first_name": "first_name", "last_name": "last_name", "phone": "phone",
               "address_line": "address_line1", "postal_code": "postcode", "city": "city",
               "country": "country_code", "birth_date": "date_of_birth",
               "consent_email": "newsletter", "created_at": "created_at",
               "updated_at": "updated_at"}
    s = SourceSettings(entity="customer", path="sources/shop/customers.csv", **SHOP_FMT,
                       columns=mapping, constants={"source": "shop", "kind": "person"}, trust=2)
    return [path], s


def callcentre_contacts(root: Path, df: pd.DataFrame) -> tuple[list[Path], SourceSettings]:
    title = np.where(df["female"], np.where(df["married_now"], "Mrs", "Ms"), "Mr").astype(object)
    out = pd.DataFrame({
        "contactId": df["source_customer_id"], "title": title, "firstName": df["first_name"],
        "lastName": df["last_name"], "phoneNumber": df["phone"], "emailAddress": df["email"],
        "postcode": df["postal_code"], "town": df["city"],
        "consentPhone": df["consent_phone"].to_numpy(dtype=object),
        "createdAt": W.date_text(df["created_at"], "%Y-%m-%dT%H:%M:%S").to_numpy(
            zero_copy_only=False),
        "updatedAt": W.date_text(df["updated_at"], "%Y-%m-%dT%H:%M:%S").to_numpy(
            zero_copy_only=False),
    })
    path = W.write_jsonl(out, root / "sources/callcentre/contacts.jsonl")
    mapping = {"source_customer_id": "contactId", "gender": "title", "first_name": "firstName",
               "last_name": "lastName", "phone": "phoneNumber", "email": "emailAddress",
               "postal_code": "postcode", "city": "town", "consent_phone": "consentPhone",
               "created_at": "createdAt", "updated_at": "updatedAt"}
    s = SourceSettings(entity="customer", path="sources/callcentre/contacts.jsonl", **JSON_FMT,
                       columns=mapping, constants={"source": "callcentre", "kind": "person"},
                       trust=3)
    return [path], s


def products(root: Path, df: pd.DataFrame) -> tuple[list[Path], SourceSettings]:
    out = df.rename(columns={"sku": "Référence", "name": "Désignation", "category": "Famille",
                             "unit_price": "Prix de vente TTC", "unit_cost": "Prix d'achat"})
    path = W.write_xlsx(out, root / "sources/erp/catalogue.xlsx", "Articles")
    s = SourceSettings(entity="product", path="sources/erp/catalogue.xlsx", format="xlsx",
                       sheet="Articles",
                       columns={"sku": "Référence", "name": "Désignation",
                                "category": "Famille", "unit_price": "Prix de vente TTC",
                                "unit_cost": "Prix d'achat"})
    return [path], s


def _lut(values, idx, mask=None) -> pa.Array:
    """``values[idx]`` as an Arrow string array (NULL where ``mask``), without Python objects
    per row."""
    table = values if isinstance(values, pa.Array) else pa.array(
        np.asarray(values, dtype=object), type=pa.string())
    return table.take(pa.array(np.asarray(idx, dtype=np.int64), mask=mask))


def _document_numbers(orders: pd.DataFrame, lines: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Per line: its document number (sales and credit notes numbered apart, in time order,
    separately for the CRM and the web shop) and the document kind 0-3 (V, AV, WEB-, RET-)."""
    o = lines["order"].to_numpy()
    ret = lines["is_return"].to_numpy()
    o_web = orders["channel"].to_numpy() == WEB  # orders are sorted by time
    sale_no = np.zeros(len(orders), dtype=np.int64)
    sale_no[~o_web] = np.arange(1, (~o_web).sum() + 1)
    sale_no[o_web] = np.arange(1, o_web.sum() + 1)
    ret_orders, first = np.unique(o[ret], return_index=True)
    ret_day = lines["return_day"].to_numpy()[ret][first] if len(first) else np.array([])
    ret_no = np.zeros(len(orders), dtype=np.int64)
    for is_web in (False, True):
        sel = o_web[ret_orders] == is_web
        order = np.lexsort((ret_orders[sel], ret_day[sel]))
        ret_no[ret_orders[sel][order]] = np.arange(1, sel.sum() + 1)
    number = np.where(ret, ret_no[o], sale_no[o])
    kind = 2 * o_web[o].astype(np.int64) + ret.astype(np.int64)
    return number, kind


def sales(root: Path, lines: pd.DataFrame, orders: pd.DataFrame, products_df: pd.DataFrame,
          crm_id: np.ndarray, shop_id: np.ndarray, branch_of: np.ndarray, rng,
          end_day: float, payments: tuple[np.ndarray, np.ndarray] | None = None):
    """Write CRM (store/phone) and shop (web) order lines; returns files and settings.
    ``payments`` = (due day, paid day) per order (NaN: none), written on the sale lines."""
    o = lines["order"].to_numpy()
    ret = lines["is_return"].to_numpy()
    ch = orders["channel"].to_numpy()[o]
    person = orders["person"].to_numpy()[o]
    day = np.where(ret, lines["return_day"].to_numpy(), orders["day"].to_numpy()[o])
    number, kind = _document_numbers(orders, lines)
    web = ch == WEB
    sku_i = lines["sku_i"].to_numpy()
    when = W.days_to_datetime(day)
    if payments is None:
        payments = (np.full(len(orders), np.nan), np.full(len(orders), np.nan))
    due_d = np.where(ret, np.nan, payments[0][o])
    paid_d = np.where(ret, np.nan, payments[1][o])
    due_at, paid_at = W.days_to_datetime(due_d), W.days_to_datetime(paid_d)
    anonymous = person < 0
    who = np.maximum(person, 0)
    stores, store_of = np.unique(branch_of, return_inverse=True)
    branch_i = np.where(ch == PHONE, len(stores), store_of[who])
    anon_store = (ch == STORE) & anonymous
    branch_i[anon_store] = rng.integers(0, len(stores), anon_store.sum())
    branch_names = list(stores) + ["Service client"]
    qty, price = lines["quantity"].to_numpy(), lines["unit_price"].to_numpy()
    gbp = lines["gbp"].to_numpy()
    pay_crm = ["CB", "CB", "CB", "Espèces", "Chèque", "Carte cadeau"]
    pay_web = ["card", "card", "paypal", "apple_pay", "gift_card"]
    pay = rng.integers(0, 6, len(lines))
    skus, names = pa.array(products_df["sku"].to_numpy(object)), pa.array(
        products_df["name"].to_numpy(object))
    crm_id, shop_id = pa.array(crm_id, type=pa.string()), pa.array(shop_id, type=pa.string())

    def doc_ids(r):
        prefix = _lut(["V", "AV", "WEB-", "RET-"], kind[r])
        return W.prefixed_numbers(prefix, number[r], 7 if web[r[0]] else 8)

    def crm_rows(r) -> pa.Table:  # built a month at a time: memory stays small
        return pa.table({
            "NUM_TICKET": doc_ids(r), "DATE_VENTE": W.date_text(when[r], "%d/%m/%Y %H:%M"),
            "NUM_CLIENT": _lut(crm_id, who[r], anonymous[r]), "CODE_ART": _lut(skus, sku_i[r]),
            "LIBELLE": _lut(names, sku_i[r]), "QTE": W.number_text(qty[r]),
            "PU_TTC": W.money_text(price[r], ","), "CANAL": _lut(CHANNELS, ch[r]),
            "AGENCE": _lut(branch_names, branch_i[r]),
            "MODE_REGLEMENT": _lut(pay_crm, pay[r] % len(pay_crm)),
            "TYPE_PIECE": _lut(["VENTE", "AVOIR"], ret[r].astype(np.int64)),
            "ECHEANCE": W.date_text(due_at[r], "%d/%m/%Y %H:%M"),
            "DATE_REGLEMENT": W.date_text(paid_at[r], "%d/%m/%Y %H:%M"),
        })

    def shop_rows(r) -> pa.Table:
        return pa.table({
            "order_id": doc_ids(r), "order_date": W.date_text(when[r], "%Y-%m-%dT%H:%M:%S"),
            "customer_id": _lut(shop_id, who[r], anonymous[r]), "sku": _lut(skus, sku_i[r]),
            "product_name": _lut(names, sku_i[r]), "quantity": W.number_text(qty[r]),
            "unit_price": W.money_text(price[r]), "line_total": W.money_text(qty[r] * price[r]),
            "currency": _lut(["EUR", "GBP"], gbp[r].astype(np.int64)),
            "payment_method": _lut(pay_web, pay[r] % len(pay_web)),
            "order_type": _lut(["SALE", "RETURN"], ret[r].astype(np.int64)),
            "channel": _lut(["web"], np.zeros(len(r), dtype=np.int64)),
            "due_date": W.date_text(due_at[r], "%Y-%m-%dT%H:%M:%S"),
            "paid_date": W.date_text(paid_at[r], "%Y-%m-%dT%H:%M:%S"),
        })

    crm = np.flatnonzero(~web)
    files = _split_write(crm_rows, crm, when[crm].astype("datetime64[M]"),
                         root / "sources/crm/ventes", "ventes_{}.csv", "%Y-%m",
                         separator=";", encoding="cp1252")
    w = np.flatnonzero(web)
    files += _split_write(shop_rows, w, when[w].astype("datetime64[Y]"),
                          root / "sources/shop/orders", "orders_{}.csv", "%Y",
                          separator=",", bom=True)
    crm_s = SourceSettings(
        entity="transaction", path="sources/crm/ventes/ventes_*.csv",
        **{**CRM_FMT, "date_format": "%d/%m/%Y %H:%M"},
        columns={"order_id": "NUM_TICKET", "ordered_at": "DATE_VENTE",
                 "source_customer_id": "NUM_CLIENT", "sku": "CODE_ART", "quantity": "QTE",
                 "unit_price": "PU_TTC", "channel": "CANAL", "branch": "AGENCE",
                 "payment_method": "MODE_REGLEMENT", "piece": "TYPE_PIECE",
                 "due_at": "ECHEANCE", "paid_at": "DATE_REGLEMENT"},
        derive={"revenue": "quantity * unit_price", "is_return": "piece == 'AVOIR'"},
        constants={"source": "crm"}, currency="EUR")
    shop_s = SourceSettings(
        entity="transaction", path="sources/shop/orders/orders_*.csv",
        **{**SHOP_FMT, "date_format": "%Y-%m-%dT%H:%M:%S"},
        columns={"order_id": "order_id", "ordered_at": "order_date",
                 "source_customer_id": "customer_id", "sku": "sku", "quantity": "quantity",
                 "revenue": "line_total", "currency": "currency",
                 "payment_method": "payment_method", "channel": "channel",
                 "order_type": "order_type", "due_at": "due_date", "paid_at": "paid_date"},
        derive={"is_return": "order_type == 'RETURN' or quantity < 0"},
        constants={"source": "shop"})
    return files, crm_s, shop_s


def _split_write(build, rows: np.ndarray, period: np.ndarray, folder: Path, pattern: str,
                 fmt: str, **kw) -> list[Path]:
    """One file per period (month or year), rows in time order inside each; ``build(rows)``
    makes the table of one file."""
    files = []
    keys = np.unique(period)
    order = np.argsort(period, kind="stable")
    bounds = list(np.searchsorted(period[order], keys)) + [len(order)]
    for k, key in enumerate(keys):
        part = build(rows[order[bounds[k]:bounds[k + 1]]])
        label = pd.Timestamp(key).strftime(fmt)
        files.append(W.write_csv(part, folder / pattern.format(label), **kw))
    return files


__all__ = ["crm_customers", "shop_customers", "callcentre_contacts", "products", "sales",
           "GBP_RATE"]
