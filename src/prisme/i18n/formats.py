"""Numbers, percentages, money and month names as a language writes them (Babel).

Babel's ``format_*`` functions parse the locale and the pattern at every call; a page
formats hundreds of values, so the parsed locale and patterns are kept.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math

from babel import dates as _dates
from babel import numbers as _numbers

LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def locale_of(lang: str) -> str:
    return LOCALES.get(lang, LOCALES["en"])


def missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def number(v, lang: str = "en", digits: int = 0) -> str:
    """``1,234`` / ``1 234`` (French: a narrow no-break space); ``—`` when missing."""
    if missing(v):
        return "—"
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return _pattern(fmt).apply(float(v), _locale(locale_of(lang)))


def percent(v, lang: str = "en", digits: int = 0) -> str:
    """A share (0.12) as ``12%`` / ``12 %`` (French: a no-break space before the sign)."""
    if missing(v):
        return "—"
    fmt = "#,##0" + ("." + "0" * digits if digits else "") + (
        "\u00a0%" if lang == "fr" else "%")
    return _pattern(fmt).apply(float(v), _locale(locale_of(lang)))


def money(v, lang: str = "en", currency: str | None = None, digits: int = 0) -> str:
    """An amount with its currency (``€1,234`` / ``1 234 €``); without a currency, the
    number alone."""
    if missing(v):
        return "—"
    if not currency:
        return number(v, lang, digits)
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return _pattern("¤" + fmt if lang != "fr" else fmt + "\u00a0¤").apply(
        float(v), _locale(locale_of(lang)), currency=currency, currency_digits=False)


def month_name(month: int, lang: str = "en") -> str:
    """The name of a month (1–12) on its own: ``March`` / ``mars``."""
    return _month_name(int(month), locale_of(lang))


@functools.cache
def _month_name(month: int, locale: str) -> str:
    return _dates.format_date(_dt.date(2000, month, 1), format="LLLL", locale=_locale(locale))


@functools.cache
def _locale(name: str):
    from babel import Locale

    return Locale.parse(name)


@functools.cache
def _pattern(fmt: str):
    return _numbers.parse_pattern(fmt)
