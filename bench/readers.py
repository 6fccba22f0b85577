"""Readers and normalisers: Prisme's CSV reader against DuckDB's bare read_csv, and the
phone / country normalisers at a million rows.

    python bench/readers.py [--quick] [--lines N]

Each variant runs in its own process so that its peak memory (max RSS) is its own. The CSV is
a French-style export (``;``, decimal commas, dd/mm/yyyy) written once under bench/_work.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work" / "readers"

VARIANTS = {
    "duckdb read_csv (typed table)": """
import duckdb, time
con = duckdb.connect(); con.execute("SET threads=2"); con.execute("SET memory_limit='2GB'")
t = time.perf_counter()
con.execute("CREATE TEMP TABLE t AS SELECT * FROM read_csv(?, delim=';', header=true)", [PATH])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(n, time.perf_counter() - t)
""",
    "duckdb read_csv (all text)": """
import duckdb, time
con = duckdb.connect(); con.execute("SET threads=2"); con.execute("SET memory_limit='2GB'")
t = time.perf_counter()
con.execute("CREATE TEMP TABLE t AS SELECT * FROM read_csv(?, delim=';', header=true, "
            "all_varchar=true)", [PATH])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(n, time.perf_counter() - t)
""",
    "prisme open_source (sniff+sha256+rejects+__line)": """
import time
from pathlib import Path
from prisme import engine as em
from prisme.config import Settings, SourceSettings
from prisme.ingest.readers import open_source
s = Settings(); s.engine.memory_limit = "2GB"
eng = em.connect(s, path=":memory:")
t = time.perf_counter()
raw = next(open_source(eng, "bench", SourceSettings(entity="transaction", path=PATH), Path(".")))
n = eng.scalar(raw.table[raw.table["__line"] > 0].count())  # one scan with __line
print(raw.rows_read, time.perf_counter() - t)
""",
}

NORMALISERS = """
import time
from prisme import engine as em
from prisme.config import Settings
from prisme.ingest import normalise as N
s = Settings(); s.engine.memory_limit = "2GB"
eng = em.connect(s, path=":memory:")
eng.execute_sql("CREATE TABLE p AS SELECT CASE WHEN i % 20 = 0 THEN '+44 20 7946 ' || "
    "lpad((i % 10000)::varchar, 4, '0') ELSE '06 ' || lpad(((i * 7919) % 1000000)::varchar, 8, "
    "'0') END AS phone, (['France', 'Royaume-Uni', 'EIRE', 'Allemagne', 'USA', 'fr', 'GBR', "
    "'Sénégal'])[1 + (i % 8)] AS country FROM range(1000000) t(i)")
t = eng.table("p")
out = {}
start = time.perf_counter(); eng.scalar(N.phone_e164(eng, t.phone, "FR").count())
out["phone_e164, 1M rows (~950k distinct)"] = time.perf_counter() - start
start = time.perf_counter(); [N.phone_to_e164(v, "FR") for v in
    eng.to_pandas(t.phone.name("v").as_table().limit(50000))["v"]]
out["phonenumbers in Python, per 1M (from 50k)"] = (time.perf_counter() - start) * 20
start = time.perf_counter(); eng.scalar(N.country_iso2(t.country, eng).count())
out["country_iso2 (lookup in engine), 1M rows"] = time.perf_counter() - start
start = time.perf_counter(); eng.scalar(N.country_iso2(t.country).count())
out["country_iso2 (inlined map), 1M rows"] = time.perf_counter() - start
print(json.dumps(out))
"""


def write_csv(path: Path, lines: int) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT 'O' || (i // 3) AS "N° commande", 'C' || (i % 50000) AS
        "N° client", strftime(DATE '2020-01-01' + (i % 1000)::int, '%d/%m/%Y') AS
        "Date commande", 'SKU' || (i % 3000) AS "Référence", (i % 7 + 1)::varchar AS
        "Quantité", replace(((i % 10000) / 100.0)::varchar, '.', ',') AS "Prix unitaire",
        'Boutique ' || (i % 20) AS "Magasin" FROM range({lines}) t(i))
        TO '{path}' (DELIMITER ';', HEADER)""")


def run(code: str, path: Path) -> tuple[str, float]:
    """Run ``code`` in a fresh interpreter; return its last output line and its peak RSS (MiB)."""
    tail = "\nimport resource as _r\nprint('RSS', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss)\n"
    proc = subprocess.run(
        [sys.executable, "-c", f"PATH = {str(path)!r}\nimport json\n" + code + tail],
        capture_output=True, text=True, check=True,
    )
    lines = proc.stdout.strip().splitlines()
    return lines[-2], int(lines[-1].split()[1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1M lines instead of 10M")
    ap.add_argument("--lines", type=int, default=None)
    args = ap.parse_args()
    lines = args.lines or (1_000_000 if args.quick else 10_000_000)
    path = WORK / f"orders_{lines}.csv"
    if not path.exists():
        write_csv(path, lines)
    size = path.stat().st_size / 2**20
    print(f"CSV: {lines:,} lines, {size:,.0f} MiB ({path.name})")
    print(f"{'variant':<52} {'s':>7} {'rows/s':>12} {'peak MiB':>9} {'× bare':>7}")
    results = {}
    for name, code in VARIANTS.items():
        t0 = time.perf_counter()
        out, peak = run(code, path)
        rows, seconds = out.split()
        results[name] = (int(rows), float(seconds), peak, time.perf_counter() - t0)
    bare = results["duckdb read_csv (typed table)"][1]
    for name, (rows, seconds, peak, _) in results.items():
        print(f"{name:<52} {seconds:7.2f} {rows / seconds:12,.0f} {peak:9,.0f} "
              f"{seconds / bare:7.2f}")
    out, _ = run(NORMALISERS, path)
    print()
    for name, seconds in json.loads(out).items():
        print(f"{name:<52} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
