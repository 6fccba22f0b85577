"""Conform rules: the one place that says what a valid e-mail, phone, postcode and country is,
what a placeholder is, and how text is folded.

The loader (``prisme.ingest``), identity resolution (``prisme.identity``) and the quality audit
(``prisme.analytics.quality``) all ask this module, so that a value is valid or invalid, a
placeholder or not, in the same way everywhere (DESIGN §4, "one set of conform rules"). Each
rule comes in two forms that agree with each other (tested value by value, and by hypothesis):

* an **engine expression** (Ibis; runs in the warehouse on DuckDB or Spark), named plainly:
  ``email``, ``is_valid_email``, ``phone_e164``, ``postal_code``, ``is_valid_postcode``,
  ``country_iso2``, ``is_placeholder_text``, ``fold``…;
* a **Python form** for one value (``py_`` + the same name), for pandas work and for building
  lookup tables.

Decisions:

* **E-mail**: trimmed, lower case, ``mailto:`` dropped; valid when it is ``local@domain.tld``
  with an ASCII local part of the characters RFC 5322 allows unquoted, dot-separated domain
  labels of letters, digits and inner hyphens, and a top-level domain of at least two letters
  (``jean@orange.f`` is invalid everywhere). Look-alike letters from other scripts (a Cyrillic
  ``о`` in ``orange``) make an address invalid: no mail system routes them as the Latin one.
* **Phone**: E.164 by ``phonenumbers``' **is_valid_number**, not ``is_possible_number``: a
  possible number has a plausible length only, a valid one also falls in a range the country's
  numbering plan assigns (``+33 0…`` or ``+44 7000…`` are possible and assigned to nobody). A
  CRM loads the number to call it and identity resolution links people on it: an unassigned
  number can do neither. The engine form checks the usual countries with phonenumbers' own
  patterns of valid numbers and asks phonenumbers (a UDF, once per distinct value) for the rest.
* **Postcode**: trimmed, upper case, single spaces, a number written ``75001.0`` loses its
  ``.0``; French codes that lost their leading zero get it back, British codes get the space
  before the inward code, Brazilian CEPs get their dash (``01310100`` → ``01310-100``). Valid
  when it has the shape of its country's codes (:data:`POSTCODE_RE`; a Brazilian 5-digit CEP
  *prefix*, what marketplaces export, is accepted).
* **Country**: ISO 3166-1 alpha-2 from a code (alpha-2 or alpha-3) or a name in English,
  French, German, Spanish, Italian, Dutch or Portuguese (from ``phonenumbers``' data), or a
  usual variant (``UK``, ``EIRE``, ``Royaume-Uni``).
* **Placeholders**: one word list (:data:`PLACEHOLDER_WORDS`), compared on the folded key of
  a value (``N/A``, ``n.a.`` and ``n a`` are one word); e-mails whose user or domain says "no
  e-mail" (``noemail@…``, ``…@example.com``) or whose user is one character repeated or only
  digits; phones without a digit, one digit repeated or counting up or down (``123456789``),
  after the calling code.
* **Folding**: accents off (Unicode NFD, combining marks dropped, by the engine's own accent-folding function),
  then lower case; ``ß`` → ``ss``.

Calling codes come from ``phonenumbers`` (:func:`calling_code`); none is written here by hand.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import phonenumbers
import pyarrow as pa

from prisme.engine.functions import fold_accents as _fold_accents


# ====================================================================== folding
def fold(expr: ir.StringValue) -> ir.StringValue:
    """Accents off, then lower case: ``'Hélène'`` → ``'helene'``."""
    return _fold_accents(expr.replace("ß", "ss").replace("ẞ", "ss")).lower()


def py_fold(value: str) -> str:
    """:func:`fold` for one value."""
    if value.isascii():
        return value.lower()
    value = value.replace("ß", "ss").replace("ẞ", "ss")
    return "".join(c for c in unicodedata.normalize("NFD", value)
                   if unicodedata.category(c)[0] != "M").lower()


def text_key(expr: ir.StringValue) -> ir.StringValue:
    """Folded, upper case, punctuation to single spaces: ``'Royaume-Uni '`` →
    ``'ROYAUME UNI'`` (the key of the country and currency lookups)."""
    return fold(expr).upper().re_replace(r"[^A-Z0-9&]+", " ").strip()


def _simple_upper(value: str) -> str:
    """Upper case one character at a time, as SQL engines do (``'ŉ'`` stays ``'ŉ'``, where
    Python's full case mapping writes ``'ʼN'``)."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in value)


def py_text_key(value: str) -> str:
    """:func:`text_key` for one value."""
    return re.sub(r"[^A-Z0-9&]+", " ", _simple_upper(py_fold(value))).strip()


#: what an engine's ``trim`` takes off (Python's ``strip()`` takes more: NBSP, …)
_SPACES = " \t\n\r\v\f"


def _blank_to_null(expr: ir.StringValue) -> ir.StringValue:
    return ibis.ifelse(expr.length() == 0, ibis.null().cast("string"), expr)


# ================================================================= placeholders
#: text typed when there was nothing to type, as folded keys (see :func:`placeholder_key`):
#: ``N/A``, ``n.a.`` and ``n a`` are all ``n a``; a value of punctuation only is ``''``
PLACEHOLDER_WORDS = frozenset({
    "", "0", "na", "n a", "nan", "none", "null", "nil", "unknown", "inconnu", "inconnue",
    "x", "xx", "xxx", "nc", "n c", "neant", "test", "tbd", "aucun", "aucune", "non renseigne",
    "nr", "sans", "no name", "noname", "not available", "not provided", "missing",
    "a renseigner",
})
#: e-mail user parts that say "no e-mail" (compared folded, dots and dashes kept)
PLACEHOLDER_EMAIL_USERS = frozenset({
    "noemail", "no.email", "no-email", "no_email", "nomail", "no", "none", "null", "na", "n/a",
    "test", "email", "mail", "noreply", "no-reply", "donotreply", "unknown", "inconnu",
    "aucun", "pasdemail", "pas.de.mail", "x", "xx", "xxx", "abc", "sans", "nc", "nr",
})
#: e-mail domains that say "no e-mail"
PLACEHOLDER_EMAIL_DOMAINS = frozenset({
    "email", "email.com", "noemail.com", "nomail.com", "none.com", "test.com", "example.com",
    "example.org", "example.net", "x.com", "xx.com", "xxx.com", "mail", "na", "invalid",
    "unknown.com",
})
#: digit runs of phone numbers that are counting, not a number
_COUNTING = ("123456789", "012345678", "987654321", "0123456789", "1234567890")


def placeholder_key(expr: ir.StringValue) -> ir.StringValue:
    """The folded key a placeholder is looked up by (punctuation to single spaces)."""
    return fold(expr).re_replace(r"[^a-z0-9]+", " ").strip()


_NON_KEY = re.compile(r"[^a-z0-9]+")


def py_placeholder_key(value: str) -> str:
    return _NON_KEY.sub(" ", py_fold(value)).strip()


def is_placeholder_text(expr: ir.StringValue) -> ir.BooleanValue:
    """``N/A``, ``inconnu``, ``-``, ``néant``… (case, accents and punctuation do not matter).
    NULL for NULL."""
    return placeholder_key(expr).isin(sorted(PLACEHOLDER_WORDS))


def py_is_placeholder_text(value: str) -> bool:
    return py_placeholder_key(value) in PLACEHOLDER_WORDS


def _one_char(x):
    """At least two characters, all the same one (works on Ibis values and on str)."""
    if isinstance(x, str):
        return len(x) > 1 and x.replace(x[0], "") == ""
    return (x.length() > 1) & (x.replace(x.left(1), "").length() == 0)


def is_placeholder_email(expr: ir.StringValue) -> ir.BooleanValue:
    """A placeholder text, or an address whose user or domain says "no e-mail"
    (``noemail@…``, ``…@example.com``), or whose user is one character repeated or digits
    only (``xxx@``, ``0000@``). A one-letter user (``j@dupont.fr``) is a real address."""
    e = email(expr)
    user = e.re_replace(r"@.*$", "")
    domain = e.re_replace(r"^[^@]*@", "")
    has_at = e.contains("@")
    return (is_placeholder_text(expr)
            | (has_at & (user.isin(sorted(PLACEHOLDER_EMAIL_USERS))
                         | domain.isin(sorted(PLACEHOLDER_EMAIL_DOMAINS))
                         | _one_char(user) | user.re_search(r"^[0-9]+$"))))


def py_is_placeholder_email(value: str) -> bool:
    if py_is_placeholder_text(value):
        return True
    e = py_email(value)
    if e is None or "@" not in e:
        return False
    user, domain = e.split("@", 1)[0], e.split("@")[-1]
    return (user in PLACEHOLDER_EMAIL_USERS or domain in PLACEHOLDER_EMAIL_DOMAINS
            or _one_char(user) or (user.isascii() and user.isdigit()))


def _national_digits_rx() -> str:
    codes = sorted({calling_code(r) for r in POSTCODE_RE}, key=len, reverse=True)
    return r"^(" + "|".join(codes) + ")"


def is_placeholder_phone(expr: ir.StringValue) -> ir.BooleanValue:
    """No digit at all, or — with or without a calling code in front — one digit repeated
    (``0000000000``, ``+33 0 00 00 00 00``) or counting (``123456789``)."""
    digits = expr.re_replace(r"[^0-9]", "")
    national = digits.re_replace(_national_digits_rx(), "")
    counting = functools.reduce(
        lambda a, b: a | b, [x.re_search(f"^0*{c}$") for c in _COUNTING
                             for x in (digits, national)])
    return (digits.length() == 0) | ((digits.length() >= 6) & (
        _one_char(digits) | _one_char(national) | counting))


_NON_DIGIT = re.compile(r"[^0-9]+")


@functools.cache
def _phone_rx() -> tuple[re.Pattern, re.Pattern]:
    return (re.compile(_national_digits_rx()),
            re.compile("0*(?:" + "|".join(_COUNTING) + ")"))


def py_is_placeholder_phone(value: str) -> bool:
    digits = _NON_DIGIT.sub("", value)
    if not digits:
        return True
    if len(digits) < 6:
        return False
    national_rx, counting_rx = _phone_rx()
    national = national_rx.sub("", digits, count=1)
    return (_one_char(digits) or _one_char(national) or counting_rx.fullmatch(digits)
            is not None or counting_rx.fullmatch(national) is not None)


# ======================================================================= e-mail
#: a valid e-mail (after :func:`email`): see the module's decisions
EMAIL_RE = (r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
            r"@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}$")


def email(expr: ir.StringValue) -> ir.StringValue:
    """E-mail address trimmed and lower-cased (``'  Jean.Dupont@Orange.FR '`` →
    ``'jean.dupont@orange.fr'``); a leading ``mailto:`` is dropped; blank → NULL."""
    e = expr.strip().lower().re_replace(r"^mailto:", "").strip()
    return _blank_to_null(e)


def py_email(value: str | None) -> str | None:
    if value is None:
        return None
    e = value.strip(_SPACES).lower()
    if e.startswith("mailto:"):
        e = e[7:].strip(_SPACES)
    return e or None


def is_valid_email(expr: ir.StringValue) -> ir.BooleanValue:
    """Valid e-mail syntax (after :func:`email`); NULL for NULL."""
    return email(expr).re_search(EMAIL_RE)


_EMAIL_RX = re.compile(EMAIL_RE)


def py_is_valid_email(value: str) -> bool:
    e = py_email(value)
    return e is not None and _EMAIL_RX.search(e) is not None


# ======================================================================== phone
#: an E.164 number as stored
E164_RE = r"^\+[1-9][0-9]{6,14}$"


@functools.cache
def calling_code(region: str) -> str:
    """The international calling code of a country (``'FR'`` → ``'33'``), from phonenumbers;
    ``''`` when unknown."""
    code = phonenumbers.country_code_for_region(region.upper())
    return str(code) if code else ""


@functools.cache
def region_of_calling_code(code: str) -> str | None:
    """The main country of a calling code (``'44'`` → ``'GB'``, ``'1'`` → ``'US'``)."""
    region = phonenumbers.region_code_for_country_code(int(code))
    return None if region in (None, "ZZ", "001") else region


@functools.lru_cache(maxsize=2_000_000)
def py_phone_e164(value: str | None, default_country: str) -> str | None:
    """One phone number in E.164 (``'06 12 34 56 78'``, ``'FR'`` → ``'+33612345678'``), or
    None when phonenumbers does not find it a *valid* number (see the module's decisions).
    A number written with ``+`` or ``00`` keeps its own country."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_country.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: what separates the digits of a written number (the engine form strips the same)
_PHONE_SEPARATORS = re.compile("[ \t\n\r\f.\\-/()\u00a0\u202f]")


@functools.cache
def _fast_rules(region: str):
    regions = (region, *[r for r in FAST_REGIONS if r != region])
    rule = _region_rule(region)
    with_cc = re.compile(_valid_with_code([region])) if rule is not None else None
    return re.compile(_valid_with_code(regions)), rule, with_cc


def py_phone_e164_fast(value: str | None, default_country: str) -> str | None:
    """:func:`py_phone_e164` through the same fast path as the engine form
    (:func:`phone_e164`): phonenumbers' patterns of valid numbers first, the parser for the
    rest. The same result, several times faster on a list of national numbers."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    region = default_country.upper()
    digits = _PHONE_SEPARATORS.sub("", text)
    intl, rule, with_cc = _fast_rules(region)
    if re.fullmatch(r"(\+|00)[1-9][0-9]+", digits):
        rest = re.sub(r"^(\+|00)", "", digits)
        if intl.search(rest):
            return "+" + rest
    if rule is not None and re.fullmatch(r"[0-9]+", digits) and not digits.startswith("00"):
        cc, prefix, _valid = rule
        if prefix and digits.startswith(prefix) and with_cc.search(cc + digits[len(prefix):]):
            return "+" + cc + digits[len(prefix):]
        if with_cc.search(cc + digits):
            return "+" + cc + digits
        if digits.startswith(cc) and with_cc.search(digits):
            return "+" + digits
    return py_phone_e164(value, default_country)


@ibis.udf.scalar.pyarrow
def _phone_e164_udf(value: str, country: str) -> str:
    """Vectorised: each batch is dictionary-encoded so a number is parsed once per batch
    (and once overall, thanks to the cache of :func:`py_phone_e164`). A backend that calls
    it one value at a time (Spark's row-wise Python UDFs) gets the same answer per value."""
    if not isinstance(value, pa.Array | pa.ChunkedArray):
        text = value if isinstance(value, str) else None
        return py_phone_e164(text, country if isinstance(country, str) else "") or ""
    encoded = pa.chunked_array([value]).combine_chunks().dictionary_encode() \
        if isinstance(value, pa.ChunkedArray) else value.dictionary_encode()
    default = country[0].as_py() if len(country) else ""
    # the engine wants no NULL back from a UDF: "" stands for "not a number", made NULL after
    uniques = [py_phone_e164(v, default or "") or "" for v in encoded.dictionary.to_pylist()]
    return pa.array(uniques, type=pa.string()).take(encoded.indices)


#: regions whose numbers written with their own '+' code are normalised in the engine itself
FAST_REGIONS = ("FR", "GB", "BE", "CH", "LU", "DE", "ES", "IT", "NL", "PT", "IE", "US")
_NUMBER_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
                 "personal_number", "voip", "pager", "uan", "voicemail")


