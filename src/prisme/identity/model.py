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


def _jw(col: str, threshold: float) -> str:
    return f"jaro_winkler_similarity({col}_l, {col}_r) >= {threshold}"


def _level(sql: str, label: str, *, null: bool = False) -> dict:
    level = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _tf(level: dict, col: str) -> dict:
    """Term-frequency adjustment (Splink): agreeing on ``Martin`` is worth less than agreeing
    on a rare name, by the ratio of the name's frequency to the average u of the level."""
    return level | {"tf_adjustment_column": col, "tf_adjustment_weight": 1.0}


def _else() -> dict:
    return _level("ELSE", "All other comparisons")


def _null(*cols: str) -> dict:
    sql = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in cols)
    return _level(sql, "Null", null=True)


def _swapped(col: str, other: str) -> str:
    return f"{col}_l = {other}_r OR {other}_l = {col}_r"


def first_name_comparison() -> dict:
    return {
        "output_column_name": "first_name",
        "comparison_levels": [
            _null("first_name"),
            _tf(_level("first_name_l = first_name_r", "Exact (after nicknames)"), "first_name"),
            _level(_jw("first_name", 0.92), "Jaro-Winkler >= 0.92"),
            _level(
                "starts_with(first_name_l, first_name_r) OR starts_with(first_name_r, "
                "first_name_l)",
                "One is the start of the other (Jean / Jean Pierre)",
            ),
            _level(_swapped("first_name", "last_name"), "Swapped with the last name"),
            _level(_jw("first_name", 0.8), "Jaro-Winkler >= 0.8"),
            _else(),
        ],
    }


def last_name_comparison() -> dict:
    return {
        "output_column_name": "last_name",
        "comparison_levels": [
            _null("last_name"),
            _tf(_level("last_name_l = last_name_r", "Exact"), "last_name"),
            _level(_jw("last_name", 0.92), "Jaro-Winkler >= 0.92"),
            _level(_swapped("last_name", "first_name"), "Swapped with the first name"),
            _level(_jw("last_name", 0.8), "Jaro-Winkler >= 0.8"),
            _else(),
        ],
    }


def _days_apart() -> str:
    return "abs(birth_day_l - birth_day_r)"


def birth_date_comparison() -> dict:
    transposed = (
        "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) AND "
        "substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) AND "
        "substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)"
    )
    return {
        "output_column_name": "birth_date",
        "comparison_levels": [
            _null("birth_date"),
            _level("birth_date_l = birth_date_r", "Exact"),
            _level(
                f"damerau_levenshtein(birth_date_l, birth_date_r) <= 1 OR ({transposed})",
                "One typo or day/month swapped",
            ),
            _level(f"{_days_apart()} <= 31", "Within a month"),
            _level(f"{_days_apart()} <= 366", "Within a year"),
            _level("damerau_levenshtein(birth_date_l, birth_date_r) <= 2", "Two typos"),
            _level(f"{_days_apart()} <= 3653", "Within ten years"),
            _else(),
        ],
    }


def identifier_comparison(col: str) -> dict:
    return {
        "output_column_name": col,
        "comparison_levels": [
            _null(col),
            _level(f"{col}_l = {col}_r", "Exact"),
            _level(f"damerau_levenshtein({col}_l, {col}_r) <= 1", "One typo"),
            _else(),
        ],
    }


#: the digits of two e-mails agree: ``famille.meyer5439@`` and ``famille.meyer1341@`` are two
#: accounts (a family's numbered addresses), not one address with typos
_same_digits = "email_digits_l = email_digits_r"


def email_comparison() -> dict:
    """Exact, near (typos that leave the digits alone) or different e-mail."""
    return {
        "output_column_name": "email",
        "comparison_levels": [
            _null("email"),
            _level("email_l = email_r", "Exact"),
            _level("damerau_levenshtein(email_l, email_r) <= 3 AND " + _same_digits,
                   "A few typos, same digits"),
            _level(_jw('email', 0.92) + " AND " + _same_digits, "Jaro-Winkler >= 0.92, same digits"),
            _else(),
        ],
    }


def phone_comparison() -> dict:
    """Exact, one typo, or two numbers of different kinds (one system keeps the mobile,
    another the landline: weaker evidence of two people than two different mobiles)."""
    return {
        "output_column_name": "phone",
        "comparison_levels": [
            _null("phone"),
            _level("phone_l = phone_r", "Exact"),
            _level("damerau_levenshtein(phone_l, phone_r) <= 1", "One typo"),
            _level("phone_kind_l <> phone_kind_r", "Different, a mobile and a landline"),
            _else(),
        ],
    }


def location_comparison() -> dict:
    """Address, postcode and city as one comparison (they are not independent). A shared
    postcode is strong evidence when one record has no address (a call centre keeps none) and
    weak when both have one and the addresses differ (namesakes of one town)."""
    return {
        "output_column_name": "location",
        "comparison_levels": [
            _level(
                "(address_l IS NULL OR address_r IS NULL) AND "
                "(postal_code_l IS NULL OR postal_code_r IS NULL) AND "
                "(city_l IS NULL OR city_r IS NULL)",
                "Null",
                null=True,
            ),
            _level("address_l = address_r AND postal_code_l = postal_code_r", "Same address"),
            _level(
                f"{_jw('address', 0.9)} AND (postal_code_l = postal_code_r OR city_l = city_r)",
                "Similar address, same postcode or city",
            ),
            _level("postal_code_l = postal_code_r AND (address_l IS NULL OR address_r IS NULL)",
                   "Same postcode, one address unknown"),
            _level("postal_code_l = postal_code_r", "Same postcode, another address"),
            _level("city_l = city_r", "Same city"),
            _else(),
        ],
    }


def gender_comparison() -> dict:
    return {
        "output_column_name": "gender",
        "comparison_levels": [
            _null("gender"),
            _level("gender_l = gender_r", "Same"),
            _else(),
        ],
    }


def comparisons(rec: pd.DataFrame) -> list[dict]:
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


def settings_dict(rec: pd.DataFrame, rules: list[str]) -> dict:
    """The Splink settings for a dedupe of these normalised records with these blocking rules
    (:func:`prediction_rules`)."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "record_id",
        "comparisons": comparisons(rec),
        "blocking_rules_to_generate_predictions": list(rules),
        "retain_matching_columns": True,
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
