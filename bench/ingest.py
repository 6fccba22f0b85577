"""Benchmark: ``prisme ingest`` against DuckDB's bare ``read_csv`` and a pandas read-and-clean.

    python bench/ingest.py            # 10M-line synthetic sales export + Online Retail
    python bench/ingest.py --quick    # 1M lines + Online Retail

Each variant runs in its own subprocess (so peak memory is its own): rows per second and peak
RSS (VmHWM). The clock starts after each variant's imports (duckdb; pandas; prisme with its
Ibis DuckDB backend) and stops when its result is complete. Variants, on the same file:

* ``prisme ingest`` — reader, validation (typed columns, reasons), quarantine, derived revenue,
  the load journal, all in one transaction, into a warehouse file;
* ``duckdb read_csv`` — the bound: DuckDB's own reader with type sniffing, into a table of a
  database file, same threads and memory limit, no validation;
* ``pandas (c)`` / ``pandas (pyarrow)`` — what an analyst would write: read, parse the numbers
  (decimal comma), the dates (with the format), drop what does not parse, compute revenue.

The synthetic file has the demo company's store-sales format (``;`` separator, decimal comma,
``dd/mm/yyyy hh:mm`` dates, French headers) with the defects real exports have: anonymous lines,
returns, blank and non-numeric quantities, impossible dates, ragged lines. Generated files go to
``bench/_work/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
REPO = HERE.parent
ONLINE_RETAIL = REPO.parent / "shared" / "data" / "online_retail" / "Online_Retail.csv.gz"
MEMORY_LIMIT = "1500MB"
THREADS = 2

SYNTH = dict(separator=";", decimal=",", date_format="%d/%m/%Y %H:%M", encoding="utf-8",
             columns={"order_id": "NUM_TICKET", "ordered_at": "DATE_VENTE",
                      "source_customer_id": "NUM_CLIENT", "sku": "CODE_ART",
                      "quantity": "QTE", "unit_price": "PU_TTC", "channel": "CANAL",
                      "branch": "AGENCE", "payment_method": "MODE_REGLEMENT"},
             derive={"revenue": "quantity * unit_price", "is_return": "quantity < 0"})
RETAIL = dict(separator=",", decimal=".", date_format="%Y-%m-%d %H:%M:%S", encoding="utf-8",
              columns={"order_id": "InvoiceNo", "sku": "StockCode", "quantity": "Quantity",
                       "ordered_at": "InvoiceDate", "unit_price": "UnitPrice",
                       "source_customer_id": "CustomerID"},
              derive={"revenue": "quantity * unit_price",
                      "is_return": "order_id startswith 'C'"})


# ------------------------------------------------------------------------ data
def write_synthetic(path: Path, lines: int, seed: int = 7, chunk: int = 1_000_000) -> Path:
    """A store-sales export of ``lines`` data lines, written in chunks (never held whole)."""
    if path.exists() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    header = "NUM_TICKET;DATE_VENTE;NUM_CLIENT;CODE_ART;LIBELLE;QTE;PU_TTC;CANAL;AGENCE;" \
             "MODE_REGLEMENT;TYPE_PIECE\n"
    stores = np.array(["Lyon Part-Dieu", "Paris Opéra", "Lille Centre", "Nantes", "Bordeaux",
                       "Londres Oxford St", "Service client"], dtype=object)
    pay = np.array(["CB", "CB", "CB", "Espèces", "Chèque", "Carte cadeau"], dtype=object)
    names = np.array(["Bol céramique", "Plaid laine", "Lampe laiton", "Vase grès",
                      "Coussin lin", "Théière fonte"], dtype=object)
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        done = 0
        while done < lines:
            n = min(chunk, lines - done)
            fh.write(_synthetic_chunk(rng, done, n, stores, pay, names))
            done += n
    tmp.rename(path)
    return path


def _synthetic_chunk(rng, start, n, stores, pay, names) -> str:
    ticket = (start + np.arange(n)) // 3
    minutes = rng.integers(0, 4 * 365 * 24 * 60, n)
    when = pd.to_datetime("2022-01-01") + pd.to_timedelta(minutes, unit="min")
    date = pd.Series(when.strftime("%d/%m/%Y %H:%M"), dtype=object)
    customer = pd.Series("C" + pd.Series(rng.integers(1, 1_000_000, n)).astype(str),
                         dtype=object)
    customer[rng.random(n) < 0.2] = ""  # anonymous sales
    ret = rng.random(n) < 0.04
    qty = rng.integers(1, 6, n) * np.where(ret, -1, 1)
    qty_text = pd.Series(qty.astype(str), dtype=object)
    price = rng.integers(99, 25_000, n) / 100
    price_text = pd.Series(np.char.replace(np.char.mod("%.2f", price), ".", ","), dtype=object)
    defect = rng.random(n)
    date[defect < 0.0005] = "31/02/2024 10:00"  # impossible dates
    qty_text[(defect >= 0.0005) & (defect < 0.001)] = "deux"  # text in a number column
    qty_text[(defect >= 0.001) & (defect < 0.0015)] = ""  # blank required value
    sku = pd.Series("ART" + pd.Series(rng.integers(1, 5_000, n)).astype(str).str.zfill(5),
                    dtype=object)
    frame = pd.DataFrame({
        "NUM_TICKET": "V" + pd.Series(ticket).astype(str).str.zfill(8),
        "DATE_VENTE": date, "NUM_CLIENT": customer, "CODE_ART": sku,
        "LIBELLE": names[rng.integers(0, len(names), n)],
        "QTE": qty_text, "PU_TTC": price_text,
        "CANAL": np.where(rng.random(n) < 0.9, "Magasin", "Téléphone"),
        "AGENCE": stores[rng.integers(0, len(stores), n)],
        "MODE_REGLEMENT": pay[rng.integers(0, len(pay), n)],
        "TYPE_PIECE": np.where(ret, "AVOIR", "VENTE"),
    })
    text = frame.to_csv(sep=";", index=False, header=False)
    lines = text.split("\n")
    for i in range(1_001, len(lines) - 1, 200_003):  # a ragged line now and then
        lines[i] = lines[i] + ";EXTRA"
    return "\n".join(lines)


# -------------------------------------------------------------------- variants
PRISME = """
import json, sys, time
PEAK
from pathlib import Path
from prisme.config import Settings, SourceSettings
from prisme.ingest import ingest
import prisme.engine.duckdb_backend  # libraries are imported before the clock, as for the others
spec = json.loads(sys.argv[1])
root = Path(spec["root"]); root.mkdir(parents=True, exist_ok=True)
for f in root.glob("warehouse.*"):
    f.unlink()