@functools.lru_cache(maxsize=64)
def _region_rule(region: str) -> tuple[str, str, str] | None:
    """(country code, national prefix, regex of valid national numbers) for a region whose
    numbers phonenumbers parses without special rules; None otherwise."""
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if md is None or md.national_prefix_transform_rule:
        return None
    prefix = md.national_prefix or ""
    if (md.national_prefix_for_parsing or "") != prefix:
        return None
    patterns = [getattr(md, t).national_number_pattern for t in _NUMBER_TYPES
                if getattr(md, t) is not None and getattr(md, t).national_number_pattern]
    if not patterns:
        return None
    return str(md.country_code), prefix, "^(?:" + "|".join(f"(?:{p})" for p in patterns) + ")$"


@functools.lru_cache(maxsize=64)
def _valid_national(region: str) -> tuple[str, str] | None:
    """(country code, regex of valid national numbers) of a region: what a number written
    with its '+' code must match (no national prefix to strip there)."""
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if md is None:
        return None
    patterns = [getattr(md, t).national_number_pattern for t in _NUMBER_TYPES
                if getattr(md, t) is not None and getattr(md, t).national_number_pattern]
    if not patterns:
        return None
    return str(md.country_code), "(?:" + "|".join(f"(?:{p})" for p in patterns) + ")"


