"""The command line: project folders, messages with brackets (Rich markup), python -m prisme."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from prisme.cli import app

runner = CliRunner()


def _run(*args):
    result = runner.invoke(app, list(args), terminal_width=400)
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["status", "build", "ingest", "quality"])
def test_a_folder_without_prisme_toml_is_an_error_not_an_empty_warehouse(tmp_path, command):
    code, out = _run(command, "--project", str(tmp_path))
    assert code != 0
    assert "prisme.toml" in out and "not a Prisme project" in out
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_python_dash_m_prisme_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "prisme", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "ingest" in done.stdout


def test_an_unknown_key_names_the_key_and_its_section_once(tmp_path):
    (tmp_path / "prisme.toml").write_text(
        '[sources.crm]\nentity = "customer"\npath = "c.csv"\ncolums = {}\n', encoding="utf-8")
    code, out = _run("status", "--project", str(tmp_path))
    assert code != 0
    assert out.count("colums") == 1
    assert "unknown key 'colums' in [sources.crm]" in out  # brackets survive Rich
    assert "did you mean 'columns'" in out
    assert "Extra inputs are not permitted" not in out


def test_every_message_with_brackets_reaches_the_terminal_whole(tmp_path):
    (tmp_path / "shop.csv").write_text("Ref;Qty\n[A1];2\n", encoding="utf-8")
    (tmp_path / "prisme.toml").write_text(
        '[sources.shop]\nentity = "transaction"\npath = "shop.csv"\n'
        '[sources.shop.columns]\nsku = "Ref"\n', encoding="utf-8")
    code, out = _run("ingest", "--project", str(tmp_path))
    assert code == 2  # a failed batch
    # the hint a user needs, with its brackets (Rich would read them as markup)
    assert "[sources.shop.columns]" in " ".join(out.split())
    code, out = _run("status", "--project", str(tmp_path))
    assert code == 0 and "failed files" in out


def test_failed_batches_are_not_added_to_the_rows_read_of_status(tmp_path):
    (tmp_path / "c.csv").write_text("id;name\n1;Martin\n2;Durand\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("x;y\n1;2\n3;4\n5;6\n", encoding="utf-8")
    (tmp_path / "prisme.toml").write_text(
        '[sources.crm]\nentity = "customer"\npath = "c.csv"\n'
        '[sources.crm.columns]\nsource_customer_id = "id"\nlast_name = "name"\n'
        '[sources.crm.constants]\nsource = "crm"\n'
        '[sources.other]\nentity = "customer"\npath = "bad.csv"\n'
        '[sources.other.columns]\nsource_customer_id = "id"\n'
        '[sources.other.constants]\nsource = "other"\n', encoding="utf-8")
    _run("ingest", "--project", str(tmp_path))
    code, out = _run("status", "--project", str(tmp_path))
    total = next(line for line in out.splitlines() if "total" in line)
    numbers = [c for c in total.replace("│", " ").split() if c.isdigit()]
    # read, loaded, quarantined (the failed file's 3 lines are not among them), failed files
    assert numbers == ["2", "2", "0", "1"]
