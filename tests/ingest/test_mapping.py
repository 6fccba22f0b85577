"""Mapping proposals on real and French headers, and `prisme init --from FILE`."""

from __future__ import annotations

import gzip
import random
import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from prisme.config import load_settings
from prisme.ingest.mapping import describe_proposal, init_project, name_key, propose_mapping
from prisme.ingest.readers import open_source

RETAIL = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
          "CustomerID", "Country"]
FRENCH_CUSTOMERS = ["N° client", "Civilité", "Prénom", "Nom", "Date de naissance", "Courriel",
                    "Téléphone", "Adresse", "Code postal", "Ville", "Pays"]
FRENCH_ORDERS = ["N° commande", "Num client", "Date commande", "Référence", "Quantité",
                 "Prix unitaire", "Montant TTC"]


def test_online_retail_header_is_a_transaction_with_derived_revenue(shared_data):
    path = shared_data / "online_retail" / "Online_Retail.csv.gz"
    with gzip.open(path, "rt") as fh:
        header = fh.readline().strip().split(",")
    assert header == RETAIL
    p = propose_mapping(header, [{"InvoiceNo": "C536379", "Quantity": "-1"}])
    assert p.entity == "transaction"
    assert p.columns == {
        "order_id": "InvoiceNo", "source_customer_id": "CustomerID",
        "ordered_at": "InvoiceDate", "sku": "StockCode", "quantity": "Quantity",
        "unit_price": "UnitPrice",
    }
    assert p.derive["revenue"] == "quantity * unit_price"
    assert p.derive["is_return"] == "order_id startswith 'C' or quantity < 0"
    assert p.unmapped == ["Description", "Country"]
    # 5 required columns (revenue derivable) + the optional customer id + 1: the file starts
    # with its key (the invoice number)
    assert p.scores["transaction"] == 6.5
    assert p.scores["transaction"] > max(v for e, v in p.scores.items() if e != "transaction")


def test_french_customer_file():
    p = propose_mapping(FRENCH_CUSTOMERS)
    assert p.entity == "customer"
    assert p.columns == {
        "source_customer_id": "N° client", "first_name": "Prénom", "last_name": "Nom",
        "email": "Courriel", "phone": "Téléphone", "address_line": "Adresse",
        "postal_code": "Code postal", "city": "Ville", "country": "Pays",
        "gender": "Civilité", "birth_date": "Date de naissance",
    }
    assert p.unmapped == [] and p.derive == {}


def test_french_orders_with_an_amount_need_no_derived_revenue():
    p = propose_mapping(FRENCH_ORDERS)
    assert p.entity == "transaction"
    assert p.columns["revenue"] == "Montant TTC"
    assert p.columns["order_id"] == "N° commande"
    assert p.columns["source_customer_id"] == "Num client"
    assert p.columns["ordered_at"] == "Date commande"
    assert p.columns["sku"] == "Référence" and p.columns["quantity"] == "Quantité"
    assert "revenue" not in p.derive
    assert "unit_price" not in p.columns and "Prix unitaire" in p.unmapped
    assert p.derive == {"is_return": "quantity < 0"}


def test_english_customer_export_and_product_catalogue():
    p = propose_mapping(["Customer ID", "First Name", "Last Name", "E-mail", "Phone",
                         "Zip Code", "City", "Country", "Date of Birth", "Created At"])
    assert p.entity == "customer"
    assert p.columns["source_customer_id"] == "Customer ID"
    assert p.columns["email"] == "E-mail" and p.columns["postal_code"] == "Zip Code"
    assert p.columns["created_at"] == "Created At"
    q = propose_mapping(["Référence", "Libellé", "Catégorie", "Prix unitaire", "Coût unitaire"])
    assert q.entity == "product"
    assert q.columns == {"sku": "Référence", "name": "Libellé", "category": "Catégorie",
                         "unit_price": "Prix unitaire", "unit_cost": "Coût unitaire"}


