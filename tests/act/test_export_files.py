import pandas as pd
from act_tables import HOSTILE
from openpyxl import load_workbook

from prisme.act.files import neutralise, write_frame

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _frame():
    return pd.DataFrame({
        "name": [*HOSTILE, "-2+3", "@SUM(A1)", "\tx", "\r=1", "plain", None],
        "phone": ["+33612345678", "-12.5", "+33 6 12", "=1+1", "a", "b", "c", None],
        "n": [1, 2, 3, 4, 5, 6, 7, 8],
    })


def test_neutralise_keeps_plain_text_and_numbers():
    assert neutralise("Dupont") == "Dupont"
    assert neutralise("+33612345678") == "+33612345678"
    assert neutralise(HOSTILE[0]) == "'" + HOSTILE[0]
    assert neutralise(HOSTILE[1]) == "'" + HOSTILE[1]
    assert neutralise(3) == 3


def test_csv_cells_cannot_run(tmp_path):
    out = write_frame(_frame(), tmp_path / "l.csv")
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for value in back.name.tolist() + back.phone.tolist():
        if value.startswith(DANGEROUS):
            assert value in ("+33612345678", "-12.5", "+33 6 12"), value
    assert back.name[0] == "'" + HOSTILE[0]
    assert back.name[1] == "'" + HOSTILE[1]
    assert back.phone[3] == "'=1+1"


def test_xlsx_cells_are_text_never_formulas(tmp_path):
    out = write_frame(_frame(), tmp_path / "l.xlsx")
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(min_row=2))
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str) and cell.value.startswith(DANGEROUS):
                assert cell.value in ("+33612345678", "-12.5", "+33 6 12"), cell.value
    assert rows[0][0].value == "'" + HOSTILE[0]
    assert rows[1][0].value == "'" + HOSTILE[1]


def test_parquet_keeps_values_as_they_are(tmp_path):
    out = write_frame(_frame(), tmp_path / "l.parquet")
    assert pd.read_parquet(out).name[0] == HOSTILE[0]


def test_a_line_break_inside_a_value_does_not_start_a_row(tmp_path):
    import csv

    out = write_frame(pd.DataFrame({"name": ["a\r=1+1", "b\n@x", "\r\n-1+1"]}), tmp_path / "l.csv")
    with open(out, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["name"], ["a\r=1+1"], ["b\n@x"], ["'\r\n-1+1"]]
