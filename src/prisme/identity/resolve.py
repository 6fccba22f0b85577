"""Identity resolution: give every source customer record the ``party_id`` of the person it is.

``resolve(df)`` normalises the records (:mod:`.normalise`), scores candidate pairs with a
Fellegi–Sunter model trained without labels (:mod:`.model`, Splink on the project's engine),
links pairs at ``match_threshold`` and clusters them under the household guard and the
steward's constraints (:mod:`.cluster`). The result is a partition: every record in one party.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from prisme.config import IdentitySettings
from prisme.identity import cluster, model
from prisme.identity.normalise import normalise

log = logging.getLogger(__name__)

Progress = Callable[..., None]
Pairs = Iterable[tuple[str, str]]

#: clusters bigger than this are checked for conflicts on their scored links only
_GUARD_ALL_PAIRS_UP_TO = 60
_STEPS = 6
#: random pairs sampled to estimate u (Splink: estimate_u_using_random_sampling)
_U_PAIRS = 3e5
_TASK = "identity resolution"


@dataclass
class Scored:
    """Normalised records and the scored candidate pairs (indices into ``records``)."""

    records: pd.DataFrame
    pairs: pd.DataFrame  # left, right, p, match_weight


def resolve(
    df: pd.DataFrame,
    *,
    settings: IdentitySettings | None = None,
    engine=None,
    must_link: Pairs | None = None,
    cannot_link: Pairs | None = None,
    progress: Progress | None = None,
    default_country: str = "FR",
) -> pd.DataFrame:
    """One ``party_id`` per source record.

    ``df``: canonical customer columns (any may be missing) and a unique ``record_id``.
    Returns ``record_id, party_id, match_probability`` in the input order; ``party_id`` is
    ``P`` + the smallest record_id of the party (re-running gives the same ids) and
    ``match_probability`` the probability of the record's strongest link inside its party
    (1.0 for a party of one or a must-link). ``must_link`` / ``cannot_link`` are
    ``(record_id, record_id)`` pairs that win over the model; must-links are transitive and a
    cannot-link splits whatever chain joined the two records.
    """
    settings = settings or IdentitySettings()
    step = _stepper(progress)
    record_ids = _record_ids(df)
    with _engine(engine) as eng:
        scored = _score(df, settings, eng, settings.match_threshold, step, default_country)
        step("clustering")
        edges = _edges(scored.pairs, settings.match_threshold, record_ids, must_link)
        hard = _pairs_to_index(record_ids, cannot_link, "cannot_link")
        guard = settings.household_guard == "on" or (
            settings.household_guard == "auto" and households_in(scored.records))
        labels, prob = cluster.partition(
            len(record_ids),
            edges,
            find_conflicts=(lambda lab: _household_conflicts(eng, scored, lab)) if guard
            else None,
            cannot_link=hard,
        )
    step("done")
    return pd.DataFrame(
        {
            "record_id": df["record_id"].to_numpy(),
            "party_id": cluster.party_ids(record_ids, labels).to_numpy(),
            "match_probability": prob,
        }
    )


def pairwise_scores(
    df: pd.DataFrame,
    *,
    settings: IdentitySettings | None = None,
    engine=None,
    threshold: float = 0.5,
    default_country: str = "FR",
) -> pd.DataFrame:
    """Scored candidate pairs ``record_id_l, record_id_r, match_probability, match_weight``
    at or above ``threshold`` (for stewards reviewing near-misses)."""
    settings = settings or IdentitySettings()
    record_ids = _record_ids(df)
    with _engine(engine) as eng:
        scored = _score(df, settings, eng, threshold, _stepper(None), default_country)
    p = scored.pairs
    return pd.DataFrame(
        {
            "record_id_l": record_ids.to_numpy()[p["left"].to_numpy(np.int64)],
            "record_id_r": record_ids.to_numpy()[p["right"].to_numpy(np.int64)],
            "match_probability": p["p"].to_numpy(),
            "match_weight": p["match_weight"].to_numpy(),
        }
    )


# ------------------------------------------------------------------------------------ steps
def _record_ids(df: pd.DataFrame) -> pd.Series:
    if "record_id" not in df.columns:
        raise ValueError(
            "resolve() needs a `record_id` column (one per source record); the columns are "
            + ", ".join(map(str, df.columns))
        )
    ids = df["record_id"].astype("string").reset_index(drop=True)
    if ids.isna().any():
        raise ValueError(f"record_id is empty on row {int(ids.isna().to_numpy().argmax())}")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise ValueError(f"record_id must be unique; {dup.iloc[0]!r} appears more than once")
    return ids


@contextlib.contextmanager
def _engine(engine) -> Iterator:
    """The caller's engine, or a throw-away in-memory one (closed afterwards)."""
    if engine is not None:
        yield engine
        return
    from prisme.engine import connect

    eng = connect(path=":memory:")
    try:
        yield eng
    finally:
        eng.close()