s = Settings(); s.root = root
s.engine.memory_limit = spec["memory_limit"]; s.engine.threads = spec["threads"]
s.engine.temp_directory = str(root / "spill")
s.sources["sales"] = SourceSettings(entity="transaction", path=spec["file"],
                                    constants={"source": "bench"}, **spec["source"])
t0 = time.perf_counter()
(r,) = ingest(s)
seconds = time.perf_counter() - t0
assert r.status == "loaded", r.message
print(json.dumps({"rows": r.rows_read, "seconds": seconds, "loaded": r.rows_loaded,
                  "quarantined": r.rows_quarantined,
                  "rss": peak_rss()}))
"""

DUCKDB = """
import json, sys, time
PEAK
from pathlib import Path
import duckdb
spec = json.loads(sys.argv[1])
root = Path(spec["root"]); root.mkdir(parents=True, exist_ok=True)
db = root / "bare.duckdb"
for f in root.glob("bare.duckdb*"):
    f.unlink()
con = duckdb.connect(str(db))
con.execute(f"SET memory_limit = '{spec['memory_limit']}'")
con.execute(f"SET threads = {spec['threads']}")
src = spec["source"]
t0 = time.perf_counter()
con.execute(
    "CREATE TABLE sales AS SELECT * FROM read_csv(?, delim = ?, decimal_separator = ?, "
    "header = true, ignore_errors = true)", [spec["file"], src["separator"], src["decimal"]])
rows = con.execute("SELECT count(*) FROM sales").fetchone()[0]
con.close()
seconds = time.perf_counter() - t0
print(json.dumps({"rows": rows, "seconds": seconds,
                  "rss": peak_rss()}))
"""

PANDAS = """
import json, sys, time
PEAK
import pandas as pd
spec = json.loads(sys.argv[1])
src, cols = spec["source"], spec["source"]["columns"]
t0 = time.perf_counter()
df = pd.read_csv(spec["file"], sep=src["separator"], dtype=str, keep_default_na=False,
                 engine=spec["engine"], on_bad_lines="skip")