def _valid_with_code(regions) -> str:
    """One regular expression for 'country code + national number' valid in any of
    ``regions`` (country codes are a prefix code, so no separator is needed)."""
    parts = []
    for region in regions:
        rule = _valid_national(region)
        if rule is not None:
            parts.append(f"{rule[0]}{rule[1]}")
    return "^(?:" + "|".join(parts) + ")$"


def phone_e164(expr: ir.StringValue, default_country: str) -> ir.StringValue:
    """Phone numbers in E.164 (``'+33612345678'``), as :func:`py_phone_e164` writes them,
    with ``default_country`` (ISO alpha-2) for numbers written without a country code.
    Invalid numbers and blanks → NULL.

    Fast at a million rows: the numbers of the default country, and the '+CC' / '00CC'
    numbers of the usual European countries and the US, are checked in the engine against
    phonenumbers' own patterns of valid numbers (one regular expression per form); only the
    rest go to Python, through a vectorised UDF that parses each distinct number once."""
    region = default_country.upper()
    null = ibis.null().cast("string")
    text = expr.cast("string").strip()
    digits = text.re_replace("[\\s.\\-/()\u00a0\u202f]", "")
    intl = digits.re_search(r"^(\+|00)[1-9][0-9]+$")
    rest = digits.re_replace(r"^(\+|00)", "")
    regions = (region, *[r for r in FAST_REGIONS if r != region])
    branches = [
        ((text.length() == 0) | text.isnull(), null),
        (intl & rest.re_search(_valid_with_code(regions)), "+" + rest),
    ]
    rule = _region_rule(region)
    if rule is not None:
        cc, prefix, _valid = rule
        # written the national way (only digits, no '+'/'00'): the default country decides
        plain = digits.re_search(r"^[0-9]+$") & ~digits.startswith("00")
        with_cc = _valid_with_code([region])
        if prefix:
            stripped = cc + digits.substr(len(prefix))
            branches.append((plain & digits.startswith(prefix) & stripped.re_search(with_cc),
                             "+" + stripped))
        branches.append((plain & (cc + digits).re_search(with_cc), "+" + cc + digits))
        # the country code written without '+' ('33612345678'): phonenumbers strips it
        branches.append((plain & digits.startswith(cc) & digits.re_search(with_cc),
                         "+" + digits))
    # only valid numbers are settled here; anything else (invalid, '+33 (0)6…', letters,
    # extensions, other countries) is for phonenumbers to judge
    fast = ibis.cases(*branches, else_=ibis.literal("?"))  # "?": ask phonenumbers
    # a single UDF call site, evaluated on the rows that need it only
    slow = _phone_e164_udf(text, ibis.literal(region)).nullif("")
    return ibis.ifelse(fast == "?", slow, fast)