def _stepper(progress: Progress | None) -> Callable[[str], None]:
    done = [0]

    def step(what: str) -> None:
        log.info("identity: %s", what)
        if progress is not None:
            progress(_TASK, done[0], _STEPS)
        done[0] += 1

    return step


def _score(df, settings, eng, threshold, step, default_country) -> Scored:
    """Normalise, train the model without labels and score the blocked pairs."""
    step("normalising")
    rec = normalise(df, placeholder_min_count=settings.placeholder_min_count,
                    default_country=default_country, identifiers=settings.identifier_columns)
    rec["record_id"] = np.arange(len(rec), dtype=np.int64)  # Splink's id: the row index
    rec = model.blocking_keys(rec)
    empty = pd.DataFrame({"left": [], "right": [], "p": [], "match_weight": []})
    rules = model.prediction_rules(rec, settings.max_pairs) if len(rec) >= 2 else []
    if not rules:
        return Scored(rec, empty.astype({"left": np.int64, "right": np.int64}))
    step("training")
    before = set(eng.list_tables())
    try:
        linker, inputs = _train(eng, rec, rules)
        step("scoring pairs")
        predictions = linker.inference.predict(threshold_match_probability=threshold,
                                               warning_mode="never")
        pairs = predictions.as_pandas_dataframe()
    finally:
        _drop_new_tables(eng, before)
    pairs = pd.DataFrame(
        {
            "left": pairs["record_id_l"].to_numpy(np.int64),
            "right": pairs["record_id_r"].to_numpy(np.int64),
            "p": pairs["match_probability"].to_numpy(np.float64),
            "match_weight": pairs["match_weight"].to_numpy(np.float64),
        }
    )
    return Scored(rec, pairs)


def _train(eng, rec: pd.DataFrame, rules: list[str]):
    """λ from deterministic rules, u by random sampling, m by EM (Splink); ``rules`` are the
    blocking rules of the predictions. Only Splink's public API: where the model must be
    corrected (a prior out of range, a lost comparison, m floors), it is saved as Splink's
    model dictionary, corrected, and loaded into a new ``Linker`` on the same input."""
    from splink import Linker

    from prisme.engine.linking import SPLINK_ERRORS

    db_api = eng.splink_api()
    columns = ["record_id", *model.COMPARED_COLUMNS,
               *[c for c in rec.columns if c.startswith(("ident_", "blk_"))]]
    inputs = db_api.register(rec[columns].reset_index(drop=True))
    linker = Linker(inputs, model.settings_dict(rec, rules, eng.dialect.splink_dialect),
                    log_level=None)
    _quiet_splink()
    deterministic = model.deterministic_rules(rec)
    if deterministic:  # too few records for the rules leaves Splink's default λ
        with contextlib.suppress(*SPLINK_ERRORS):
            linker.training.estimate_probability_two_random_records_match(
                deterministic, recall=model.DETERMINISTIC_RECALL)
    saved = linker.misc.save_model_to_json()
    prior = saved["probability_two_random_records_match"]
    if not 1e-7 <= prior <= 0.5:  # a tiny list can give 0, 1 or NaN
        saved["probability_two_random_records_match"] = min(
            max(prior if prior == prior else 1e-4, 1e-7), 0.5)
        linker = Linker(inputs, saved, log_level=None)
    linker = _estimate_u(db_api, rec[columns], linker.misc.save_model_to_json(), inputs)
    for rule in model.training_rules(rec):
        # a session whose rule finds no pairs raises after Splink has taken the rule's
        # comparisons out of the model: put them back (what the session learnt stays)
        kept = linker.misc.save_model_to_json()
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=5e5,
            )
        except SPLINK_ERRORS:  # no pairs for this rule
            linker = Linker(inputs, _restore_comparisons(linker.misc.save_model_to_json(),
                                                         kept), log_level=None)
    floored = _floor_m(linker.misc.save_model_to_json())
    if floored is not None:
        linker = Linker(inputs, floored, log_level=None)
    return linker, inputs


