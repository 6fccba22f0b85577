"""The seam between business code and the engines, enforced.

* ``lint-imports`` (import-linter, contracts in ``pyproject.toml``): layers point one way
  (serve → act → i18n → analytics | ingest | identity | access → warehouse → engine), the engine
  imports no business module, only ``prisme.engine`` imports duckdb or pyspark;
* outside ``src/prisme/engine/``: no SQL text naming a DuckDB-only function, no DuckDB
  catalog query, no private state of Ibis or Splink, no ``splink.internals`` (import-linter
  cannot name a subpackage of an external package), no raw SQL through ``execute_sql``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "prisme"
ENGINE = SRC / "engine"

#: functions DuckDB calls by a name no other engine shares (SQL text naming them is DuckDB-only)
DUCKDB_FUNCTIONS = (
    "jaro_winkler_similarity", "jaro_similarity", "damerau_levenshtein",
    "list_intersect", "list_distinct", "list_value", "list_filter", "list_transform",
    "string_split", "str_split", "try_strptime", "strip_accents",
    "regexp_full_match", "read_csv_auto", "current_setting", "epoch_ms",
)
#: names that reach into an engine's internals, anywhere in the code
FORBIDDEN_NAMES = ("duckdb_functions", "duckdb_tables", "duckdb_views", "_register_udfs",
                   "_find_backend", "execute_sql", "_settings_obj")
_CALL = re.compile(r"\b(" + "|".join(DUCKDB_FUNCTIONS) + r")\s*\(", re.IGNORECASE)
_BUILTIN = re.compile(r"""builtin\([^)]*name\s*=\s*["'](\w+)["']""")


def _business_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if ENGINE not in p.parents)


def _strings(source: str) -> list[tuple[int, str]]:
    """The string literals of a module, with their line."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING or getattr(tokenize, "FSTRING_MIDDLE", -1) == tok.type:
            out.append((tok.start[0], tok.string))
    return out


def test_import_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "importlinter.cli"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "broken" in run.stdout and " 0 broken" in run.stdout, run.stdout[-2000:]


def test_no_duckdb_sql_or_private_engine_state_outside_the_engine():
    found = []
    for path in _business_files():
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        for line, text in _strings(source):
            for m in _CALL.finditer(text):
                # prose in a docstring may name a function; SQL text calls it: "name(" with
                # no space before the parenthesis and not inside ``…`` quotes
                if text.startswith(('"""', "'''")) and not re.search(
                        rf"(SELECT|WHERE|AND|OR|,)\s+{m.group(1)}\s*\(", text, re.I):
                    continue
                found.append(f"{rel}:{line}: SQL calls {m.group(1)}()")
        for m in _BUILTIN.finditer(source):
            if m.group(1).lower() in DUCKDB_FUNCTIONS:
                line = source[:m.start()].count("\n") + 1
                found.append(f"{rel}:{line}: a builtin named {m.group(1)!r}")
        for number, text in enumerate(source.splitlines(), start=1):
            code = text.split("#", 1)[0]
            for name in FORBIDDEN_NAMES:
                if re.search(rf"\b{name}\b", code):
                    found.append(f"{rel}:{number}: {name}")
            if re.search(r"\blinker\._", code):
                found.append(f"{rel}:{number}: linker._ (Splink's private state)")
            if re.search(r"^\s*(from|import)\s+splink\.internals\b", code):
                found.append(f"{rel}:{number}: splink.internals")
    assert not found, "\n".join(found)


def test_a_plain_grep_finds_no_duckdb_name_outside_the_engine():
    """The issue's own check, as blunt as ``grep -w``: no DuckDB function name, no engine
    internal, anywhere in a business module — not in code, a string, a comment or a docstring."""
    word = re.compile(r"\b(" + "|".join(DUCKDB_FUNCTIONS + FORBIDDEN_NAMES) + r")\b")
    found = [f"{path.relative_to(ROOT)}:{number}: {m.group(1)}"
             for path in _business_files()
             for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for m in word.finditer(text)]
    found += [f"{path.relative_to(ROOT)}:{number}: linker._"
              for path in _business_files()
              for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\blinker\._", text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("snippet", [
    'eng.execute_sql("SELECT jaro_winkler_similarity(a, b) FROM t")',
    "x = linker._settings_obj",
    "from splink.internals.exceptions import SplinkException",
    '@ibis.udf.scalar.builtin(name="try_strptime")',
])
def test_the_grep_catches_what_it_is_for(tmp_path, monkeypatch, snippet):
    """The check above is not vacuous: each kind of leak, planted in a business module, is
    found."""
    pkg = tmp_path / "src" / "prisme"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "identity").mkdir()
    (pkg / "identity" / "leak.py").write_text(snippet + "\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", pkg)
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", pkg / "engine")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError):
        test_no_duckdb_sql_or_private_engine_state_outside_the_engine()
