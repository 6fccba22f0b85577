"""The Fellegi–Sunter model of a customer pair, as Splink settings.

Fellegi & Sunter (1969) score a pair of records by the log-likelihood ratio of its comparison
vector γ under "same person" (M) and "different people" (U), fields taken as conditionally
independent:

    w(γ) = Σ_k log2( m_k(γ_k) / u_k(γ_k) ),   m_k(l) = P(γ_k = l | M),  u_k(l) = P(γ_k = l | U)

    P(M | γ) = λ 2^w / (λ 2^w + 1 − λ),        λ = P(M) for two random records.

u is estimated by sampling random pairs (almost all non-matches), m by expectation–maximisation
on blocked pairs (Winkler 1988; no labels), λ from deterministic rules with an assumed recall.

Fields that travel together (address, postcode, city) are one comparison, so that a household's
shared address counts once, not three times — the independence assumption is the reason plain
configurations over-link households.

Blocking keys are precomputed columns (``blk_*``) in which a value shared by more than
``max_block`` records is NULL: the candidate pairs of every rule stay bounded whatever the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl

#: a key value shared by more records than this does not form a block (≤ ~125k pairs each)
MAX_BLOCK = 500

#: the blocking keys: name of the column → the parts joined to build it. A part is a
#: normalised column, ``col:k`` its first ``k`` characters or ``col:-k`` its last ``k``.
#:
#: Names are blocked *within* a postcode, a postcode area (``postal_code:2``: the French
#: département, the British postcode area), a city, an e-mail domain or a birth year, never
#: nationwide: the nationwide blocks of common names grow as n² and, at a million records,
#: produced 20M pairs of namesakes that nothing else linked (bench/RESULTS.md). ``name_key`` is the sorted pair of
#: name tokens, so each of these also catches first and last name swapped. A typo in one name
#: is caught by the other name + postcode + the first or last two letters of the misspelt one
#: (one typo leaves one end intact), which replaces last name + postcode (51M pairs at 1M).
BLOCKING_KEYS: dict[str, tuple[str, ...]] = {
    "blk_email": ("email",),
    "blk_phone": ("phone",),
    "blk_name_postcode": ("name_key", "postal_code"),
    "blk_name_area": ("name_key", "postal_code:2"),
    "blk_name_city": ("name_key", "city"),
    "blk_name_domain": ("name_key", "email_domain"),
    "blk_name_year": ("name_key", "birth_date:4"),
    "blk_first_dob": ("first_name", "birth_date"),
    "blk_last_dob": ("last_name", "birth_date"),
    "blk_dob_postcode": ("birth_date", "postal_code"),
    "blk_address": ("address", "postal_code"),
    # a typo in the postcode: the address or the birth date within the town
    "blk_address_city": ("address", "city"),
    "blk_dob_city": ("birth_date", "city"),
    "blk_dob_initial": ("birth_date", "first_initial"),
    "blk_email_user": ("email_user", "first_initial"),
    "blk_last_postcode_first_start": ("last_name", "postal_code", "first_name:2"),
    "blk_last_postcode_first_end": ("last_name", "postal_code", "first_name:-2"),
    "blk_first_postcode_last_start": ("first_name", "postal_code", "last_name:2"),
    "blk_first_postcode_last_end": ("first_name", "postal_code", "last_name:-2"),
}


#: the normalised columns the comparisons and the training rules read (Splink gets only these,
#: the ``ident_*`` and the ``blk_*`` columns: fewer columns to carry through a million records)
COMPARED_COLUMNS = ("first_name", "last_name", "birth_date", "birth_day", "email",
                    "email_digits", "phone", "phone_kind", "address", "postal_code", "city",
                    "gender")


def _ident_columns(rec: pd.DataFrame) -> list[str]:
    return [c for c in rec.columns if c.startswith("ident_")]


def _keys(rec: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    keys = {f"blk_{c}": (c,) for c in _ident_columns(rec)}
    return keys | BLOCKING_KEYS


def _part(rec: pd.DataFrame, part: str) -> pd.Series:
    """A key part: a column, or its first (``col:k``) or last (``col:-k``) characters."""
    col, _, cut = part.partition(":")
    value = rec[col].astype("string")
    if not cut:
        return value
    k = int(cut)
    return value.str.slice(0, k) if k > 0 else value.str.slice(k)


def _codes(rec: pd.DataFrame, part: str, cache: dict[str, np.ndarray]) -> np.ndarray:
    """Integer code of each record's value of a key part (-1 when missing), once per part."""
    if part not in cache:
        cache[part] = pd.factorize(_part(rec, part))[0].astype(np.int64)
    return cache[part]


