"""The real persons behind the demo company's customer lists, and their households.

Every array has one entry per person (index = person number). Members of a household share a
last name, an address and (often) a landline, sometimes one family e-mail, but have their own
first name, birth date and mobile: they are different persons. Life events (a move, a
marriage, a new e-mail or phone) happen at a known time, so a source record last updated before
the event shows the old value.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from prisme.demo import names as N
from prisme.demo import writers as W

HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
HOUSEHOLD_PROBS = np.array([0.50, 0.28, 0.11, 0.08, 0.03])
SHARE_UK = 0.2
#: persons per French postcode the demo aims at as it grows: a town keeps one postcode up to this
#: many persons, then is split into more (a real French postcode holds ~10,000 inhabitants; a
#: retailer with a million customers spreads them over thousands of postcodes, not 28)
PERSONS_PER_POSTCODE = 20_000
#: the most postcodes one town is split into (a department offers ~100 three-digit suffixes)
MAX_POSTCODES_PER_TOWN = 30


@functools.lru_cache(maxsize=100_000)
def ascii_fold(text: str) -> str:
    """``Hélène`` → ``Helene``; keeps letters, digits and hyphens (for e-mail local parts)."""
    s = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "Oe"))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return "".join(c for c in s if c.isalnum() or c == "-")


def zipf_pick(rng: np.random.Generator, size: int, n: int, shift: float = 8.0) -> np.ndarray:
    """Indices in ``[0, n)`` with weights ∝ 1 / (rank + shift): common names are common."""
    w = 1.0 / (np.arange(n) + shift)
    return rng.choice(n, size=size, p=w / w.sum())


@dataclass
class People:
    """Columns of the person table (numpy arrays, one entry per person)."""

    cols: dict[str, np.ndarray]
    n_households: int

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key]

    def __len__(self) -> int:
        return len(self.cols["person_id"])


def _digits(rng: np.random.Generator, size: int, k: int) -> np.ndarray:
    """``size`` strings of ``k`` random digits."""
    v = rng.integers(0, 10**k, size=size)
    return np.array([f"{x:0{k}d}" for x in v], dtype=object)


def _households(rng, n_persons):
    sizes = rng.choice(HOUSEHOLD_SIZES, size=n_persons, p=HOUSEHOLD_PROBS)
    cum = np.cumsum(sizes)
    n_h = int(np.searchsorted(cum, n_persons) + 1)
    sizes = sizes[:n_h].copy()
    sizes[-1] -= cum[n_h - 1] - n_persons
    household = np.repeat(np.arange(n_h), sizes)
    start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    rank = np.arange(n_persons) - start
    return household, rank, sizes


def _pick(pool, idx) -> np.ndarray:
    return np.asarray(pool, dtype=object)[idx]


def postcodes_per_town(n_persons: int) -> int:
    """How many postcodes each French town of the demo spans for a company of this size."""
    return int(min(max(1, n_persons // PERSONS_PER_POSTCODE), MAX_POSTCODES_PER_TOWN))


@functools.lru_cache(maxsize=8)
def town_postcodes(per_town: int) -> tuple[tuple[str, ...], ...]:
    """The postcodes of each town of ``N.FR_TOWNS``: its own first, then ``per_town - 1`` more
    codes of its department (``dd`` + three digits ending in 0, as commune codes do), never
    another town's, dealt in turn to the towns that share a department (big cities do have
    several postcodes under one name: Toulouse 31000, 31100, 31200…)."""
    own = [post for _, post, _ in N.FR_TOWNS]
    codes: list[list[str]] = [[post] for post in own]
    by_department: dict[str, list[int]] = {}
    for i, post in enumerate(own):
        by_department.setdefault(post[:2], []).append(i)
    for dept, towns in by_department.items():
        spare = [f"{dept}{s:03d}" for s in range(10, 1000, 10) if f"{dept}{s:03d}" not in own]
        for k, i in enumerate(towns):
            codes[i] += spare[k::len(towns)][: per_town - 1]
    return tuple(tuple(c) for c in codes)


def _addresses(rng, uk: np.ndarray, per_town: int = 1):
    """One address per entry: (line, postcode, city, branch), vectorised. A French address
    draws its town, then (for a company large enough to span several) one of its postcodes."""
    n = len(uk)
    num = rng.integers(1, 160, size=n).astype(str).astype(object)
    fr_t = rng.integers(0, len(N.FR_TOWNS), size=n)
    uk_t = rng.integers(0, len(N.UK_TOWNS), size=n)
    fr_s = zipf_pick(rng, n, len(N.FR_STREETS), 4)
    uk_s = zipf_pick(rng, n, len(N.UK_STREETS), 4)
    fr_k = rng.choice(len(N.FR_STREET_TYPES), size=n, p=[.5, .15, .1, .05, .05, .05, .05, .05])
    uk_k = rng.integers(0, len(N.UK_STREET_TYPES), size=n)
    abc = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)
    inward = (rng.integers(0, 10, size=n).astype(str).astype(object)
              + abc[rng.integers(0, len(abc), n)] + abc[rng.integers(0, len(abc), n)])
    fr_line = num + " " + _pick(N.FR_STREET_TYPES, fr_k) + " " + _pick(N.FR_STREETS, fr_s)
    uk_line = num + " " + _pick(N.UK_STREETS, uk_s) + " " + _pick(N.UK_STREET_TYPES, uk_k)
    towns_fr = np.array(N.FR_TOWNS, dtype=object)
    towns_uk = np.array(N.UK_TOWNS, dtype=object)
    line = np.where(uk, uk_line, fr_line)
    fr_post = towns_fr[fr_t, 1]
    if per_town > 1:  # draws only then: a small demo stays byte-identical to earlier releases
        codes = town_postcodes(per_town)
        sizes = np.array([len(c) for c in codes])
        flat = np.array([code for c in codes for code in c], dtype=object)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        pick = (rng.random(n) * sizes[fr_t]).astype(np.int64)
        fr_post = flat[offsets[fr_t] + pick]
    post = np.where(uk, towns_uk[uk_t, 1] + " " + inward, fr_post)
    city = np.where(uk, towns_uk[uk_t, 0], towns_fr[fr_t, 0])
    branch = np.where(uk, towns_uk[uk_t, 2], towns_fr[fr_t, 2])
    return line, post, city, branch


def _last_names(rng, uk: np.ndarray) -> np.ndarray:
    n = len(uk)
    fr = np.array(N.FR_LAST, dtype=object)
    en = np.array(N.UK_LAST, dtype=object)
    out = np.where(uk, en[zipf_pick(rng, n, len(en))], fr[zipf_pick(rng, n, len(fr))])
    double = rng.random(n) < 0.04
    other = np.where(uk, en[rng.integers(0, len(en), n)], fr[rng.integers(0, len(fr), n)])
    out[double] = out[double] + "-" + other[double]
    return out


#: candidate number ranges (prefix, total national length) by country and kind
_RANGES = {
    ("FR", "mobile"): (["06", "07"], 10), ("FR", "landline"): (["01", "02", "03", "04", "05"], 10),
    ("GB", "mobile"): (["074", "075", "077", "078", "079"], 11),
    ("GB", "landline"): (["0207", "0208", "0161"], 11),
}


@functools.lru_cache(maxsize=8)
def valid_prefixes(country: str, kind: str) -> tuple[str, ...]:
    """The 5-digit prefixes of a range where every probed number is valid for phonenumbers in
    ``country`` itself (so that a generated number is a real-looking, parseable one: no
    overseas, reserved or Crown-dependency blocks such as the Isle of Man's ``07524``)."""
    import phonenumbers

    heads, length = _RANGES[(country, kind)]
    out = []
    for head in heads:
        for k in range(10 ** (5 - len(head))):
            prefix = f"{head}{k:0{5 - len(head)}d}"
            probes = [prefix + t[: length - 5] for t in ("374951", "999999")]
            if all(phonenumbers.is_valid_number_for_region(phonenumbers.parse(x, country),
                                                           country) for x in probes):
                out.append(prefix)
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _valid_patterns(country: str, kind: str) -> tuple[str, str]:
    """Anchored patterns of the national numbers (with their trunk ``0``) that
    ``phonenumbers.is_valid_number`` accepts as ``kind`` in ``country``: the region's general
    pattern and the type's pattern (a number must match both), from phonenumbers' metadata."""
    import phonenumbers

    md = phonenumbers.PhoneMetadata.metadata_for_region(country)
    desc = md.mobile if kind == "mobile" else md.fixed_line
    return tuple(f"^0(?:{d.national_number_pattern})$" for d in (md.general_desc, desc))


def _matches_all(values: np.ndarray, patterns) -> np.ndarray:
    """True where a number matches every pattern (vectorised, in Arrow)."""
    arr = pa.array(values, pa.string())
    ok = np.ones(len(values), bool)
    for pattern in patterns:
        ok &= pc.match_substring_regex(arr, pattern).to_numpy(zero_copy_only=False)
    return ok


def _draw_numbers(rng, prefixes: tuple[str, ...], size: int, country: str) -> pa.Array:
    """``size`` national numbers: a prefix of the range and random trailing digits."""
    pre = np.array(prefixes, dtype=object)
    tail = 5 if country == "FR" else 6
    return W.prefixed_numbers(pa.array(pre[rng.integers(0, len(pre), size)]),
                              rng.integers(0, 10**tail, size), tail)


def valid_numbers(rng, country: str, kind: str, size: int) -> np.ndarray:
    """``size`` national numbers all valid for phonenumbers in ``country``: drawn from the
    5-digit prefixes of :func:`valid_prefixes`; the few that fall in a finer unallocated block
    (UK ``074576…``) are redrawn until none is left (vectorised, checked against the metadata's
    own patterns; deterministic for a seeded ``rng``)."""
    out = _draw_numbers(rng, valid_prefixes(country, kind), size, country).to_numpy(
        zero_copy_only=False)
    patterns = _valid_patterns(country, kind)
    for _ in range(100):
        bad = np.flatnonzero(~_matches_all(out, patterns))
        if len(bad) == 0:
            return out
        out[bad] = _draw_numbers(rng, valid_prefixes(country, kind), len(bad),
                                 country).to_numpy(zero_copy_only=False)
    raise RuntimeError(f"could not draw valid {country} {kind} numbers")


def _phone_numbers(rng, uk: np.ndarray, kind: str) -> np.ndarray:
    """National-format numbers (FR ``06…``/``01…``, UK ``07…``/``020…``), no spaces, every
    one valid for phonenumbers (FR with 10 digits, UK with 11)."""
    n = len(uk)
    fr = valid_numbers(rng, "FR", kind, n)
    en = valid_numbers(rng, "GB", kind, n)
    return np.where(uk, en, fr)


def _occurrence(values: np.ndarray) -> np.ndarray:
    """0 for the first occurrence of each value, 1 for the second, … (in array order)."""
    codes, _ = pd.factorize(values)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = np.arange(len(codes)) - run_start
    return out


def _emails(first, last, birth_year, domain, style) -> np.ndarray:
    """Personal e-mails, unique: a repeated local part gets a counter (as providers force)."""
    f = pa.array(pd.Series(first).map(ascii_fold).to_numpy(object))
    la = pa.array(pd.Series(last).map(ascii_fold).to_numpy(object))
    yy = W.prefixed_numbers("", np.asarray(birth_year) % 100, 2)
    j = pc.binary_join_element_wise
    styles = [j(f, ".", la, ""), j(f, la, ""), j(pc.utf8_slice_codeunits(f, 0, 1), ".", la, ""),
              j(f, "_", la, ""), j(f, ".", la, yy, ""), j(la, ".", f, "")]
    local = np.choose(style, [x.to_numpy(zero_copy_only=False) for x in styles])
    email = local + "@" + domain
    dup = _occurrence(email)
    bump = dup > 0
    email[bump] = local[bump] + (dup[bump] + 1).astype(str).astype(object) + "@" + domain[bump]
    return email


def make_people(rng: np.random.Generator, n: int, today: np.datetime64,
                start: np.datetime64) -> People:
    """Draw ``n`` persons grouped in households, with their life events."""
    household, rank, sizes = _households(rng, n)
    n_h = len(sizes)
    h_uk = rng.random(n_h) < SHARE_UK
    uk = h_uk[household]
    per_town = postcodes_per_town(n)
    h_line, h_post, h_city, h_branch = _addresses(rng, h_uk, per_town)
    h_last = _last_names(rng, h_uk)
    h_land = np.where(rng.random(n_h) < np.where(h_uk, 0.5, 0.6),
                      _phone_numbers(rng, h_uk, "landline"), None)
    hsize = sizes[household]

    # first names: distinct inside a household (stride through the locale's pool)
    fr_pool = np.array(N.FR_MALE + N.FR_FEMALE, dtype=object)
    uk_pool = np.array(N.UK_MALE + N.UK_FEMALE, dtype=object)
    h_base_fr = zipf_pick(rng, n_h, len(fr_pool), 30)
    h_base_uk = zipf_pick(rng, n_h, len(uk_pool), 30)
    fr_i = (h_base_fr[household] + rank * 61) % len(fr_pool)
    uk_i = (h_base_uk[household] + rank * 61) % len(uk_pool)
    first = np.where(uk, uk_pool[uk_i], fr_pool[fr_i])
    female = np.where(uk, uk_i >= len(N.UK_MALE), fr_i >= len(N.FR_MALE))

    # ages: parents of larger households 38-75, their grown-up children 18-30
    age = np.where((hsize >= 3) & (rank >= 2), rng.uniform(18, 30, n),
                   np.where(hsize >= 3, rng.uniform(38, 75, n), rng.uniform(18, 88, n)))
    birth = today - (age * 365.25).astype("timedelta64[D]")
    birth = birth + rank.astype("timedelta64[D]") * 3  # never twins on the same day

    mobile = np.where(rng.random(n) < 0.9, _phone_numbers(rng, uk, "mobile"), None)
    domains = np.where(uk, np.array(N.UK_EMAIL_DOMAINS, dtype=object)[
        rng.integers(0, len(N.UK_EMAIL_DOMAINS), n)], np.array(N.FR_EMAIL_DOMAINS, dtype=object)[
        rng.integers(0, len(N.FR_EMAIL_DOMAINS), n)])
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    email = _emails(first, h_last[household], years, domains, rng.integers(0, 6, n))
    has_email = rng.random(n) < 0.88
    email = np.where(has_email, email, None)
    # a family e-mail shared by some members of a quarter of multi-person households
    h_family = (sizes >= 2) & (rng.random(n_h) < 0.25)
    folded = pd.Series(h_last).map(ascii_fold).to_numpy(object)
    fam_email = np.where(h_uk, "the" + folded + "family", "famille." + folded)
    fam_email = fam_email + np.arange(n_h).astype(str).astype(object) + "@" + np.where(
        h_uk, "gmail.com", "orange.fr")
    uses_family = h_family[household] & (rng.random(n) < 0.7)
    email = np.where(uses_family, fam_email[household], email)

    # life events (the old value is what a record last updated before the event shows)
    moved = rng.random(n) < 0.08
    married = female & (age < 55) & (rank <= 1) & (hsize >= 2) & (rng.random(n) < 0.25)
    changed_email = (email != None) & ~uses_family & (rng.random(n) < 0.08)  # noqa: E711
    changed_phone = (mobile != None) & (rng.random(n) < 0.08)  # noqa: E711
    old_line, old_post, old_city, _ = _addresses(rng, uk, per_town)
    maiden = _last_names(rng, uk)
    old_email = _emails(first, np.where(married, maiden, h_last[household]), years,
                        np.roll(domains, 7), (rng.integers(0, 6, n)))
    old_mobile = _phone_numbers(rng, uk, "mobile")

    cols = {
        "person_id": W.prefixed_numbers("P", np.arange(1, n + 1), 7).to_numpy(
            zero_copy_only=False),
        "household": household,
        "household_id": W.prefixed_numbers("H", household + 1, 7).to_numpy(
            zero_copy_only=False),
        "rank": rank,
        "uk": uk,
        "female": female,
        "first_name": first,
        "last_name": h_last[household],
        "birth_date": birth,
        "email": email,
        "mobile": mobile,
        "landline": h_land[household],
        "address_line": h_line[household],
        "postal_code": h_post[household],
        "city": h_city[household],
        "branch": h_branch[household],
        "moved": moved,
        "married": married,
        "changed_email": changed_email,
        "changed_phone": changed_phone,
        "old_address_line": old_line,
        "old_postal_code": old_post,
        "old_city": old_city,
        "maiden_name": maiden,
        "old_email": old_email,
        "old_mobile": old_mobile,
        "uses_family_email": uses_family,
    }
    return People(cols, n_h)


def household_table(people: People) -> pd.DataFrame:
    """One row per household: id, size, address and landline (the truth's households.csv)."""
    df = pd.DataFrame({k: people[k] for k in ("household_id", "last_name", "address_line",
                                              "postal_code", "city", "landline")})
    df["size"] = 1
    out = df.groupby("household_id", sort=True).agg(
        size=("size", "sum"), last_name=("last_name", "first"),
        address_line=("address_line", "first"), postal_code=("postal_code", "first"),
        city=("city", "first"), landline=("landline", "first"))
    out["country"] = np.where(out["postal_code"].str.fullmatch(r"\d{5}"), "FR", "GB")
    return out.reset_index()
