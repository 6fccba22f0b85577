"""Identity resolution: Prisme's ``resolve`` against two plain Splink configurations.

    python bench/identity.py            # accuracy + demo lists of 100k and 1M records
    python bench/identity.py --quick    # accuracy + 20k and 100k records
    python bench/identity.py --sizes 20000 --no-accuracy

Accuracy: pairwise precision / recall / F1 (``prisme.identity.evaluate``) on Febrl 4 (4a + 4b as
one list, 5,000 true links; mapped to canonical columns only, then with ``soc_sec_id`` declared
an identifier, each beside plain Splink on the same columns: ``columns_splink``), Splink's fake_1000 (181 clusters) and the demo company (its
``truth/persons.csv``), with the precision on pairs of the same household shown apart.
Scale: wall time of the resolution (reading the files excluded) and the peak resident memory
of a fresh process per run, on demo lists of the given sizes, both tools on the same records
and the same engine settings (DuckDB, 2 threads, 6 GB memory limit). Prisme's time is also
split by step (from ``resolve``'s progress callback): normalisation + blocking keys, training
(λ, u, EM), scoring (Splink predict), clustering + household guard.

The plain configuration is the Splink tutorial's: NameComparison on first and last name,
DateOfBirthComparison, PostcodeComparison, EmailComparison, exact phone; blocking on
first+last name, last name+birth date, postcode+first name, e-mail and phone; λ from
deterministic rules, u by random sampling, m by EM; clusters at 0.9 by connected components.
Its input gets the basic cleaning an analyst would do (trim, lower case, ISO dates, digits-only
phones), not Prisme's normalisation.

The careful configuration is what an analyst using plain Splink, without Prisme's machinery,
would do after looking at a frequency table: e-mails, phones and birth dates held by more than
20 records and more than 10× the mean count of a value of their column are placeholders
(``noemail@…``, ``n/a``, ``0000000000``, ``1900-01-01``) and are nulled; first and last name
comparisons get term-frequency adjustments; the same comparisons, blocking rules (with the
placeholders gone no e-mail/phone block explodes) and training; pairs and clusters at 0.99.
Settings chosen by reasoning and one 20k run, not on the 100k truth. ``--no-plain`` skips both.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from identity_data import demo_records, fake_1000, febrl4  # noqa: E402

from prisme.config import IdentitySettings  # noqa: E402
from prisme.identity import evaluate, resolve  # noqa: E402

#: the steps ``resolve`` reports through its progress callback, in order
STAGES = ("normalise + blocking keys", "training", "scoring", "clustering + household guard")
#: demo customer records per real person (three systems, duplicates): ~1.64 at any size
RECORDS_PER_PERSON = 1.64
CACHE = Path(tempfile.gettempdir()) / "prisme-bench-identity"
#: careful Splink: values of these columns held by > max(MIN, RATIO × mean count) records are
#: placeholders and nulled before linking; pairs and clusters kept at this match probability
PLACEHOLDER_COLUMNS = ["email", "phone", "birth_date"]
PLACEHOLDER_MIN, PLACEHOLDER_RATIO = 20, 10
CAREFUL_THRESHOLD = 0.99


# ------------------------------------------------------------------------------ plain Splink
def _plain_input(df: pd.DataFrame, identifiers: list[str]) -> pd.DataFrame:
    def text(col):
        if col not in df:
            return pd.Series(pd.NA, index=df.index, dtype="string")
        return df[col].astype("string").str.strip().str.lower().replace("", pd.NA)

    dob = pd.to_datetime(df["birth_date"], errors="coerce", format="mixed") \
        if "birth_date" in df else pd.Series(pd.NaT, index=df.index)
    out = pd.DataFrame({
        "unique_id": df["record_id"].astype(str),
        "first_name": text("first_name"), "last_name": text("last_name"),
        "birth_date": dob.dt.strftime("%Y-%m-%d").astype("string"),
        "email": text("email"), "postal_code": text("postal_code").str.replace(" ", ""),
        "city": text("city"), "address_line": text("address_line"),
        "phone": text("phone").str.replace(r"\D", "", regex=True).replace("", pd.NA),
    })
    for col in identifiers:
        out[col] = text(col)
    return out


def _null_placeholders(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Null the values of ``columns`` held by implausibly many records: more than
    ``PLACEHOLDER_MIN`` and more than ``PLACEHOLDER_RATIO`` times the mean count of a value of
    that column (the frequency table an analyst looks at before linking: ``noemail@…``,
    ``0000000000``, ``1900-01-01``). The ratio keeps birth dates of a large list, shared by
    dozens of real people, from being nulled."""
    data = data.copy()
    for col in columns:
        counts = data[col].value_counts()
        if counts.empty:
            continue
        limit = max(PLACEHOLDER_MIN, PLACEHOLDER_RATIO * counts.mean())
        data[col] = data[col].mask(data[col].isin(counts.index[counts > limit]))
    return data


