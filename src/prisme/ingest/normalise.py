"""Normalisers: one format for the values that identify and locate a customer.

The core layer is *integrated* (DESIGN §3): the same e-mail, phone, country or currency is
written the same way whatever source it came from, so that identity resolution and reports
compare like with like. Each helper takes an Ibis string expression and returns an Ibis
expression, so the work runs in the engine; only :func:`phone_e164` calls Python
(``phonenumbers``), once per distinct value, through a vectorised UDF with a cache.

Every helper gives NULL for blanks and for what it cannot recognise, never a guess.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import ibis
import ibis.expr.types as ir
import phonenumbers
import pyarrow as pa

from prisme.engine.functions import strip_accents

# ------------------------------------------------------------------ text keys


def _lookup(key: ir.StringValue, table: dict[str, str], *, engine=None,
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


def _blank_to_null(expr: ir.StringValue) -> ir.StringValue:
    return ibis.ifelse(expr.length() == 0, ibis.null().cast("string"), expr)


def text_key(expr: ir.StringValue) -> ir.StringValue:
    """Upper case, accents off, punctuation to single spaces: 'Royaume-Uni ' → 'ROYAUME UNI'."""
    e = strip_accents(expr).upper()
    return e.re_replace(r"[^A-Z0-9&]+", " ").strip()


def py_text_key(value: str) -> str:
    """:func:`text_key` in Python (for building lookup tables the same way)."""
    value = value.upper()
    e = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return re.sub(r"[^A-Z0-9&]+", " ", e).strip()


# ---------------------------------------------------------------------- email
def email(expr: ir.StringValue) -> ir.StringValue:
    """E-mail address trimmed and lower-cased ('  Jean.Dupont@Orange.FR ' →
    'jean.dupont@orange.fr'); a leading 'mailto:' is dropped; blank → NULL."""
    e = expr.strip().lower().re_replace(r"^mailto:", "").strip()
    return _blank_to_null(e)


# ---------------------------------------------------------------------- phone
@functools.lru_cache(maxsize=2_000_000)
def phone_to_e164(value: str | None, default_country: str) -> str | None:
    """One phone number in E.164 ('06 12 34 56 78', 'FR' → '+33612345678'), or None when it
    is not a valid number. A number written with '+' or '00' keeps its own country."""
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


@ibis.udf.scalar.pyarrow
def _phone_e164_udf(value: str, country: str) -> str:
    """Vectorised: each batch is dictionary-encoded so a number is parsed once per batch
    (and once overall, thanks to the cache of :func:`phone_to_e164`)."""
    encoded = pa.chunked_array([value]).combine_chunks().dictionary_encode() \
        if isinstance(value, pa.ChunkedArray) else value.dictionary_encode()
    default = country[0].as_py() if len(country) else ""
    # the engine wants no NULL back from a UDF: "" stands for "not a number", made NULL after
    uniques = [phone_to_e164(v, default or "") or "" for v in encoded.dictionary.to_pylist()]
    out = pa.array(uniques, type=pa.string()).take(encoded.indices)
    return out


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


def _valid_with_code(regions) -> str:
    """One regular expression for 'country code + national number' valid in any of
    ``regions`` (country codes are a prefix code, so no separator is needed)."""
    parts = []
    for region in regions:
        rule = _region_rule(region)
        if rule is not None:
            cc, _prefix, valid = rule
            parts.append(f"{cc}{valid[1:-1]}")  # the pattern without its ^ and $
    return "^(?:" + "|".join(parts) + ")$"


def phone_e164(engine, expr: ir.StringValue, default_country: str) -> ir.StringValue:
    """Phone numbers in E.164 ('+33612345678'), as ``phonenumbers`` would write them, with
    ``default_country`` (ISO alpha-2) for numbers written without a country code. Invalid
    numbers and blanks → NULL.

    Fast at a million rows: the numbers of the default country, and the '+CC' / '00CC'
    numbers of the usual European countries and the US, are checked in the engine against
    phonenumbers' own patterns of valid numbers (one regular expression per form); only the
    rest go to Python, through a vectorised UDF that parses each distinct number once."""
    del engine  # portable through Ibis; kept in the signature for backends that need it
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


# -------------------------------------------------------------------- country
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
            table.pop(alias, None)
        else:
            table[py_text_key(alias)] = code
    return table


def country_iso2(expr: ir.StringValue, engine=None) -> ir.StringValue:
    """Country as ISO 3166-1 alpha-2 ('France', 'FRA', 'fr', 'Royaume-Uni', 'UK', 'EIRE' →
    'FR', 'FR', 'FR', 'GB', 'GB', 'IE'); case, accents and punctuation do not matter;
    unknown ('Channel Islands', 'Unspecified') → NULL. Pass ``engine`` for speed (the
    lookup table is then defined in the engine instead of inlined in each query)."""
    return _lookup(text_key(expr), country_lookup(), engine=engine, name="prisme_country_iso2")


def py_country_iso2(value: str | None) -> str | None:
    """:func:`country_iso2` for one Python value."""
    return None if value is None else country_lookup().get(py_text_key(value))


# ------------------------------------------------------------------- currency
_CURRENCY_CODES = (
    "EUR USD GBP CHF JPY CNY CAD AUD NZD SEK NOK DKK PLN CZK HUF RON BGN HRK ISK TRY RUB UAH "
    "INR BRL MXN ARS CLP COP PEN ZAR MAD TND DZD EGP NGN KES XOF XAF XPF AED SAR QAR KWD BHD "
    "ILS SGD HKD TWD KRW THB MYR IDR PHP VND PKR BDT LKR"
).split()
_CURRENCY_NAMES = {
    "€": "EUR", "EURO": "EUR", "EUROS": "EUR", "EU": "EUR",
    "$": "USD", "US$": "USD", "US $": "USD", "USD$": "USD", "DOLLAR": "USD", "DOLLARS": "USD",
    "US DOLLAR": "USD", "US DOLLARS": "USD", "DOLLAR US": "USD", "DOLLARS US": "USD",
    "DOLLAR AMERICAIN": "USD", "DOLLARS AMERICAINS": "USD",
    "£": "GBP", "POUND": "GBP", "POUNDS": "GBP", "POUND STERLING": "GBP", "STERLING": "GBP",
    "LIVRE": "GBP", "LIVRES": "GBP", "LIVRE STERLING": "GBP", "LIVRES STERLING": "GBP",
    "GBP£": "GBP", "UKP": "GBP",
    "FRANC SUISSE": "CHF", "FRANCS SUISSES": "CHF", "SWISS FRANC": "CHF", "SWISS FRANCS": "CHF",
    "SFR": "CHF",
    "¥": "JPY", "YEN": "JPY", "YENS": "JPY", "JP¥": "JPY", "YUAN": "CNY", "RENMINBI": "CNY",
    "RMB": "CNY", "CN¥": "CNY", "C$": "CAD", "CA$": "CAD", "CAN$": "CAD",
    "DOLLAR CANADIEN": "CAD", "CANADIAN DOLLAR": "CAD", "A$": "AUD", "AU$": "AUD",
    "AUSTRALIAN DOLLAR": "AUD", "NZ$": "NZD", "ZL": "PLN", "ZŁ": "PLN",
    "₹": "INR", "RUPEE": "INR", "R$": "BRL", "REAL": "BRL", "₽": "RUB", "ROUBLE": "RUB",
    "RUBLE": "RUB", "₺": "TRY", "₩": "KRW", "WON": "KRW", "₪": "ILS", "FCFA": "XOF",
    "CFA": "XOF", "DIRHAM": "MAD", "DH": "MAD", "MAD DH": "MAD", "HK$": "HKD", "S$": "SGD",
}


@functools.lru_cache(maxsize=1)
def currency_lookup() -> dict[str, str]:
    """Trimmed upper-case text → ISO 4217 code."""
    table = {c: c for c in _CURRENCY_CODES}
    table.update(_CURRENCY_NAMES)
    table.update({py_text_key(k): v for k, v in _CURRENCY_NAMES.items() if py_text_key(k)})
    return table


def currency(expr: ir.StringValue, engine=None) -> ir.StringValue:
    """Currency as ISO 4217 ('€', 'euros', 'eur', '£', 'livre sterling', 'US$' → 'EUR', 'EUR',
    'EUR', 'GBP', 'GBP', 'USD'); unknown → NULL. '$' alone is read as US dollars. Pass
    ``engine`` for speed (see :func:`country_iso2`)."""
    raw = expr.strip().upper().re_replace(r"\s+", " ")
    lookup = currency_lookup()
    name = "prisme_currency"
    return _lookup(raw, lookup, engine=engine, name=name).coalesce(
        _lookup(text_key(expr), lookup, engine=engine, name=name))


# -------------------------------------------------------------------- boolean
TRUE_WORDS = ("YES", "Y", "OUI", "O", "TRUE", "T", "VRAI", "V", "1", "X", "ON", "OK", "SI", "JA")
FALSE_WORDS = ("NO", "N", "NON", "FALSE", "F", "FAUX", "0", "OFF", "NEIN")


def boolean(expr: ir.StringValue) -> ir.BooleanValue:
    """Yes/no as a boolean: yes, y, oui, o, true, vrai, 1, x (a ticked box), on → true;
    no, n, non, false, faux, 0, off → false (any case, '1.0' and '0.0' too); blank or
    anything else → NULL."""
    k = expr.cast("string").strip().upper().re_replace(r"^([01])\.0+$", r"\1")
    return (
        ibis.cases(
            (k.isin(TRUE_WORDS), True),
            (k.isin(FALSE_WORDS), False),
            else_=ibis.null().cast("boolean"),
        )
    )


# ---------------------------------------------------------------- postal code
def postal_code(expr: ir.StringValue, country: str | ir.StringValue | None = None
                ) -> ir.StringValue:
    """Postal code trimmed, upper-case, inner spaces collapsed; a number an export wrote as
    '75001.0' loses its '.0'. With ``country`` (ISO alpha-2, a literal or a column): French
    codes that lost their leading zero get it back ('1000' → '01000'), British codes get
    the space before the inward code ('SW1A1AA' → 'SW1A 1AA'), US ZIP+4 keeps its dash.
    Blank → NULL."""
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
        e = ibis.cases((c == "FR", fr), (c == "GB", gb), else_=e)
    return _blank_to_null(e)