def test_upper_case_codes_and_camel_case_exports():
    """Exports from a till system (UPPER_CODES) and an API (camelCase)."""
    p = propose_mapping(["NUM_TICKET", "DATE_VENTE", "NUM_CLIENT", "CODE_ART", "QTE", "PU_TTC",
                         "CANAL", "MODE_REGLEMENT"])
    assert p.entity == "transaction"
    assert p.columns == {"order_id": "NUM_TICKET", "source_customer_id": "NUM_CLIENT",
                         "ordered_at": "DATE_VENTE", "sku": "CODE_ART", "quantity": "QTE",
                         "payment_method": "MODE_REGLEMENT", "channel": "CANAL",
                         "unit_price": "PU_TTC"}
    q = propose_mapping(["callId", "customerId", "startTime", "direction", "type", "reason",
                         "durationSeconds", "outcome", "agent"])
    assert q.entity == "call"
    assert q.columns["at"] == "startTime" and q.columns["kind"] == "type"
    assert q.columns["duration_s"] == "durationSeconds" and q.unmapped == []


def test_prefix_match_for_decorated_names():
    p = propose_mapping(["N° client", "Date réponse", "Satisfaction enseigne",
                         "Recommandation (0-10)", "Commentaire"])
    assert p.entity == "survey"
    assert p.columns["nps"] == "Recommandation (0-10)"
    assert p.columns["sat_company"] == "Satisfaction enseigne"


def test_other_entities_are_recognised():
    assert propose_mapping(["session_id", "started_at", "customer_id", "device",
                            "landing_page"]).entity == "web_session"
    assert propose_mapping(["Code campagne", "Num client", "Date envoi", "Groupe",
                            "Ouvert"]).entity == "campaign_contact"
    assert propose_mapping(["Num client", "Date réponse", "NPS", "Commentaire"]).entity == \
        "survey"


def test_missing_required_columns_are_noted():
    p = propose_mapping(["InvoiceNo", "Quantity", "Mystery"])
    assert p.entity == "transaction"
    note = " ".join(p.notes)
    assert "ordered_at" in note and "sku" in note and "Mystery" in note


def test_describe_proposal_lists_mapping_derive_and_notes():
    text = describe_proposal(propose_mapping(RETAIL, [{"InvoiceNo": "C1"}]))
    assert "entity: transaction" in text
    assert "order_id           <- InvoiceNo" in text
    assert "revenue            =  quantity * unit_price" in text
    assert "note: " in text


def _scramble(name: str, rnd: random.Random) -> str:
    """Same name, other case / spacing / punctuation."""
    out = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in name)
    out = out.replace(" ", rnd.choice([" ", "_", "-", "  ", ""]))
    return rnd.choice(["", " "]) + out + rnd.choice(["", " ", "."])


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([RETAIL, FRENCH_CUSTOMERS, FRENCH_ORDERS]))
def test_recognition_ignores_case_spaces_and_punctuation(seed, header):
    rnd = random.Random(seed)
    scrambled = [_scramble(h, rnd) for h in header]
    plain, messy = propose_mapping(header), propose_mapping(scrambled)
    assert messy.entity == plain.entity
    back = dict(zip(scrambled, header, strict=True))
    assert {k: back[v] for k, v in messy.columns.items()} == plain.columns


def test_name_key():
    assert name_key("N° Client") == name_key("n_client") == name_key("NCLIENT") == "nclient"
    assert name_key("Prénom ") == "prenom" and name_key("Œuvre") == "oeuvre"


# ------------------------------------------------------------------------ init
def test_init_without_a_file_writes_the_engine_section(tmp_path):
    path = init_project(tmp_path / "acme")
    data = tomllib.loads(path.read_text())
    assert path.name == "prisme.toml"
    assert data["engine"]["backend"] == "duckdb" and data["engine"]["path"] == "warehouse.duckdb"
    assert data["project"]["name"] == "acme"
    assert load_settings(tmp_path / "acme").sources == {}