def _splink_clusters(data: pd.DataFrame, identifiers: list[str], careful: bool) -> pd.Series:
    """Train, score and cluster ``data`` with plain Splink: the tutorial configuration, or the
    careful one (term-frequency adjusted names, threshold ``CAREFUL_THRESHOLD``)."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    from prisme.engine import connect

    filled = data.notna().any()
    names = [cl.NameComparison("first_name"), cl.NameComparison("last_name")]
    if careful:
        names = [c.configure(term_frequency_adjustments=True) for c in names]
    comparisons = list(names)
    if filled["birth_date"]:
        comparisons.append(cl.DateOfBirthComparison("birth_date", input_is_string=True))
    if filled["postal_code"]:
        comparisons.append(cl.PostcodeComparison("postal_code"))
    elif filled["city"]:
        comparisons.append(cl.ExactMatch("city").configure(term_frequency_adjustments=True))
    if filled["email"]:
        comparisons.append(cl.EmailComparison("email"))
    if filled["phone"]:
        comparisons.append(cl.ExactMatch("phone"))
    comparisons += [cl.ExactMatch(c) for c in identifiers]
    rules = [block_on("first_name", "last_name"), block_on("last_name", "birth_date")]
    rules += [block_on("postal_code", "first_name")] if filled["postal_code"] else []
    rules += [block_on(c) for c in ["email", "phone", *identifiers] if filled[c]]
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=rules,
                               retain_matching_columns=False)
    threshold = CAREFUL_THRESHOLD if careful else 0.9
    with connect(path=":memory:") as eng:
        linker = Linker(eng.splink_api().register(data), settings, log_level=None)
        deterministic = [block_on("first_name", "last_name", "birth_date")]
        deterministic += [block_on("email")] if filled["email"] else []
        linker.training.estimate_probability_two_random_records_match(deterministic,
                                                                      recall=0.7)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
        for rule in (block_on("first_name", "last_name"), block_on("birth_date")):
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True)
        pred = linker.inference.predict(threshold_match_probability=threshold)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold)
        out = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    return data[["unique_id"]].merge(out, on="unique_id", how="left")["cluster_id"]


def columns_splink(df: pd.DataFrame, identifiers: list[str] | None = None) -> pd.Series:
    """Cluster ids of plain Splink on the canonical columns of a list without e-mail or phone
    (Febrl 4), as its documentation would have it: name comparisons on first and last name,
    the date of birth, Levenshtein on city (suburb), postcode and address, the identifiers
    exactly; six blocking rules (Splink's Febrl 4 example's); λ from a deterministic rule, u by random sampling, two EM
    passes (first + last name, date of birth); clusters at 0.9."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    from prisme.engine import connect

    identifiers = identifiers or []
    data = _plain_input(df, identifiers)
    comparisons = [cl.NameComparison("first_name"), cl.NameComparison("last_name"),
                   cl.DateOfBirthComparison("birth_date", input_is_string=True),
                   cl.LevenshteinAtThresholds("city", [1, 2]),
                   cl.LevenshteinAtThresholds("postal_code", [1, 2]),
                   cl.LevenshteinAtThresholds("address_line", [1, 2])]
    comparisons += [cl.ExactMatch(c) for c in identifiers]
    # the blocking of Splink's own Febrl 4 example, on the canonical columns
    rules = [block_on("first_name", "last_name"),
             "l.first_name = r.last_name AND l.last_name = r.first_name",
             block_on("birth_date"), block_on("city", "address_line"),
             block_on("postal_code"), block_on("last_name", "city")]
    rules += [block_on(c) for c in identifiers]
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=rules,
                               retain_matching_columns=False)
    with connect(path=":memory:") as eng:
        linker = Linker(eng.splink_api().register(data), settings, log_level=None)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("first_name", "last_name", "birth_date")], recall=0.7)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
        for rule in (block_on("first_name", "last_name"), block_on("birth_date")):
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True)
        pred = linker.inference.predict(threshold_match_probability=0.9)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.9)
        out = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    return data[["unique_id"]].merge(out, on="unique_id", how="left")["cluster_id"]


def plain_splink(df: pd.DataFrame, identifiers: list[str] | None = None) -> pd.Series:
    """Cluster ids of the tutorial configuration (see the module docstring)."""
    identifiers = identifiers or []
    return _splink_clusters(_plain_input(df, identifiers), identifiers, careful=False)


def careful_splink(df: pd.DataFrame, identifiers: list[str] | None = None) -> pd.Series:
    """Cluster ids of the careful configuration (see the module docstring): the tutorial's,
    with placeholder e-mails/phones/birth dates nulled, term-frequency adjusted names and
    clusters at ``CAREFUL_THRESHOLD``."""
    identifiers = identifiers or []
    data = _null_placeholders(_plain_input(df, identifiers), PLACEHOLDER_COLUMNS)
    return _splink_clusters(data, identifiers, careful=True)