def _estimate_u(db_api, records: pd.DataFrame, saved: dict, inputs):
    """u by random sampling, the same on every engine: Splink's method (all the pairs among a
    random sample of the records, enough rows for ``_U_PAIRS`` pairs) with the rows drawn
    here by a seeded generator — Splink's own sampler hashes the record ids with the engine's
    hash function, so DuckDB and Spark would sample different rows and learn different u.
    Returns a ``Linker`` on ``inputs`` with the model ``saved`` and the estimated u."""
    from splink import Linker

    n = len(records)
    rows = min(n, int(0.5 * ((8 * _U_PAIRS + 1) ** 0.5 + 1)))
    picked = np.sort(np.random.default_rng(7).choice(n, size=rows, replace=False))
    # a table of the engine like Splink's own: dropped with them by the caller (_score)
    sample = db_api.register(records.iloc[picked].reset_index(drop=True))
    sampler = Linker(sample, saved, log_level=None)
    # every pair of the sample (max_pairs above their number: Splink samples no further)
    sampler.training.estimate_u_using_random_sampling(
        max_pairs=float(rows) * rows + 1, min_count_per_level=None, num_chunks=1)
    return Linker(inputs, sampler.misc.save_model_to_json(), log_level=None)


def _restore_comparisons(after: dict, before: dict) -> dict:
    """The model ``after`` a failed session, with the comparisons it lost taken from the
    model ``before`` it, in their order."""
    now = {c["output_column_name"]: c for c in after["comparisons"]}
    after["comparisons"] = [now.get(c["output_column_name"], c) for c in before["comparisons"]]
    return after


#: smallest m kept after EM: a level EM never saw among matches (a birth-date typo in a list
#: where typos are rare) would otherwise weigh -30 bits and veto any link (additive smoothing)
_M_FLOOR = 0.002


def _floor_m(saved: dict) -> dict | None:
    """The model dictionary with every m below :data:`_M_FLOOR` raised to it (None when none
    is below)."""
    changed = False
    for comparison in saved["comparisons"]:
        for level in comparison["comparison_levels"]:
            m = level.get("m_probability")
            if not level.get("is_null_level") and m is not None and m < _M_FLOOR:
                level["m_probability"] = _M_FLOOR
                changed = True
    return saved if changed else None


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _drop_new_tables(eng, before: set[str]) -> None:
    """Leave the caller's warehouse as it was: Splink's working tables and views go."""
    for name in set(eng.list_tables()) - before:
        with contextlib.suppress(Exception):
            eng.drop_view(name)
        with contextlib.suppress(Exception):
            eng.drop_table(name)


def _pairs_to_index(record_ids: pd.Series, pairs: Pairs | None, what: str) -> pd.DataFrame:
    """Steward pairs of record_ids → row indices; an unknown record_id is an error."""
    pairs = list(pairs or [])
    if not pairs:
        return pd.DataFrame({"left": np.zeros(0, np.int64), "right": np.zeros(0, np.int64)})
    index = pd.Index(record_ids)
    frame = pd.DataFrame(pairs, columns=["a", "b"]).astype("string")
    left, right = index.get_indexer(frame["a"]), index.get_indexer(frame["b"])
    missing = np.flatnonzero((left < 0) | (right < 0))
    if len(missing):
        a, b = pairs[int(missing[0])]
        raise ValueError(f"{what}: pair ({a!r}, {b!r}) names a record_id that is not in the input")
    return pd.DataFrame({"left": left.astype(np.int64), "right": right.astype(np.int64)})


def _edges(pairs: pd.DataFrame, threshold: float, record_ids: pd.Series,
           must_link: Pairs | None) -> pd.DataFrame:
    """Model links at or above the threshold plus the steward's must-links (p = 1)."""
    model_edges = pairs.loc[pairs["p"] >= threshold, ["left", "right", "p"]].assign(must=False)
    must = _pairs_to_index(record_ids, must_link, "must_link").assign(p=1.0, must=True)
    return pd.concat([model_edges, must], ignore_index=True).astype(
        {"left": np.int64, "right": np.int64, "p": np.float64, "must": bool})


# -------------------------------------------------------------------------- household guard
#: Ibis expressions over two records ``a`` and ``b`` (columns of one joined table, suffixed
#: ``_a`` and ``_b``); the functions whose names differ between engines come from the
#: engine's dialect. Two spellings cannot be one first name when they are not equal, not a
#: typo (Jaro-Winkler < 0.8), not a prefix (Jean / Jean Pierre), not mostly the same letters
#: scrambled — the letters of one all in the other, or at most two edits apart (``ayn`` /
#: ``ryan``, ``lmeai`` / ``amelia``; but ``martin`` / ``romain`` and ``elodie`` / ``daniel``
#: share most of their letters and are two people); NULL never differs.


def _letters(dialect, x: ibis.StringValue) -> ibis.ArrayValue:
    """The distinct letters of a name (spaces left out)."""
    return dialect.array_distinct(dialect.split(x.replace(" ", ""), ""))