def test_init_from_a_french_csv_then_read_it(tmp_path, engine):
    project = tmp_path / "crm"
    (project / "sources").mkdir(parents=True)
    csv = project / "sources" / "Clients_2024.csv"
    csv.write_bytes((";".join(FRENCH_CUSTOMERS) + "\n"
                     "C1;Mme;Zoé;Lefèvre;02/04/1980;zoe@x.fr;06 12 34 56 78;1 rue A;"
                     "01000;Bourg;France\n"
                     "C2;M.;Noé;Martin;25/12/1975;;;;75001;Paris;France\n").encode("cp1252"))
    notes: list[str] = []
    path = init_project(project, csv, notes)
    settings = load_settings(project)
    source = settings.sources["clients_2024"]
    assert source.entity == "customer"
    assert source.path == "sources/Clients_2024.csv"
    assert (source.separator, source.encoding, source.date_format) == (";", "cp1252",
                                                                       "%d/%m/%Y")
    assert source.columns["source_customer_id"] == "N° client"
    assert source.constants == {"source": "clients_2024"}
    text = "\n".join(notes)
    assert "Clients_2024.csv" in text and "prisme ingest" in text and "N° client" in text
    assert tomllib.loads(path.read_text())["sources"]["clients_2024"]["entity"] == "customer"
    raw = next(open_source(engine, "clients_2024", source, project))
    assert raw.rows_read == 2
    assert set(source.columns.values()) <= set(raw.table.columns)


def test_init_from_xlsx_keeps_existing_sources(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "orders.csv").write_text(",".join(RETAIL) + "\n1,A,x,1,2024-01-01 10:00:00,"
                                        "2.5,17850,France\n")
    init_project(project, project / "orders.csv")
    wb = Workbook()
    wb.active.append(["Référence", "Libellé", "Catégorie", "Prix unitaire"])
    wb.active.append(["A1", "Lampe", "Maison", 12.5])
    wb.save(project / "catalogue.xlsx")
    init_project(project, project / "catalogue.xlsx")
    settings = load_settings(project)
    assert set(settings.sources) == {"orders", "catalogue"}
    assert settings.sources["catalogue"].entity == "product"
    assert settings.sources["catalogue"].format == "xlsx"
    assert settings.sources["orders"].derive["revenue"] == "quantity * unit_price"


def test_demo_company_sources_are_recognised_and_read(tmp_path, engine):
    """The synthetic company's 14 sources (CSV in three styles, xlsx, parquet, jsonl): each
    reads without a reject, and the proposal finds its entity and every canonical column of
    its hand-written mapping (source-specific helper columns aside)."""
    from prisme.demo.generate import generate
    from prisme.ingest.mapping import propose_source
    from prisme.ingest.readers import matching_files
    from prisme.warehouse.schema import ENTITIES

    generate(customers=200, seed=3, directory=tmp_path / "demo")
    settings = load_settings(tmp_path / "demo")
    assert len(settings.sources) >= 10
    for name, source in settings.sources.items():
        for raw in open_source(engine, name, source, settings.root):
            assert raw.rejects == [], (name, raw.rejects[:2])
            assert set(source.columns.values()) <= set(raw.table.columns), name
        first = matching_files(name, source, settings.root)[0]
        _, proposed, proposal, _ = propose_source(first, settings.root)
        assert proposal.entity == source.entity, name
        canonical = {k: v for k, v in source.columns.items()
                     if k in ENTITIES[source.entity].names}
        assert {k: proposed.columns.get(k) for k in canonical} == canonical, name


# --------------------------------------------------------- a normalised marketplace export
MARKET_ORDERS = (
    "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
    "order_delivered_customer_date,order_estimated_delivery_date\n"
    "e481f51c,9ef432eb,delivered,2017-10-02 10:56:33,2017-10-02 11:07:15,"
    "2017-10-10 21:25:13,2017-10-18 00:00:00\n"
    "53cdb2fc,b0830fb4,canceled,2018-07-24 20:41:37,2018-07-26 03:24:27,,2018-08-13 00:00:00\n")