def is_e164(expr: ir.StringValue) -> ir.BooleanValue:
    """Stored in E.164 form (what the loader writes)."""
    return expr.strip().re_search(E164_RE)


def country_of_phone(expr: ir.StringValue) -> ir.StringValue:
    """The country of an E.164 number, for the countries whose postcodes are checked (a
    record without a country is taken to live where its phone number is)."""
    p = expr.strip()
    codes = sorted(((calling_code(c), c) for c in POSTCODE_RE if calling_code(c)),
                   key=lambda x: -len(x[0]))
    # a shared code (+1: US and CA; +44: GB) goes to its main country
    seen: dict[str, str] = {}
    for code, country in codes:
        seen.setdefault(code, region_of_calling_code(code) or country)
    return ibis.cases(*[(p.startswith(f"+{code}"), ibis.literal(c)) for code, c in seen.items()],
                      else_=ibis.null(dt.string))


def py_country_of_phone(value: str) -> str | None:
    p = value.strip()
    for code in sorted({calling_code(c) for c in POSTCODE_RE if calling_code(c)},
                       key=lambda x: -len(x)):
        if p.startswith(f"+{code}"):
            return region_of_calling_code(code)
    return None


# ===================================================================== postcode
#: postcode shapes (after :func:`postal_code`) by ISO country
POSTCODE_RE = {
    "FR": r"^[0-9]{5}$", "DE": r"^[0-9]{5}$", "ES": r"^[0-9]{5}$", "IT": r"^[0-9]{5}$",
    "US": r"^[0-9]{5}(-[0-9]{4})?$", "BE": r"^[0-9]{4}$", "CH": r"^[0-9]{4}$",
    "AT": r"^[0-9]{4}$", "LU": r"^(L-)?[0-9]{4}$", "NL": r"^[0-9]{4} ?[A-Z]{2}$",
    "PT": r"^[0-9]{4}-[0-9]{3}$", "CA": r"^[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]$",
    "GB": r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", "IE": r"^[A-Z][0-9][0-9W] ?[A-Z0-9]{4}$",
    # a CEP (01310-100) or its 5-digit prefix, what marketplaces export
    "BR": r"^[0-9]{5}(-[0-9]{3})?$",
    "AU": r"^[0-9]{4}$",
}
#: shapes that hold letters: a lettered postcode of a record without a country may be foreign
_LETTERED = ("GB", "NL", "CA", "IE")


