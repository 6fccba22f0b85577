"""Sniffing the format of generated files: encoding, separator, marks, dates, header."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from prisme.ingest.sniff import (
    detect_encoding,
    guess_date_format,
    guess_decimal,
    sniff,
)

US_RETAIL = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,12/13/2010 10:05,1.85,,United Kingdom\n"
    "C536379,D,Discount,-1,12/21/2010 9:41,27.5,14527,United Kingdom\n"
)

FRENCH = (
    "N° client;Nom;Solde;Date de naissance;Créé le\n"
    "C1;Zoé;1 234,50;02/04/1980;02/01/2024 08:30\n"
    "C2;Léa;12,00;25/12/1975;15/03/2023 17:05\n"
    "C3;Noé;-3,5;01/02/2001;31/12/2022 23:59\n"
)


def test_us_export_comma_point_month_first_datetime(tmp_path):
    (tmp_path / "retail.csv").write_text(US_RETAIL)
    g = sniff(tmp_path / "retail.csv")
    assert (g.separator, g.decimal, g.encoding, g.header) == (",", ".", "utf-8", True)
    assert g.date_format == "%m/%d/%Y %H:%M"  # 12/13/2010 settles month-first
    assert g.columns[0] == "InvoiceNo" and g.compression is None
    assert g.sample[0]["StockCode"] == "85123A"


def test_french_export_semicolon_comma_day_first_and_two_date_formats(tmp_path):
    (tmp_path / "clients.csv").write_bytes(FRENCH.encode("cp1252"))
    g = sniff(tmp_path / "clients.csv")
    assert g.separator == ";" and g.decimal == "," and g.encoding == "cp1252"
    assert g.thousands == " "
    assert g.date_formats == {"Date de naissance": "%d/%m/%Y", "Créé le": "%d/%m/%Y %H:%M"}
    assert g.date_format in g.date_formats.values()
    assert any("Créé le" in n or "day/month" in n for n in g.notes)


def test_cp1252_detected_from_its_own_bytes(tmp_path):
    (tmp_path / "x.csv").write_bytes("nom;prix\nŒuf;2 €\n".encode("cp1252"))
    assert sniff(tmp_path / "x.csv").encoding == "cp1252"


def test_utf8_bom_and_utf8(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"\xef\xbb\xbf" + FRENCH.encode("utf-8"))
    g = sniff(tmp_path / "a.csv")
    assert g.encoding == "utf-8" and g.columns[0] == "N° client"
    (tmp_path / "b.csv").write_text(FRENCH, encoding="utf-8")
    assert sniff(tmp_path / "b.csv").encoding == "utf-8"


def test_gzip_is_seen_through(tmp_path):
    (tmp_path / "r.csv.gz").write_bytes(gzip.compress(US_RETAIL.encode()))
    g = sniff(tmp_path / "r.csv.gz")
    assert g.compression == "gzip" and g.separator == "," and g.date_format == "%m/%d/%Y %H:%M"


def test_tab_and_pipe(tmp_path):
    for sep in ("\t", "|"):
        (tmp_path / "t.txt").write_text(US_RETAIL.replace(",", sep))
        assert sniff(tmp_path / "t.txt").separator == sep


def test_quoted_separators_do_not_fool_the_count(tmp_path):
    text = 'id,comment,amount\n1,"a, b, c",1.5\n2,"d; e",2\n3,"f, g",3\n'
    (tmp_path / "q.csv").write_text(text)
    assert sniff(tmp_path / "q.csv").separator == ","


def test_headerless_file(tmp_path):
    (tmp_path / "n.csv").write_text("1;2,5;2024-01-01\n2;3,5;2024-01-02\n")
    g = sniff(tmp_path / "n.csv")
    assert g.header is False and g.separator == ";" and g.decimal == ","
    assert g.date_format == "%Y-%m-%d"


def test_preamble_skipped(tmp_path):
    (tmp_path / "p.csv").write_text("Export du 01/02/2024\n" + FRENCH)
    g = sniff(tmp_path / "p.csv", skip_rows=1)
    assert g.separator == ";" and g.columns[0] == "N° client"


def test_semicolon_file_without_decimals_defaults_to_decimal_comma(tmp_path):
    (tmp_path / "c.csv").write_text("id;nom;cp\n1;Zoé;75001\n2;Léa;69002\n")
    assert sniff(tmp_path / "c.csv").decimal == ","
    (tmp_path / "d.csv").write_text("id,nom,cp\n1,Zoé,75001\n")
    assert sniff(tmp_path / "d.csv").decimal == "."


def test_decimal_marks_and_thousands():
    assert guess_decimal(["1.234,56", "12,5", "3"]) == (",", ".")
    assert guess_decimal(["1,234.56", "12.5"]) == (".", ",")
    assert guess_decimal(["12.5", "0.99", "7"]) == (".", None)
    assert guess_decimal(["1\u00a0234,5", "2,25"]) == (",", "\u00a0")


def test_dates_german_dots_iso_t_and_compact():
    assert guess_date_format(["31.12.2024", "01.02.2023"]) == "%d.%m.%Y"
    assert guess_date_format(["2024-01-02T08:30:00", "2023-12-31T23:59:59"]) == \
        "%Y-%m-%dT%H:%M:%S"
    assert guess_date_format(["20240102", "19991231"]) == "%Y%m%d"
    assert guess_date_format(["Zoé", "12/01/2020"]) is None  # not a date column
    assert guess_date_format(["", "  "]) is None


def test_ambiguous_day_month_follows_the_preference():
    values = ["01/02/2024", "03/04/2024"]
    assert guess_date_format(values, prefer_day_first=True) == "%d/%m/%Y"
    assert guess_date_format(values, prefer_day_first=False) == "%m/%d/%Y"


def test_encoding_of_probe_cut_inside_a_character():
    data = ("é" * 10).encode("utf-8")[:-1]  # the last character is cut in half
    assert detect_encoding(data, complete=False) == "utf-8"
    # a Windows export is cp1252 (a superset of latin-1's letters); bytes undefined in cp1252
    # make it latin-1
    assert detect_encoding("é".encode("latin-1")) == "cp1252"
    assert detect_encoding("é\x81".encode("latin-1")) == "latin-1"


def test_online_retail_real_header(shared_data):
    g = sniff(shared_data / "online_retail" / "Online_Retail.csv.gz")
    assert g.columns == ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                         "UnitPrice", "CustomerID", "Country"]
    assert (g.separator, g.decimal, g.compression) == (",", ".", "gzip")
    # this copy of the file writes ISO timestamps (the UCI original writes 12/1/2010 8:26,
    # which test_us_export_comma_point_month_first_datetime covers)
    assert g.date_formats == {"InvoiceDate": "%Y-%m-%d %H:%M:%S"}


FORMATS = ["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y %H:%M",
           "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S"]


@settings(max_examples=60, deadline=None)
@given(
    fmt=st.sampled_from(FORMATS),
    days=st.lists(st.integers(0, 20_000), min_size=3, max_size=40),
    minutes=st.integers(0, 1439),
)
def test_sniffed_date_format_reads_every_value_back(fmt, days, minutes):
    """Whatever the sample, the guess parses every value to the date that was written."""
    base = datetime(1970, 1, 1) + timedelta(minutes=minutes)
    stamps = [base + timedelta(days=d) for d in days] + [datetime(2001, 12, 25, 10, 0)]
    values = [s.strftime(fmt) for s in stamps]
    guess = guess_date_format(values, prefer_day_first=fmt.startswith("%d"))
    assert guess is not None
    assert [datetime.strptime(v, guess) for v in values] == [
        datetime.strptime(v, fmt) for v in values]