class _Guard:
    def __init__(self, dialect) -> None:
        self.d = dialect

    def common(self, lx, ly):
        return self.d.array_intersect(lx, ly).length()

    # The tests are nested as CASE WHEN … THEN …: an engine computes the THEN part (string
    # similarities, letter sets) only on the rows whose cheap WHEN part holds, where an AND
    # would compute every part on every row (at 1M records, most pairs are one person's
    # records with the same first name). NULL in a WHEN is not true: the same answers as the
    # conjunctions with NULL read as false.
    def names_differ(self, x, y, lx, ly):
        common, nx, ny = self.common(lx, ly), lx.length(), ly.length()
        scrambled = ((common >= 0.8 * ibis.least(nx, ny))
                     & (common >= 0.6 * ibis.greatest(nx, ny))
                     & ((common == ibis.least(nx, ny))
                        | (self.d.swap_edit_distance(x, y) <= 2)))
        unlike = ibis.cases((self.d.jaro_winkler(x, y) < 0.8, (~scrambled).fill_null(False)),
                            else_=False)
        return ibis.cases(((x != y) & ~x.startswith(y) & ~y.startswith(x), unlike),
                          else_=False)

    def same(self, x, y, lx, ly):
        return x.notnull() & y.notnull() & ~self.names_differ(x, y, lx, ly)

    def disjoint(self, lx, ly):
        return (self.common(lx, ly) < 0.5 * ibis.greatest(lx.length(), ly.length())
                ).fill_null(False)

    def swapped(self, t):
        """One record has first and last name the other way round (either may be missing)."""
        a_first, b_first = t.first_name_raw_a, t.first_name_raw_b
        a_last, b_last = t.last_name_a, t.last_name_b
        a_fl, b_fl, a_ll, b_ll = t.raw_letters_a, t.raw_letters_b, t.last_letters_a, \
            t.last_letters_b
        return (a_first != b_first).fill_null(True) & (
            (self.same(a_first, b_last, a_fl, b_ll)
             & (a_last.isnull() | b_first.isnull() | self.same(a_last, b_first, a_ll, b_fl)))
            | (self.same(b_first, a_last, b_fl, a_ll)
               & (b_last.isnull() | a_first.isnull() | self.same(b_last, a_first, b_ll, a_fl))))

    def conflict(self, t, idents):
        same_identifier = ibis.literal(False)
        for c in idents:
            same_identifier = same_identifier | (t[f"{c}_a"] == t[f"{c}_b"]).fill_null(False)
        first_differ = ibis.cases((
            self.names_differ(t.first_name_a, t.first_name_b, t.first_letters_a,
                              t.first_letters_b),
            ibis.cases((
                self.names_differ(t.first_name_raw_a, t.first_name_raw_b, t.raw_letters_a,
                                  t.raw_letters_b),
                ~(t.birth_date_a == t.birth_date_b).fill_null(False)
                | self.disjoint(t.raw_letters_a, t.raw_letters_b)), else_=False)),
            else_=False)
        initials = ((t.first_initial_a != t.first_initial_b)
                    & (t.first_name_a.isnull() | t.first_name_b.isnull()))
        names = ibis.cases(((first_differ | initials).fill_null(False),
                            (~self.swapped(t)).fill_null(False)), else_=False)
        genders = (t.gender_a != t.gender_b) & ~t.first_name_a.identical_to(t.first_name_b)
        births = ibis.cases((
            t.birth_date_a.notnull() & t.birth_date_b.notnull()
            & ((t.birth_day_a - t.birth_day_b).abs() > 366),
            self.d.swap_edit_distance(t.birth_date_a, t.birth_date_b) > 1), else_=False)
        return ~same_identifier & (names | genders.fill_null(False) | births.fill_null(False))


#: households are evident when at least this share of the address groups (records sharing an
#: address, a postcode and a last name) hold two people: different first names and birth
#: dates more than a year apart. The demo company: 53%; Febrl 4, a list of individuals whose
#: duplicates have a field replaced now and then: 1.5% (bench/RESULTS.md)
HOUSEHOLD_SHARE = 0.10
#: fewer address groups with two known birth dates than this cannot tell: the guard stays on
HOUSEHOLD_MIN_GROUPS = 30