def postal_code(expr: ir.StringValue, country: str | ir.StringValue | None = None
                ) -> ir.StringValue:
    """Postal code trimmed, upper-case, inner spaces collapsed; ``'75001.0'`` loses its
    ``.0``. With ``country`` (ISO alpha-2, a literal or a column): French codes that lost
    their leading zero get it back (``'1000'`` → ``'01000'``), British codes get the space
    before the inward code (``'SW1A1AA'`` → ``'SW1A 1AA'``), Brazilian CEPs their dash
    (``'01310100'`` → ``'01310-100'``). Blank → NULL."""
    e = expr.cast("string").strip().upper().re_replace(r"\s+", " ")
    e = e.re_replace(r"^(\d+)\.0+$", r"\1")
    if country is not None:
        c = ibis.literal(country) if isinstance(country, str) else country.strip().upper()
        compact = e.replace(" ", "")
        fr = ibis.ifelse(e.re_search(r"^\d{4}$"), ibis.literal("0") + e, e)
        gb = ibis.ifelse(
            compact.re_search(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$"),
            compact.left(compact.length() - 3) + " " + compact.right(3),
            e,
        )
        br = ibis.ifelse(compact.re_search(r"^\d{8}$"),
                         compact.left(5) + "-" + compact.right(3), e)
        e = ibis.cases((c == "FR", fr), (c == "GB", gb), (c == "BR", br), else_=e)
    return _blank_to_null(e)


def py_postal_code(value: str | None, country: str | None = None) -> str | None:
    """:func:`postal_code` for one value."""
    if value is None:
        return None
    e = re.sub(r"\s+", " ", value.strip().upper())
    e = re.sub(r"^(\d+)\.0+$", r"\1", e)
    c = (country or "").strip().upper()
    compact = e.replace(" ", "")
    if c == "FR" and re.fullmatch(r"\d{4}", e):
        e = "0" + e
    elif c == "GB" and re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}", compact):
        e = compact[:-3] + " " + compact[-3:]
    elif c == "BR" and re.fullmatch(r"\d{8}", compact):
        e = compact[:5] + "-" + compact[5:]
    return e or None