def blocking_keys(rec: pd.DataFrame, max_block: int = MAX_BLOCK) -> pd.DataFrame:
    """Add the ``blk_*`` columns to the normalised records (NULL when a part is missing or the
    value is too common to be a useful block).

    A key is an integer: the parts are coded once each and combined arithmetically, which is
    several times cheaper than joining their text for every key, and integer equality is what
    the blocking joins compare."""
    out = rec.copy()
    cache: dict[str, np.ndarray] = {}
    for key, parts in _keys(rec).items():
        code = _codes(out, parts[0], cache)
        for p in parts[1:]:
            other = _codes(out, p, cache)
            missing = (code < 0) | (other < 0)
            code = pd.factorize(code * (int(other.max(initial=0)) + 1) + other)[0]
            code = code.astype(np.int64)
            code[missing] = -1
        counts = np.bincount(code[code >= 0], minlength=1)[np.where(code >= 0, code, 0)]
        keep = (code >= 0) & (counts <= max_block)
        out[key] = pd.arrays.IntegerArray(np.where(keep, code, 0), ~keep)
    return out


def pair_count(keys: pd.DataFrame) -> dict[str, int]:
    """Candidate pairs each blocking key produces (before de-duplication across keys)."""
    out = {}
    for key in _keys(keys):
        codes, _ = pd.factorize(keys[key])
        n = np.bincount(codes[codes >= 0], minlength=1).astype(np.int64)
        out[key] = int((n * (n - 1) // 2).sum())
    return out


def _label(level, label: str):
    return level.configure(label_for_charts=label)


def _custom(sql: str, label: str, *, null: bool = False):
    """A level whose condition is plain, portable SQL (no function whose name differs between
    engines: those come from Splink's own levels, rendered in the engine's dialect)."""
    level = cll.CustomLevel(sql, label)
    return level.configure(is_null_level=True) if null else level


def _tf(level):
    """Term-frequency adjustment (Splink): agreeing on ``Martin`` is worth less than agreeing
    on a rare name, by the ratio of the name's frequency to the average u of the level."""
    return level.configure(tf_adjustment_weight=1.0)


def _else():
    return cll.ElseLevel()


def _null(col: str):
    return cll.NullLevel(col)


def _swapped(col: str, other: str):
    """``col_l = other_r OR other_l = col_r``: the two names written the other way round."""
    return cll.Or(cll.ColumnsReversedLevel(col, other), cll.ColumnsReversedLevel(other, col))


def _starts(col: str) -> str:
    """One value is the start of the other, in SQL every engine reads (``substr``/``length``)."""
    return (f"substr({col}_l, 1, length({col}_r)) = {col}_r OR "
            f"substr({col}_r, 1, length({col}_l)) = {col}_l")


def _comparison(name: str, levels: list):
    return cl.CustomComparison(comparison_levels=levels, output_column_name=name)


def first_name_comparison():
    return _comparison("first_name", [
        _null("first_name"),
        _label(_tf(cll.ExactMatchLevel("first_name", term_frequency_adjustments=True)),
               "Exact (after nicknames)"),
        _label(cll.JaroWinklerLevel("first_name", 0.92), "Jaro-Winkler >= 0.92"),
        _custom(_starts("first_name"), "One is the start of the other (Jean / Jean Pierre)"),
        _label(_swapped("first_name", "last_name"), "Swapped with the last name"),
        _label(cll.JaroWinklerLevel("first_name", 0.8), "Jaro-Winkler >= 0.8"),
        _else(),
    ])


def last_name_comparison():
    return _comparison("last_name", [
        _null("last_name"),
        _label(_tf(cll.ExactMatchLevel("last_name", term_frequency_adjustments=True)), "Exact"),
        _label(cll.JaroWinklerLevel("last_name", 0.92), "Jaro-Winkler >= 0.92"),
        _label(_swapped("last_name", "first_name"), "Swapped with the first name"),
        _label(cll.JaroWinklerLevel("last_name", 0.8), "Jaro-Winkler >= 0.8"),
        _else(),
    ])


def _within_days(days: int):
    """Birth dates at most ``days`` apart (``birth_day`` is days since 1970-01-01)."""
    return cll.AbsoluteDifferenceLevel("birth_day", days)


def birth_date_comparison():
    transposed = _custom(
        "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) AND "
        "substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) AND "
        "substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)", "Day and month swapped")
    return _comparison("birth_date", [
        _null("birth_date"),
        _label(cll.ExactMatchLevel("birth_date"), "Exact"),
        _label(cll.Or(cll.DamerauLevenshteinLevel("birth_date", 1), transposed),
               "One typo or day/month swapped"),
        _label(_within_days(31), "Within a month"),
        _label(_within_days(366), "Within a year"),
        _label(cll.DamerauLevenshteinLevel("birth_date", 2), "Two typos"),
        _label(_within_days(3653), "Within ten years"),
        _else(),
    ])


def identifier_comparison(col: str):
    return _comparison(col, [
        _null(col),
        _label(cll.ExactMatchLevel(col), "Exact"),
        _label(cll.DamerauLevenshteinLevel(col, 1), "One typo"),
        _else(),
    ])


#: the digits of two e-mails agree: ``famille.meyer5439@`` and ``famille.meyer1341@`` are two
#: accounts (a family's numbered addresses), not one address with typos
def _same_digits():
    return cll.ExactMatchLevel("email_digits")


def email_comparison():
    """Exact, near (typos that leave the digits alone) or different e-mail."""
    return _comparison("email", [
        _null("email"),
        _label(cll.ExactMatchLevel("email"), "Exact"),
        _label(cll.And(cll.DamerauLevenshteinLevel("email", 3), _same_digits()),
               "A few typos, same digits"),
        _label(cll.And(cll.JaroWinklerLevel("email", 0.92), _same_digits()),
               "Jaro-Winkler >= 0.92, same digits"),
        _else(),
    ])


def phone_comparison():
    """Exact, one typo, or two numbers of different kinds (one system keeps the mobile,
    another the landline: weaker evidence of two people than two different mobiles)."""
    return _comparison("phone", [
        _null("phone"),
        _label(cll.ExactMatchLevel("phone"), "Exact"),
        _label(cll.DamerauLevenshteinLevel("phone", 1), "One typo"),
        _custom("phone_kind_l <> phone_kind_r", "Different, a mobile and a landline"),
        _else(),
    ])


def location_comparison():
    """Address, postcode and city as one comparison (they are not independent). A shared
    postcode is strong evidence when one record has no address (a call centre keeps none) and
    weak when both have one and the addresses differ (namesakes of one town)."""
    same_place = cll.Or(cll.ExactMatchLevel("postal_code"), cll.ExactMatchLevel("city"))
    return _comparison("location", [
        _custom("(address_l IS NULL OR address_r IS NULL) AND "
                "(postal_code_l IS NULL OR postal_code_r IS NULL) AND "
                "(city_l IS NULL OR city_r IS NULL)", "Null", null=True),
        _label(cll.And(cll.ExactMatchLevel("address"), cll.ExactMatchLevel("postal_code")),
               "Same address"),
        _label(cll.And(cll.JaroWinklerLevel("address", 0.9), same_place),
               "Similar address, same postcode or city"),
        _label(cll.And(cll.JaroWinklerLevel("address", 0.9),
                       cll.Or(cll.DamerauLevenshteinLevel("postal_code", 1),
                              cll.JaroWinklerLevel("city", 0.9))),
               "Similar address, postcode or city one typo away"),
        _custom("postal_code_l = postal_code_r AND (address_l IS NULL OR address_r IS NULL)",
                "Same postcode, one address unknown"),
        _label(cll.ExactMatchLevel("postal_code"), "Same postcode, another address"),
        _label(cll.ExactMatchLevel("city"), "Same city"),
        _else(),
    ])


def gender_comparison():
    return _comparison("gender", [
        _null("gender"),
        _label(cll.ExactMatchLevel("gender"), "Same"),
        _else(),
    ])


def comparisons(rec: pd.DataFrame) -> list:
    """The comparisons worth running on these records (a column that is empty everywhere
    carries no evidence and would leave its m unestimated)."""
    out = [first_name_comparison(), last_name_comparison()]
    filled = rec.notna().any()
    out += [identifier_comparison(c) for c in _ident_columns(rec) if filled[c]]
    if filled["birth_date"]:
        out.append(birth_date_comparison())
    if filled["email"]:
        out.append(email_comparison())
    if filled["phone"]:
        out.append(phone_comparison())
    if filled[["address", "postal_code", "city"]].any():
        out.append(location_comparison())
    if filled["gender"] and rec["gender"].nunique() > 1:
        out.append(gender_comparison())
    return out


def prediction_rules(rec: pd.DataFrame, max_pairs: int) -> list[str]:
    """Blocking rules (``l.blk = r.blk``) for the keys that exist here, the largest dropped
    while the total would exceed ``max_pairs``."""
    counts = pair_count(rec)
    keys = [k for k, n in counts.items() if n > 0]
    total = sum(counts[k] for k in keys)
    for k in sorted(keys, key=lambda k: -counts[k]):
        if total <= max_pairs:
            break
        keys.remove(k)
        total -= counts[k]
    return [f"l.{k} = r.{k}" for k in keys]


def settings_dict(rec: pd.DataFrame, rules: list[str], sql_dialect: str = "duckdb") -> dict:
    """The Splink settings for a dedupe of these normalised records with these blocking rules
    (:func:`prediction_rules`), with the comparisons rendered in ``sql_dialect`` (Splink's
    name of the engine's dialect: ``engine.dialect.splink_dialect``)."""
    return {
        "link_type": "dedupe_only",
        "sql_dialect": sql_dialect,
        "unique_id_column_name": "record_id",
        "comparisons": comparisons(rec),
        "blocking_rules_to_generate_predictions": list(rules),
        # the pairs are read back for their ids and scores only; fetching the compared values
        # of both records with them took 2.1 GiB and 58 s more at 1M records (bench/RESULTS.md)
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": [],
        "max_iterations": 20,
        "em_convergence": 0.001,
    }


#: EM training blocks on the raw columns (Splink leaves the comparisons of the columns named
#: in a rule out of that session's m estimates, so each rule trains the others)
TRAINING_RULES = (
    "l.first_name = r.first_name AND l.last_name = r.last_name",
    "l.birth_date = r.birth_date AND l.postal_code = r.postal_code",
    "l.email = r.email",
    "l.phone = r.phone",
)
#: columns a training rule needs non-empty somewhere to be worth running
TRAINING_NEEDS = (("first_name", "last_name"), ("birth_date", "postal_code"), ("email",),
                  ("phone",))

#: pairs almost surely the same person, to estimate λ (with the recall below)
DETERMINISTIC_RULES = (
    "l.first_name = r.first_name AND l.last_name = r.last_name AND l.birth_date = r.birth_date",
    "l.email = r.email AND l.first_name = r.first_name",
    "l.phone = r.phone AND l.first_name = r.first_name AND l.last_name = r.last_name",
)
DETERMINISTIC_RECALL = 0.4
DETERMINISTIC_NEEDS = (("first_name", "last_name", "birth_date"), ("email", "first_name"),
                       ("phone", "first_name", "last_name"))


def training_rules(rec: pd.DataFrame) -> list[str]:
    """The EM training rules whose columns are filled somewhere in these records."""
    filled = rec.notna().any()
    rules = [f"l.{c} = r.{c}" for c in _ident_columns(rec) if filled[c]]
    rules += [r for r, cols in zip(TRAINING_RULES, TRAINING_NEEDS, strict=True)
              if filled[list(cols)].all()]
    return rules


def deterministic_rules(rec: pd.DataFrame) -> list[str]:
    """The λ-estimation rules whose columns are filled somewhere in these records."""
    filled = rec.notna().any()
    return [r for r, cols in zip(DETERMINISTIC_RULES, DETERMINISTIC_NEEDS, strict=True)
            if filled[list(cols)].all()]