def households_in(records: pd.DataFrame) -> bool:
    """Does this list hold households, by its own evidence (no labels)? Records sharing an
    address, a postcode and a last name are either one person recorded several times or
    several people of one household. Where two of them have different first names *and*
    birth dates more than a year apart, they are two people. If that is rare among such
    groups (under :data:`HOUSEHOLD_SHARE`), a record at the same address with another first
    name or another birth date is the same person with a field keyed wrong, not a relative,
    and the household guard would only cut true links: it is not applied. Too few groups to
    tell (no addresses, a small list): the guard is applied, as the safe side."""
    keys = ["address", "postal_code", "last_name"]
    rec = records.dropna(subset=keys)
    if rec.empty:
        return True
    groups = rec.groupby(keys, sort=False)
    agg = groups.agg(firsts=("first_name", "nunique"), dates=("birth_day", "count"),
                     lo=("birth_day", "min"), hi=("birth_day", "max"))
    known = agg[agg["dates"] >= 2]
    if len(known) < HOUSEHOLD_MIN_GROUPS:
        return True
    two = (known["firsts"] >= 2) & ((known["hi"] - known["lo"]).astype("float64") > 366)
    share = float(two.mean())
    log.info("identity: %.1f%% of %d address groups hold two people: household guard %s",
             100 * share, len(known), "on" if share >= HOUSEHOLD_SHARE else "off")
    return share >= HOUSEHOLD_SHARE


def _household_conflicts(eng, scored: Scored, labels: np.ndarray) -> pd.DataFrame:
    """Pairs inside a provisional party that are different people: clearly different first
    names (after nicknames; not a prefix, not mostly the same letters scrambled), different
    initials, different genders (unless the first names agree) or birth dates more than a year
    and more than one typo apart. On the same (known) birth date — a record re-keyed with a
    garbled name, or twins — the first names must share under half their letters to count as
    two people; two records without a birth date are not "the same birth date" (a household's
    records often have none). Never when the names are swapped between the two records or an
    identifier column agrees. Checked on all pairs of small parties, on the links of large
    ones; the names' letter sets are computed once per record, in the engine."""
    candidates = _within_cluster_pairs(labels, scored.pairs)
    if candidates.empty:
        return candidates
    idents = [c for c in scored.records.columns if c.startswith("ident_")]
    # only the records of the candidate pairs go to the engine (at 1M, a fraction of them)
    involved = np.unique(candidates[["left", "right"]].to_numpy(np.int64))
    recs = scored.records[["first_name", "first_name_raw", "first_initial", "last_name",
                           "gender", "birth_date", "birth_day", *idents]].iloc[involved]
    recs = recs.assign(i=involved).reset_index(drop=True)
    pairs_name, recs_name = "__prisme_identity_pairs", "__prisme_identity_recs"
    letters_name = "__prisme_identity_letters"
    pairs_t = eng.create_table(pairs_name, candidates, temp=True, overwrite=True)
    recs_t = eng.create_table(recs_name, recs, temp=True, overwrite=True)
    try:
        d = eng.dialect
        letters = eng.create_table(letters_name, recs_t.mutate(
            first_letters=_letters(d, recs_t.first_name),
            raw_letters=_letters(d, recs_t.first_name_raw),
            last_letters=_letters(d, recs_t.last_name),
        ), temp=True, overwrite=True)
        a, b = letters.rename("{name}_a"), letters.rename("{name}_b")
        t = pairs_t.join(a, pairs_t.left == a.i_a).join(b, pairs_t.right == b.i_b)
        found = eng.to_pandas(t.filter(_Guard(d).conflict(t, idents))
                              .select("left", "right"))
    finally:
        eng.drop_table(pairs_name)
        eng.drop_table(recs_name)
        eng.drop_table(letters_name)
    return pd.DataFrame({"left": found["left"].to_numpy(np.int64),
                         "right": found["right"].to_numpy(np.int64)})


def _within_cluster_pairs(labels: np.ndarray, pairs: pd.DataFrame) -> pd.DataFrame:
    sizes = np.bincount(labels)
    size = sizes[labels]
    small = pd.DataFrame({"i": np.arange(len(labels)), "c": labels})
    small = small[(size >= 2) & (size <= _GUARD_ALL_PAIRS_UP_TO)]
    both = small.merge(small, on="c", suffixes=("_l", "_r"))
    both = both[both["i_l"] < both["i_r"]]
    out = pd.DataFrame({"left": both["i_l"].to_numpy(np.int64),
                        "right": both["i_r"].to_numpy(np.int64)})
    big = sizes[labels[pairs["left"].to_numpy(np.int64)]] > _GUARD_ALL_PAIRS_UP_TO
    linked = labels[pairs["left"].to_numpy(np.int64)] == labels[pairs["right"].to_numpy(np.int64)]
    extra = pairs.loc[big & linked, ["left", "right"]].astype(np.int64)
    return pd.concat([out, extra], ignore_index=True)