def is_valid_postcode(expr: ir.StringValue, country: ir.StringValue,
                      default_country: str) -> ir.BooleanValue:
    """The shape of the country's postcodes (``expr`` after :func:`postal_code`); NULL when
    the country's shapes are not known. A record with no known country is checked against
    ``default_country``, except that a postcode with letters may also have the shape of a
    country whose postcodes have letters (GB, NL, CA, IE): it is plainly foreign, not a
    broken local one."""
    code = expr.strip().upper().re_replace(r"\s+", " ")
    known = ibis.cases(*[(country == c, code.re_search(rx)) for c, rx in POSTCODE_RE.items()],
                       else_=ibis.null(dt.boolean))
    default = POSTCODE_RE.get(default_country.upper())
    if default is None:
        return known
    unknown = code.re_search(default)
    for c in _LETTERED:
        unknown = unknown | code.re_search(POSTCODE_RE[c])
    return ibis.ifelse(country.isnull(), unknown, known)


def py_is_valid_postcode(value: str, country: str | None, default_country: str
                         ) -> bool | None:
    code = re.sub(r"\s+", " ", value.strip().upper())
    if country is not None:
        rx = POSTCODE_RE.get(country)
        return None if rx is None else re.search(rx, code) is not None
    default = POSTCODE_RE.get(default_country.upper())
    if default is None:
        return None
    return any(re.search(POSTCODE_RE[c], code) for c in (default_country.upper(), *_LETTERED))


def is_placeholder_postcode(expr: ir.StringValue) -> ir.BooleanValue:
    """A placeholder text, or one character repeated (``00000``, ``XXXXX``)."""
    compact = expr.upper().re_replace(r"[^0-9A-Z]", "")
    return is_placeholder_text(expr) | ((compact.length() >= 3) & _one_char(compact))


def py_is_placeholder_postcode(value: str) -> bool:
    compact = re.sub(r"[^0-9A-Z]", "", value.upper())
    return py_is_placeholder_text(value) or (len(compact) >= 3 and _one_char(compact))