def number(s):
    s = s.str.strip()
    if src["decimal"] == ",":
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(s, errors="coerce")
qty = number(df[cols["quantity"]])
price = number(df[cols["unit_price"]])
when = pd.to_datetime(df[cols["ordered_at"]], format=src["date_format"], errors="coerce")
order, sku = df[cols["order_id"]].str.strip(), df[cols["sku"]].str.strip()
ok = qty.notna() & price.notna() & when.notna() & (order != "") & (sku != "")
clean = pd.DataFrame({"order_id": order, "ordered_at": when,
                      "source_customer_id": df[cols["source_customer_id"]].replace("", None),
                      "sku": sku, "quantity": qty, "revenue": (qty * price).round(4)})[ok]
seconds = time.perf_counter() - t0
print(json.dumps({"rows": len(df), "seconds": seconds, "loaded": int(ok.sum()),
                  "rss": peak_rss()}))
"""

#: peak resident memory of this process (VmHWM: not inherited from the parent across exec,
#: unlike ru_maxrss)
PEAK_RSS = """
def peak_rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
"""
VARIANTS = {"prisme ingest": PRISME, "duckdb read_csv": DUCKDB, "pandas (c)": PANDAS,
            "pandas (pyarrow)": PANDAS}


def run_variant(name: str, file: Path, source: dict, tag: str) -> dict:
    spec = {"file": str(file), "source": source, "root": str(WORK / f"{tag}_{name[:6]}"),
            "memory_limit": MEMORY_LIMIT, "threads": THREADS,
            "engine": "pyarrow" if "pyarrow" in name else "c"}
    code = textwrap.dedent(VARIANTS[name]).replace("PEAK", textwrap.dedent(PEAK_RSS))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True,
                         text=True, cwd=REPO)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1],
                "seconds": time.perf_counter() - t0}
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(title: str, results: dict[str, dict]) -> list[str]:
    bound = results.get("duckdb read_csv", {}).get("seconds")
    pandas_best = min((r["seconds"] for k, r in results.items()
                       if k.startswith("pandas") and "error" not in r), default=None)
    lines = [f"### {title}", "",
             "| variant | rows | seconds | rows/s | peak RSS (MiB) | × bare read | "
             "× best pandas |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error'][:80]} | | | | | |")
            continue
        ratio = r["seconds"] / bound if bound else float("nan")
        vs_pandas = r["seconds"] / pandas_best if pandas_best else float("nan")
        lines.append(
            f"| {name} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} "
            f"| {r['rss'] / 2**20:,.0f} | {ratio:.2f} | {vs_pandas:.2f} |"
        )
    p = results.get("prisme ingest", {})
    if "loaded" in p:
        lines.append("")
        lines.append(f"prisme: {p['loaded']:,} loaded + {p['quarantined']:,} quarantined = "
                     f"{p['loaded'] + p['quarantined']:,} of {p['rows']:,} lines read.")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1M synthetic lines instead of 10M")
    ap.add_argument("--lines", type=int, default=None, help="synthetic lines (overrides)")
    ap.add_argument("--skip-retail", action="store_true")
    ap.add_argument("--only", nargs="*", default=None, help="variants to run (default: all)")
    args = ap.parse_args()
    lines = args.lines or (1_000_000 if args.quick else 10_000_000)
    file = write_synthetic(WORK / f"ventes_{lines}.csv", lines)
    out = [f"machine: 2 cores, 24 GiB; DuckDB memory_limit {MEMORY_LIMIT}, {THREADS} threads", ""]
    cases = [(f"Synthetic store-sales export, {lines:,} lines ({file.stat().st_size / 2**20:,.0f}"
              " MiB, `;`, decimal comma, dd/mm/yyyy)", file, SYNTH, f"synth{lines}")]
    if not args.skip_retail:
        cases.append(("Online Retail (541,909 lines, gzip CSV)", ONLINE_RETAIL, RETAIL, "retail"))
    for title, path, source, tag in cases:
        results = {}
        for name in args.only or VARIANTS:
            results[name] = run_variant(name, path, source, tag)
            print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
        out += report(title, results) + [""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
