"""GDPR erasure on a small demo: the person's bytes are gone from the warehouse file, its WAL
and the audit store, and the same sources delivered again do not bring them back."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prisme import engine as engine_mod
from prisme.access import audit
from prisme.act import erase as erasure
from prisme.cli import app
from prisme.config import load_settings

runner = CliRunner()


def _bytes(root: Path) -> bytes:
    """The warehouse file, its WAL, its published copies (what readers open) and the audit
    store with its WAL, lower-cased."""
    files = [root / n for n in ("warehouse.duckdb", "warehouse.duckdb.wal", "access.sqlite3",
                                "access.sqlite3-wal")]
    files += sorted((root / ".published").glob("*"))
    assert any(f.name.endswith(".duckdb") for f in files[4:])  # the demo publishes
    return b"".join(f.read_bytes() for f in files if f.is_file()).lower()


def _pick_person(eng) -> tuple[str, pd.DataFrame, set[str]]:
    """A party with several records, an e-mail and a phone, whose last name no other record
    has in any text column (so that finding it in the bytes means finding *them*)."""
    v = eng.to_pandas(eng.table("dim_customer"))
    pm = eng.to_pandas(eng.table("party_map"))
    v = v.merge(pm, on=["source", "source_customer_id"])
    text_cols = [c for c in v.columns if v[c].dtype == object or str(v[c].dtype) == "str"]
    for party, recs in v.groupby("party_id"):
        if len(recs) < 2 or recs.email.isna().all() or recs.phone.isna().all():
            continue
        names = {n.lower() for n in recs.last_name.dropna()} | \
            {n.lower() for n in recs.first_name.dropna()}
        names = {n for n in names if len(n) >= 5}
        last = {n.lower() for n in recs.last_name.dropna()} & names
        others = v[v.party_id != party]
        text = "\n".join(others[c].dropna().astype(str).str.lower().str.cat(sep="\n")
                         for c in text_cols)
        unique = {n for n in last if not re.search(re.escape(n), text)}
        if unique:
            return party, recs, unique
    raise AssertionError("no person with a unique last name in the demo")


@pytest.mark.slow
def test_erase_leaves_no_byte_and_the_person_stays_out_after_a_reload(demo_copy):
    root = demo_copy
    settings = load_settings(root)
    with engine_mod.connect(settings) as eng:
        party, recs, names = _pick_person(eng)
        email = recs.email.dropna().iloc[0]
    audit.record(root, "alice", "view_customer", party, {"q": email})
    secrets = {e.lower().encode() for e in recs.email.dropna()} | \
        {p.encode() for p in recs.phone.dropna()} | {n.encode() for n in names}
    before = _bytes(root)
    assert all(s in before for s in secrets)  # the test can see them before

    result = runner.invoke(app, ["erase", "--project", str(root), "--email", email.upper()],
                           input="y\n")
    assert result.exit_code == 0, result.output
    assert "Erasure E" in result.output and "warehouse file compacted" in result.output
    after = _bytes(root)
    assert [s for s in secrets if s in after] == []
    with engine_mod.connect(settings, read_only=True) as eng:
        assert party not in set(eng.to_pandas(eng.table("customer_360")).party_id)
        sales = eng.table("fact_sales")
        assert eng.scalar(sales.count()) > 0  # anonymised, not lost
    ev = audit.events(root, action="erase")[0]
    assert ev["actor"].startswith("cli:") and email.lower() not in str(ev).lower()
    assert audit.events(root, actor="alice")[0]["subject"] == "erased"

    # the same customer files delivered again, one line changed; ingest + build
    crm = root / "sources" / "crm" / "clients.csv"
    lines = crm.read_bytes().split(b"\n")
    lines[-2] = lines[-2].replace(b";", b"; ", 1)
    crm.write_bytes(b"\n".join(lines))
    for command in (["ingest"], ["build"]):
        out = runner.invoke(app, [*command, "--project", str(root)])
        assert out.exit_code == 0, out.output
    with engine_mod.connect(settings, read_only=True) as eng:
        dc = eng.to_pandas(eng.table("dim_customer"))
        assert email.lower() not in set(dc.email.dropna().str.lower())
        assert not set(zip(dc.source, dc.source_customer_id, strict=True)) & set(
            zip(recs.source, recs.source_customer_id, strict=True))
        c360 = eng.to_pandas(eng.table("customer_360"))
        assert email.lower() not in set(c360.email.dropna().str.lower())
        q = eng.to_pandas(eng.table("quarantine"))
        held = q[q.reason.str.startswith("erased person")]
        assert len(held) >= 1 and held.raw_record.isna().all() and held.raw_value.isna().all()
    assert [s for s in secrets if s in _bytes(root)] == []


@pytest.mark.slow
def test_erase_refuses_an_unknown_person(demo_copy):
    settings = load_settings(demo_copy)
    with engine_mod.connect(settings) as eng, pytest.raises(erasure.ErasureError,
                                                            match="nobody"):
        erasure.erase(eng, settings, email="nobody@nowhere.example", actor="cli:test")
    with pytest.raises(erasure.ErasureError, match="exactly one"):
        erasure.find_person(None, email="a@b.fr", party="P1")