# ====================================================================== country
_ALPHA3 = (
    "AD AND AE ARE AF AFG AG ATG AI AIA AL ALB AM ARM AN ANT AO AGO AQ ATA AR ARG AS ASM AT AUT "
    "AU AUS AW ABW AX ALA AZ AZE BA BIH BB BRB BD BGD BE BEL BF BFA BG BGR BH BHR BI BDI BJ BEN "
    "BL BLM BM BMU BN BRN BO BOL BQ BES BR BRA BS BHS BT BTN BV BVT BW BWA BY BLR BZ BLZ CA CAN "
    "CC CCK CD COD CF CAF CG COG CH CHE CI CIV CK COK CL CHL CM CMR CN CHN CO COL CR CRI CU CUB "
    "CV CPV CW CUW CX CXR CY CYP CZ CZE DE DEU DJ DJI DK DNK DM DMA DO DOM DZ DZA EC ECU EE EST "
    "EG EGY EH ESH ER ERI ES ESP ET ETH FI FIN FJ FJI FK FLK FM FSM FO FRO FR FRA GA GAB GB GBR "
    "GD GRD GE GEO GF GUF GG GGY GH GHA GI GIB GL GRL GM GMB GN GIN GP GLP GQ GNQ GR GRC GS SGS "
    "GT GTM GU GUM GW GNB GY GUY HK HKG HM HMD HN HND HR HRV HT HTI HU HUN ID IDN IE IRL IL ISR "
    "IM IMN IN IND IO IOT IQ IRQ IR IRN IS ISL IT ITA JE JEY JM JAM JO JOR JP JPN KE KEN KG KGZ "
    "KH KHM KI KIR KM COM KN KNA KP PRK KR KOR KW KWT KY CYM KZ KAZ LA LAO LB LBN LC LCA LI LIE "
    "LK LKA LR LBR LS LSO LT LTU LU LUX LV LVA LY LBY MA MAR MC MCO MD MDA ME MNE MF MAF MG MDG "
    "MH MHL MK MKD ML MLI MM MMR MN MNG MO MAC MP MNP MQ MTQ MR MRT MS MSR MT MLT MU MUS MV MDV "
    "MW MWI MX MEX MY MYS MZ MOZ NA NAM NC NCL NE NER NF NFK NG NGA NI NIC NL NLD NO NOR NP NPL "
    "NR NRU NU NIU NZ NZL OM OMN PA PAN PE PER PF PYF PG PNG PH PHL PK PAK PL POL PM SPM PN PCN "
    "PR PRI PS PSE PT PRT PW PLW PY PRY QA QAT RE REU RO ROU RS SRB RU RUS RW RWA SA SAU SB SLB "
    "SC SYC SD SDN SE SWE SG SGP SH SHN SI SVN SJ SJM SK SVK SL SLE SM SMR SN SEN SO SOM SR SUR "
    "SS SSD ST STP SV SLV SX SXM SY SYR SZ SWZ TC TCA TD TCD TF ATF TG TGO TH THA TJ TJK TK TKL "
    "TL TLS TM TKM TN TUN TO TON TR TUR TT TTO TV TUV TW TWN TZ TZA UA UKR UG UGA UM UMI US USA "
    "UY URY UZ UZB VA VAT VC VCT VE VEN VG VGB VI VIR VN VNM VU VUT WF WLF WS WSM YE YEM YT MYT "
    "ZA ZAF ZM ZMB ZW ZWE"
)
#: usual ways of writing a country that are not its official name in English or French
_COUNTRY_ALIASES = {
    "UK": "GB", "U K": "GB", "GREAT BRITAIN": "GB", "GRANDE BRETAGNE": "GB", "ENGLAND": "GB",
    "ANGLETERRE": "GB", "SCOTLAND": "GB", "ECOSSE": "GB", "WALES": "GB",
    "PAYS DE GALLES": "GB", "NORTHERN IRELAND": "GB", "IRLANDE DU NORD": "GB",
    "UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND": "GB",
    "EIRE": "IE", "REPUBLIC OF IRELAND": "IE", "IRLANDE": "IE",
    "USA": "US", "U S A": "US", "U S": "US", "AMERICA": "US", "UNITED STATES OF AMERICA": "US",
    "ETATS UNIS": "US", "ETATS UNIS D AMERIQUE": "US", "AMERIQUE": "US",
    "HOLLAND": "NL", "HOLLANDE": "NL", "THE NETHERLANDS": "NL",
    "CZECHIA": "CZ", "TCHEQUIE": "CZ", "RUSSIAN FEDERATION": "RU", "KOREA": "KR",
    "REPUBLIC OF KOREA": "KR", "COREE": "KR", "RSA": "ZA", "VIET NAM": "VN",
    "IVORY COAST": "CI", "COTE D IVOIRE": "CI", "SWISS": "CH", "DEUTSCHLAND": "DE",
    "BELGIE": "BE", "ESPANA": "ES", "ITALIA": "IT", "BRASIL": "BR", "NEDERLAND": "NL",
    "SUISSE": "CH", "SCHWEIZ": "CH", "SVIZZERA": "CH", "OSTERREICH": "AT",
    "UAE": "AE", "EMIRATS ARABES UNIS": "AE", "DOM TOM": None,
    "NORTH MACEDONIA": "MK", "MACEDOINE DU NORD": "MK", "ESWATINI": "SZ", "TURKIYE": "TR",
    "BURMA": "MM", "BIRMANIE": "MM", "VATICAN CITY": "VA", "HOLY SEE": "VA",
    "PALESTINIAN TERRITORIES": "PS", "TAIWAN PROVINCE OF CHINA": "TW",
    "LA REUNION": "RE", "ILE DE LA REUNION": "RE", "REUNION": "RE",
}
_NAME_LANGUAGES = ("aa", "fr", "de", "es", "it", "nl", "pt")