MARKET_CUSTOMERS = (
    "customer_id,customer_unique_id,customer_zip_code_prefix,customer_city,customer_state\n"
    "06b8999e,861eff47,14409,franca,SP\n18955e83,290c77bc,09790,sao bernardo do campo,SP\n"
    "4e7b3e00,060e732b,01151,sao paulo,RJ\n")
MARKET_PRODUCTS = (
    "product_id,product_category_name,product_name_lenght,product_description_lenght,"
    "product_photos_qty,product_weight_g\n"
    "1e9e8ef0,perfumaria,40,287,1,225\n3aa071139,artes,44,276,1,1000\n")
MARKET_REVIEWS = (
    "review_id,order_id,review_score,review_comment_message,review_creation_date,"
    "review_answer_timestamp\n"
    "7bc2406110,73fc7af8,4,,2018-01-18 00:00:00,2018-01-18 21:46:59\n"
    "80e641a11e,a548910a,5,Muito bom,2018-03-10 00:00:00,2018-03-11 03:05:13\n"
    "228ce5500d,f9e4b658,1,Nao chegou,2018-02-17 00:00:00,2018-02-18 14:36:24\n")


def _propose(tmp_path, name, text):
    from prisme.ingest.mapping import propose_source

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return propose_source(path, tmp_path)


def test_an_orders_file_is_not_a_customer_source(tmp_path):
    _, source, p, _ = _propose(tmp_path, "orders.csv", MARKET_ORDERS)
    assert p.entity == "transaction"
    assert p.columns["order_id"] == "order_id"
    assert p.columns["ordered_at"] == "order_purchase_timestamp"
    assert p.columns["status"] == "order_status"
    assert p.scores["transaction"] > p.scores["customer"]
    assert any("order headers" in n and "join" in n for n in p.notes)
    assert any(n.startswith("entity transaction:") and "confidence" in n for n in p.notes)


def test_prefixed_customer_headers_are_recognised_and_the_country_comes_from_the_data(tmp_path):
    _, source, p, _ = _propose(tmp_path, "customers.csv", MARKET_CUSTOMERS)
    assert p.entity == "customer" and p.confidence >= 0.9
    assert p.columns["source_customer_id"] == "customer_id"
    assert p.columns["city"] == "customer_city"
    assert p.columns["postal_code"] == "customer_zip_code_prefix"
    assert (p.country, p.currency) == ("BR", "BRL")


def test_a_length_is_not_a_name(tmp_path):
    _, source, p, _ = _propose(tmp_path, "products.csv", MARKET_PRODUCTS)
    assert p.entity == "product"
    assert p.columns.get("name") != "product_name_lenght"
    assert p.columns["sku"] == "product_id"
    assert p.columns["category"] == "product_category_name"


def test_review_scores_and_dates_are_recognised_and_the_customer_join_proposed(tmp_path):
    _, source, p, _ = _propose(tmp_path, "reviews.csv", MARKET_REVIEWS)
    assert p.entity == "survey"
    assert p.columns["sat_company"] == "review_score"  # 1–5: satisfaction, not NPS
    assert p.columns["answered_at"] in ("review_creation_date", "review_answer_timestamp")
    assert p.columns["comment"] == "review_comment_message"
    assert any("join the orders file" in n for n in p.notes)


def test_init_writes_the_country_and_currency_the_data_says(tmp_path):
    (tmp_path / "customers.csv").write_text(MARKET_CUSTOMERS, encoding="utf-8")
    notes: list[str] = []
    init_project(tmp_path / "proj", tmp_path / "customers.csv", notes)
    s = load_settings(tmp_path / "proj")
    assert (s.project.default_country, s.project.currency) == ("BR", "BRL")
    assert any("from the data" in n for n in notes)
