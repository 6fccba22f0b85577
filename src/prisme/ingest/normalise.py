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

import ibis
import ibis.expr.types as ir

# the conform rules (what a valid e-mail, phone, postcode, country is) live in the warehouse
# layer, shared with identity resolution and the quality audit; re-exported here for callers
from prisme.warehouse.conform import (  # noqa: F401
    FAST_REGIONS,
    country_iso2,
    country_lookup,
    email,
    postal_code,
    py_country_iso2,
    py_text_key,
    text_key,
)
from prisme.warehouse.conform import lookup as _lookup
from prisme.warehouse.conform import phone_e164 as _phone_e164
from prisme.warehouse.conform import py_phone_e164 as phone_to_e164  # noqa: F401


def phone_e164(engine, expr: ir.StringValue, default_country: str) -> ir.StringValue:
    """Phone numbers in E.164, NULL when not valid (see :func:`prisme.warehouse.conform.
    phone_e164`); ``engine`` is kept in the signature for backends that need it."""
    del engine
    return _phone_e164(expr, default_country)


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