# ----------------------------------------------------------------------------- one run
def _run(tool: str, load, identifiers: list[str], queue) -> None:
    """In a fresh process: load the records, resolve them with one tool, report."""
    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
    df, truth, within = load()
    start = time.perf_counter()
    marks: list[float] = []
    if tool == "prisme":
        pred = resolve(df, settings=IdentitySettings(identifier_columns=identifiers),
                       progress=lambda *_: marks.append(time.perf_counter()))["party_id"]
    elif tool == "careful":
        pred = careful_splink(df, identifiers)
    elif tool == "columns":
        pred = columns_splink(df, identifiers)
    else:
        pred = plain_splink(df, identifiers)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # GiB (Linux: KiB)
    score = evaluate(pred, truth)
    hh = evaluate(pred, truth, within=within) if within is not None else None
    queue.put({"tool": tool, "records": len(df), "seconds": seconds, "peak_gib": peak,
               **{k: score[k] for k in ("precision", "recall", "f1")},
               "household_precision": hh["precision"] if hh else None,
               "stages": _stages(marks)})


def _stages(marks: list[float]) -> dict[str, float]:
    """Seconds per step of ``resolve`` from the times its progress callback was called."""
    spans = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    return dict(zip(STAGES, spans, strict=False))


def run(tool: str, load, identifiers: list[str] | None = None) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(tool, load, identifiers or [], queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        return {"tool": tool, "error": f"exit code {proc.exitcode}"}
    return queue.get()


# ---------------------------------------------------------------------------- datasets
class Febrl4:
    """Febrl 4 mapped to canonical columns; ``soc_sec_id`` kept (to be declared an
    identifier) or dropped (canonical columns only)."""

    def __init__(self, with_id: bool = True) -> None:
        self.with_id = with_id

    def __call__(self):
        df, truth = febrl4()
        return (df if self.with_id else df.drop(columns=["soc_sec_id"])), truth, None


class Fake1000:
    def __call__(self):
        df, truth = fake_1000()
        return df, truth, None


class Demo:
    def __init__(self, records: int, seed: int = 11) -> None:
        self.records, self.seed = records, seed
        self.directory = CACHE / f"demo-{records}-{seed}"

    def prepare(self) -> None:
        if (self.directory / "truth" / "persons.csv").exists():
            return
        from prisme.demo import generate

        generate(customers=max(10, round(self.records / RECORDS_PER_PERSON)), seed=self.seed,
                 directory=self.directory)

    def __call__(self):
        df, truth = demo_records(self.directory)
        return df, truth["person_id"], truth["household_id"]


def _fmt(r: dict) -> str:
    if "error" in r:
        return f"{r['tool']:>7}: {r['error']}"
    hh = "" if r["household_precision"] is None else f"{r['household_precision']:.4f}"
    line = (f"{r['tool']:>7} {r['records']:>9,} {r['precision']:>9.4f} {r['recall']:>7.4f} "
            f"{r['f1']:>7.4f} {hh:>9} {r['seconds']:>9.1f} {r['peak_gib']:>8.2f}")
    if r.get("stages"):
        line += "\n" + " " * 8 + "stages (s): " + ", ".join(
            f"{k} {v:.1f}" for k, v in r["stages"].items())
    return line


HEADER = (f"{'tool':>7} {'records':>9} {'precision':>9} {'recall':>7} {'F1':>7} "
          f"{'hh prec':>9} {'seconds':>9} {'peak GiB':>8}")


def compare(name: str, load, identifiers: list[str] | None = None, plain: bool = True,
            peers: tuple[str, ...] = ("splink", "careful")) -> None:
    print(f"\n{name}\n{HEADER}")
    ours = run("prisme", load, identifiers)
    print(_fmt(ours), flush=True)
    if not plain:
        return
    for tool in peers:
        theirs = run(tool, load, identifiers)
        print(_fmt(theirs))
        if "error" not in ours and "error" not in theirs:
            print(f"{'ratio':>7} time {tool}/prisme {theirs['seconds'] / ours['seconds']:.2f}x, "
                  f"memory {tool}/prisme {theirs['peak_gib'] / ours['peak_gib']:.2f}x, "
                  f"F1 {ours['f1']:.4f} vs {theirs['f1']:.4f}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scale runs at 20k and 100k")
    parser.add_argument("--sizes", type=int, nargs="*", help="demo list sizes (records)")
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--no-plain", action="store_true", help="skip both Splink peers (tutorial and careful)")
    args = parser.parse_args(argv)
    sizes = args.sizes if args.sizes is not None else (
        [20_000, 100_000] if args.quick else [100_000, 1_000_000])
    plain = not args.no_plain
    print("identity resolution: prisme.identity.resolve vs plain Splink "
          "(2 threads, DuckDB memory_limit 6GB)")
    if not args.no_accuracy:
        compare("Febrl 4 (4a + 4b as one list), canonical columns only (bar F1 0.985)",
                Febrl4(with_id=False), None, plain, peers=("columns",))
        compare("Febrl 4, soc_sec_id declared an identifier (bar F1 0.997)",
                Febrl4(), ["soc_sec_id"], plain, peers=("columns",))
        compare("splink fake_1000 (bar F1 0.95)", Fake1000(), None, plain)
    for n in sizes:
        demo = Demo(n)
        demo.prepare()
        compare(f"demo company, ~{n:,} records (bar F1 0.97; hh prec = precision on pairs "
                "of one household)", demo, None, plain)


if __name__ == "__main__":
    main()