@functools.lru_cache(maxsize=1)
def country_lookup() -> dict[str, str]:
    """Text key (see :func:`py_text_key`) → ISO 3166-1 alpha-2, from the country names that
    ``phonenumbers`` ships (English, French, German, Spanish, Italian, Dutch, Portuguese),
    the alpha-2 and alpha-3 codes, and usual variants ('UK', 'EIRE', 'Royaume-Uni')."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    table: dict[str, str] = {}
    for code, names in LOCALE_DATA.items():
        for lang in _NAME_LANGUAGES:
            name = names.get(lang)
            while name and name.startswith("*"):  # '*aa' means "same as language aa"
                name = names.get(name[1:])
            if name:
                table.setdefault(py_text_key(name), code)
    parts = _ALPHA3.split()
    for a2, a3 in zip(parts[::2], parts[1::2], strict=True):
        table[a3] = a2
        table[a2] = a2
    for alias, code in _COUNTRY_ALIASES.items():
        if code is None:
            table.pop(py_text_key(alias), None)
        else:
            table[py_text_key(alias)] = code
    return table


def country_iso2(expr: ir.StringValue, engine=None) -> ir.StringValue:
    """Country as ISO 3166-1 alpha-2 ('France', 'FRA', 'fr', 'Royaume-Uni', 'UK', 'EIRE' →
    'FR', 'FR', 'FR', 'GB', 'GB', 'IE'); case, accents and punctuation do not matter;
    unknown ('Channel Islands', 'Unspecified') → NULL. Pass ``engine`` for speed (the
    lookup table is then defined in the engine instead of inlined in each query)."""
    return lookup(text_key(expr), country_lookup(), engine=engine, name="prisme_country_iso2")


def py_country_iso2(value: str | None) -> str | None:
    """:func:`country_iso2` for one Python value."""
    return None if value is None else country_lookup().get(py_text_key(value))


def lookup(key: ir.StringValue, table: dict[str, str], *, engine=None,
           name: str = "") -> ir.StringValue:
    """``table[key]`` in the engine. With the engine (given, or found from the tables the
    expression reads), the table is defined there once and the query calls it by name (small
    SQL, a hash join); without one, a map literal is inlined in the query (portable, but
    about 1 s of planning per query)."""
    if engine is None:
        engine = _engine_of(key)
    if engine is not None and hasattr(engine, "define_lookup"):
        engine.define_lookup(name, table)
        return _named_function(name)(key)
    return ibis.literal(table, type="map<string, string>").get(key)


def _engine_of(expr: ir.Value):
    """The Prisme engine an expression's tables live in, when there is one."""
    from prisme.engine.base import engine_of

    try:
        backend = ibis.get_backend(expr)
    except Exception:  # an expression over in-memory data only: no engine
        return None
    return engine_of(backend)


@functools.cache
def _named_function(name: str):
    @ibis.udf.scalar.builtin(name=name)
    def lookup(key: str) -> str:
        """A lookup defined in the engine by :meth:`Engine.define_lookup`."""

    return lookup
