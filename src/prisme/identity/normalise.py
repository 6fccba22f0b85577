"""Normalise customer records before matching: one spelling per value.

Two records of the same person rarely agree character for character: ``Dupont`` / ``DUPONT``,
``Hélène`` / ``Helene``, ``06 12 34 56 78`` / ``+33612345678``, ``Jean.Dupont+promo@gmail.com`` /
``jeandupont@gmail.com``, ``Bill`` / ``William``. This module maps each field to a canonical
form so that the comparisons of :mod:`prisme.identity.model` see the signal, not the noise.

It also recognises values that identify nobody — placeholders (``noemail@x.com``,
``0000000000``, ``N/A``) and any e-mail or phone shared by more records than
``placeholder_min_count`` (a shop's default address, a switchboard) — and nulls them *for
matching only*: left in, they would put thousands of strangers in one block and link them.

The work is vectorised over pandas columns; the costly parsers (``phonenumbers``) run once per
distinct value that the fast path could not handle.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from prisme.warehouse import conform as C

_GMAIL = {"gmail.com", "googlemail.com"}

#: nicknames and short forms (EN + FR) → the name they stand for
NICKNAMES: dict[str, str] = {
    # English
    "bill": "william", "billy": "william", "will": "william", "willy": "william",
    "liam": "william", "bob": "robert", "bobby": "robert", "rob": "robert", "robbie": "robert",
    "bert": "robert", "dick": "richard", "rick": "richard", "ricky": "richard",
    "rich": "richard", "richie": "richard", "jim": "james", "jimmy": "james", "jamie": "james",
    "mike": "michael", "mikey": "michael", "mick": "michael", "micky": "michael",
    "tom": "thomas", "tommy": "thomas", "tony": "anthony", "ant": "anthony",
    "andy": "andrew", "drew": "andrew", "dave": "david", "davy": "david", "dan": "daniel",
    "danny": "daniel", "joe": "joseph", "joey": "joseph", "steve": "stephen",
    "steven": "stephen", "stevie": "stephen", "chris": "christopher", "kit": "christopher",
    "matt": "matthew", "matty": "matthew", "nick": "nicholas", "nicky": "nicholas",
    "nicolas": "nicholas", "pat": "patrick", "paddy": "patrick", "pete": "peter",
    "sam": "samuel", "sammy": "samuel", "ben": "benjamin", "benny": "benjamin",
    "charlie": "charles", "chuck": "charles", "ed": "edward", "eddie": "edward",
    "ted": "edward", "ned": "edward", "fred": "frederic", "freddie": "frederic",
    "greg": "gregory", "harry": "henry", "hank": "henry", "jack": "john", "johnny": "john",
    "jon": "john", "jonny": "john", "ken": "kenneth", "kenny": "kenneth", "larry": "lawrence",
    "len": "leonard", "lenny": "leonard", "ron": "ronald", "ronnie": "ronald",
    "tim": "timothy", "timmy": "timothy", "alex": "alexandre", "sandy": "alexandre",
    "al": "albert", "phil": "philip", "phillip": "philip", "ray": "raymond", "jeff": "jeffrey",
    "geoff": "jeffrey", "geoffrey": "jeffrey", "josh": "joshua", "nate": "nathan",
    "kate": "katherine", "katie": "katherine", "kathy": "katherine", "cathy": "katherine", "catherine": "katherine",
    "kathryn": "katherine", "kat": "katherine", "kitty": "katherine",
    "liz": "elizabeth", "lizzie": "elizabeth", "beth": "elizabeth", "betty": "elizabeth",
    "eliza": "elizabeth", "libby": "elizabeth", "bess": "elizabeth", "elisabeth": "elizabeth",
    "maggie": "margaret", "meg": "margaret", "peggy": "margaret", "marge": "margaret",
    "jenny": "jennifer", "jen": "jennifer", "jenn": "jennifer", "sue": "susan",
    "susie": "susan", "suzanne": "susan", "becky": "rebecca", "becca": "rebecca",
    "vicky": "victoria", "vickie": "victoria", "tori": "victoria", "abby": "abigail",
    "mandy": "amanda", "manda": "amanda", "debbie": "deborah", "deb": "deborah",
    "debra": "deborah", "patty": "patricia", "trish": "patricia", "tricia": "patricia",
    "sally": "sarah", "sara": "sarah", "jess": "jessica", "jessie": "jessica",
    "cindy": "cynthia", "chrissy": "christine", "tina": "christina", "annie": "anne",
    "ann": "anne", "anna": "anne", "nancy": "anne", "molly": "mary", "polly": "mary",
    "mae": "mary", "dot": "dorothy", "dottie": "dorothy", "ellie": "eleanor",
    "nell": "eleanor", "nellie": "eleanor", "fran": "frances", "frankie": "frances",
    "gerry": "gerald", "jerry": "gerald", "sophie": "sophia", "val": "valerie",
    "lou": "louis", "louie": "louis", "frank": "francis", "franky": "francis",
    # French
    "jp": "jean pierre", "jeanpierre": "jean pierre", "jl": "jean luc", "jeanluc": "jean luc",
    "jc": "jean claude", "jeanclaude": "jean claude", "jm": "jean michel",
    "jeanmichel": "jean michel", "jf": "jean francois", "jeanfrancois": "jean francois",
    "jb": "jean baptiste", "jeanbaptiste": "jean baptiste", "jj": "jean jacques",
    "pierrealain": "pierre alain", "mariehelene": "marie helene", "mc": "marie claude",
    "marieclaude": "marie claude", "annesophie": "anne sophie", "mariepierre": "marie pierre",
    "frederick": "frederic", "fredo": "frederic", "freddy": "frederic",
    "seb": "sebastien", "bastien": "sebastien", "nico": "nicholas", "manu": "emmanuel",
    "dede": "andre", "gege": "gerard", "nath": "nathalie", "natalie": "nathalie",
    "cath": "katherine", "flo": "florence", "vero": "veronique", "isa": "isabelle",
    "babeth": "elizabeth", "zabeth": "elizabeth", "domi": "dominique", "guigui": "guillaume",
    "max": "maxime", "alexander": "alexandre", "mathieu": "matthieu", "caro": "caroline",
    "clem": "clement", "gab": "gabriel", "gregoire": "gregory", "juju": "julien",
    "lolo": "laurent", "momo": "maurice", "titi": "thierry",
}


def fold(s: pd.Series) -> pd.Series:
    """Lower case, accents removed (``Hélène`` → ``helene``): the conform rule
    (:func:`prisme.warehouse.conform.py_fold`), once per distinct value."""
    return _map_distinct(s, _fold)


@lru_cache(maxsize=1 << 16)
def _fold(value: str) -> str:
    return C.py_fold(value)


def _map_distinct(s: pd.Series, fn) -> pd.Series:
    """Apply a Python function once per distinct non-null value (10–100× fewer calls)."""
    return per_distinct(lambda u: pd.Series([fn(v) for v in u], dtype="string"), s)


def per_distinct(vector_fn, s: pd.Series) -> pd.Series:
    """Run a vectorised text function on the distinct values of ``s`` only and spread the
    results back: names, cities and postcodes repeat, so a million records are a few
    thousand values."""
    codes, uniques = pd.factorize(s.astype("string"))
    if len(uniques) == 0:
        return pd.Series(pd.NA, index=s.index, dtype="string")
    done = vector_fn(pd.Series(np.asarray(uniques, dtype=object), dtype="string"))
    values = done.astype("string").to_numpy(dtype=object, na_value=None)
    picked = values[np.where(codes >= 0, codes, 0)]
    picked[codes < 0] = None
    return pd.Series(picked, index=s.index, dtype="string")


def _clean_text(s: pd.Series) -> pd.Series:
    """Fold accents and case, turn punctuation into spaces, squeeze spaces; null the empties
    and the placeholders (this is the conform rules' placeholder key)."""
    s = fold(s)
    s = s.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    return s.where(~s.isin(C.PLACEHOLDER_WORDS))


def name(s: pd.Series) -> pd.Series:
    """A person's name in one spelling: ``Jean-Pierre`` → ``jean pierre``, ``N/A`` → NULL."""
    s = _clean_text(s)
    s = s.str.replace(r"\d+", "", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return s.where(s.str.len() > 0)


def first_name(s: pd.Series) -> pd.Series:
    """Cleaned first name with nicknames mapped to the full name (``Bill`` → ``william``)."""
    cleaned = name(s)
    return _map_distinct(cleaned, _canonical_first)


def _canonical_first(value: str) -> str:
    if value in NICKNAMES:
        return NICKNAMES[value]
    joined = value.replace(" ", "")
    if joined in NICKNAMES and " " in NICKNAMES[joined]:
        return NICKNAMES[joined]
    tokens = value.split(" ")
    return " ".join(NICKNAMES.get(t, t) if len(tokens) > 1 else t for t in tokens)


def email(s: pd.Series) -> pd.Series:
    """Canonical e-mail: lower case, trimmed; Gmail dots and ``+tags`` removed; junk → NULL."""
    s = per_distinct(_conform_email, s)
    user, domain = split_email(s)
    user = user.str.replace(r"\+.*$", "", regex=True)
    domain = domain.replace({"googlemail.com": "gmail.com"})
    is_gmail = domain.isin(_GMAIL).fillna(False)
    user = user.where(~is_gmail, user.str.replace(".", "", regex=False))
    return (user + "@" + domain).astype("string")


def _conform_email(values: pd.Series) -> pd.Series:
    """Valid, non-placeholder e-mails in their conform form (the rest NULL), per value."""
    def one(v):
        if not C.py_is_valid_email(v) or C.py_is_placeholder_email(v):
            return None
        return C.py_email(v)

    return pd.Series([one(v) for v in values], dtype="string")


def split_email(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(user, domain) of e-mails holding one ``@`` (Arrow regex replaces: ``str.extract``
    takes seconds per million values)."""
    s = s.astype("string")
    return (s.str.replace(r"@.*$", "", regex=True),
            s.str.replace(r"^[^@]*@", "", regex=True))


def country_code(s: pd.Series, default: str = "FR") -> pd.Series:
    """ISO-3166 alpha-2 from a code or a country name (the conform rule); default when blank
    or unknown."""
    out = pd.Series([C.py_country_iso2(v) for v in s.astype(object).where(s.notna(), None)],
                    index=s.index, dtype="string")
    return out.fillna(default.upper())


def phone(s: pd.Series, region: pd.Series | str = "FR") -> pd.Series:
    """E.164 (``+33612345678``) by the conform rule (a *valid* number for the record's
    country, :func:`prisme.warehouse.conform.py_phone_e164_fast`), once per distinct
    (value, region); invalid numbers and placeholders (no digit, one digit repeated,
    ``123456789``) → NULL."""
    raw = s.astype("string").str.strip()
    region = pd.Series(region, index=s.index, dtype="string") if isinstance(region, str) else (
        region.astype("string").fillna("FR")
    )
    keys = (raw + "\x00" + region).where(raw.notna())
    return _map_distinct(keys, _parse_phone)


def _parse_phone(key: str) -> str | None:
    value, region = key.split("\x00", 1)
    if C.py_is_placeholder_phone(value):
        return None
    return C.py_phone_e164_fast(value, region if len(region) == 2 else "FR")


def postal_code(s: pd.Series) -> pd.Series:
    """Upper case, no spaces or dashes (``sw1a 1aa`` → ``SW1A1AA``); zeros-only → NULL."""
    p = s.astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    p = p.where(p.str.len() >= 3)
    placeholder = per_distinct(
        lambda u: pd.Series(["1" if C.py_is_placeholder_postcode(v) else "0" for v in u],
                            dtype="string"), p)
    return p.where(placeholder != "1")


def birth_date(s: pd.Series) -> pd.Series:
    """ISO ``YYYY-MM-DD`` text from a date, ``dd/mm/yyyy`` or ``yyyymmdd``; implausible → NULL.

    1900-01-01 and 1970-01-01 are the usual "unknown" fillers and are nulled."""
    if pd.api.types.is_datetime64_any_dtype(s):
        d = pd.to_datetime(s, errors="coerce")
    else:
        text = s.astype("string").str.strip().str.slice(0, 10)
        d = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        for fmt in ("%d/%m/%Y", "%Y%m%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d"):
            missing = d.isna() & text.notna()
            if not missing.any():
                break
            d = d.fillna(pd.to_datetime(text.where(missing), format=fmt, errors="coerce"))
    ok = (d.dt.year >= 1900) & (d.dt.year <= 2030)
    ok &= ~d.dt.strftime("%m-%d").isin(["01-01"]) | ~d.dt.year.isin([1900, 1970])
    return d.dt.strftime("%Y-%m-%d").astype("string").where(ok.fillna(False))


def address(s: pd.Series) -> pd.Series:
    """Address line with the usual street-type abbreviations expanded (``bd`` → ``boulevard``)."""
    a = _clean_text(s)
    pattern = r"\b(" + "|".join(_STREET_WORDS) + r")\b"
    return a.str.replace(pattern, lambda m: _STREET_WORDS[m.group(1)], regex=True)


_STREET_WORDS = {
    "st": "street", "rd": "road", "ave": "avenue", "av": "avenue", "bd": "boulevard",
    "bld": "boulevard", "blvd": "boulevard", "pl": "place", "ch": "chemin", "rte": "route",
    "imp": "impasse", "sq": "square", "dr": "drive", "ln": "lane", "cres": "crescent",
    "ct": "court", "cl": "close",
}


_GENDER = {
    "m": "m", "h": "m", "male": "m", "man": "m", "homme": "m", "masculin": "m", "mr": "m",
    "monsieur": "m", "m r": "m", "sir": "m",
    "f": "f", "w": "f", "female": "f", "woman": "f", "femme": "f", "feminin": "f", "mme": "f",
    "madame": "f", "mlle": "f", "mademoiselle": "f", "ms": "f", "mrs": "f", "miss": "f",
}


def null_shared(s: pd.Series, min_count: int) -> pd.Series:
    """NULL every value that more than ``min_count`` records share: it identifies nobody."""
    codes, _ = pd.factorize(s)
    counts = np.bincount(codes[codes >= 0], minlength=1)
    shared = (codes >= 0) & (counts[np.where(codes >= 0, codes, 0)] > min_count)
    return s.where(~shared)


#: outlier factor of :func:`null_outliers`
_OUTLIER_FACTOR = 20


def null_outliers(s: pd.Series, min_count: int, factor: float = _OUTLIER_FACTOR) -> pd.Series:
    """NULL the values far more common than the others: more than ``min_count`` records and
    more than ``factor`` times the mean count of a distinct value. Birth dates repeat
    naturally (a million people share ~30k dates), so a fixed count cannot tell a system's
    default date (the day the record was keyed, ``1901-01-01``) from a real one; its excess
    over the typical date can."""
    codes, _ = pd.factorize(s)
    counts = np.bincount(codes[codes >= 0], minlength=1)
    if not (codes >= 0).any():
        return s
    limit = max(min_count, factor * counts[counts > 0].mean())
    shared = (codes >= 0) & (counts[np.where(codes >= 0, codes, 0)] > limit)
    return s.where(~shared)


#: E.164 prefixes of mobile numbers (the rest of these countries' numbers are fixed lines)
_MOBILE_PREFIXES = {"+33": ("+336", "+337"), "+44": ("+447",), "+32": ("+324",),
                    "+41": ("+417",), "+49": ("+4915", "+4916", "+4917"), "+39": ("+393",),
                    "+34": ("+346", "+347"), "+31": ("+316",), "+61": ("+614",)}


def phone_kind(s: pd.Series) -> pd.Series:
    """``mobile`` or ``fixed`` for the countries whose numbering plan is known here, else NULL.

    A person often has both, and one system records the mobile, another the landline: two
    different numbers of different kinds are weaker evidence of two people than two mobiles."""
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    for country, mobile in _MOBILE_PREFIXES.items():
        ours = s.str.startswith(country).fillna(False)
        is_mobile = s.str.startswith(mobile).fillna(False)
        out = out.mask(ours & is_mobile, "mobile").mask(ours & ~is_mobile, "fixed")
    return out


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="string")


def identifier(s: pd.Series) -> pd.Series:
    """An identifier (national id, card number): upper case, letters and digits only."""
    v = s.astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    v = v.where(v.str.len() >= 3)
    return v.where(~v.str.fullmatch(r"(.)\1*|0*123456789?").fillna(False))


def normalise(df: pd.DataFrame, *, placeholder_min_count: int = 20,
              default_country: str = "FR", identifiers: Sequence[str] = ()) -> pd.DataFrame:
    """The matching view of customer records: one row per input row, canonical columns.

    Columns: ``record_id, first_name, first_name_raw, last_name, first_initial, name_key, email,
    email_user, email_domain, email_digits, phone, phone_kind, postal_code, city, address, birth_date,
    birth_year, gender, company, n_fields`` —
    all text (NULL when unknown or unusable) — plus ``ident_0, ident_1…`` for the
    ``identifiers`` columns. ``n_fields`` counts the identifying fields present.
    """
    out = pd.DataFrame(index=df.index)
    out["record_id"] = df["record_id"].astype("string")
    raw_first = per_distinct(name, _col(df, "first_name"))
    first = _map_distinct(raw_first, _canonical_first)
    last = per_distinct(name, _col(df, "last_name"))
    # a one-letter name is an initial: kept for blocking-free agreement, not as a name
    out["first_initial"] = first.str.slice(0, 1)
    out["first_name"] = first.where(first.str.len() > 1)
    out["first_name_raw"] = raw_first.where(raw_first.str.len() > 1)
    out["last_name"] = last.where(last.str.len() > 1)
    out["name_key"] = _name_key(out["first_name"], out["last_name"])
    region = per_distinct(lambda c: country_code(c, default_country), _col(df, "country"))
    region = region.fillna(default_country.upper())
    em = null_shared(per_distinct(email, _col(df, "email")), placeholder_min_count)
    out["email"] = em
    out["email_user"], out["email_domain"] = split_email(em)
    #: the digits of the e-mail (``famille.meyer5439@`` → ``5439``), once per record rather
    #: than per compared pair
    out["email_digits"] = em.str.replace(r"[^0-9]", "", regex=True).astype("string")
    out["phone"] = null_shared(phone(_col(df, "phone"), region), placeholder_min_count)
    out["phone_kind"] = phone_kind(out["phone"])
    out["postal_code"] = per_distinct(postal_code, _col(df, "postal_code"))
    out["city"] = per_distinct(_clean_text, _col(df, "city"))
    out["address"] = per_distinct(address, _col(df, "address_line"))
    dob = _col(df, "birth_date")
    is_dt = pd.api.types.is_datetime64_any_dtype(dob)
    dates = birth_date(dob) if is_dt else per_distinct(birth_date, dob)
    out["birth_date"] = null_outliers(dates, placeholder_min_count)
    out["birth_year"] = out["birth_date"].str.slice(0, 4)
    #: days since 1970-01-01, for cheap "within a month / a year" comparisons
    days = pd.to_datetime(out["birth_date"], format="%Y-%m-%d", errors="coerce")
    out["birth_day"] = (days - pd.Timestamp("1970-01-01")).dt.days.astype("Int64")
    out["gender"] = per_distinct(lambda g: _clean_text(g).map(_GENDER), _col(df, "gender"))
    out["company"] = per_distinct(_clean_text, _col(df, "company"))
    for i, col in enumerate(identifiers):
        if col not in df.columns:
            raise ValueError(f"identifier column {col!r} is not in the customer records")
        out[f"ident_{i}"] = null_shared(identifier(df[col]), placeholder_min_count)
    present = out[["first_name", "last_name", "email", "phone", "birth_date", "address",
                   "postal_code"]].notna()
    out["n_fields"] = present.sum(axis=1).astype(np.int64)
    return out.reset_index(drop=True)


def _name_key(first: pd.Series, last: pd.Series) -> pd.Series:
    """First and last name tokens sorted: equal for ``Jean Dupont`` and ``Dupont Jean``."""
    ok = first.notna() & last.notna()
    both = (first + " " + last).where(ok)
    return _map_distinct(both, lambda v: " ".join(sorted(v.split())))
