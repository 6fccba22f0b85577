"""A coded item — ``{"code": …, figures}``, as the warehouse stores churn reasons and the
manager marts' findings — said in words: the code's phrase in the reader's language, or, for
a code this version does not know (or figures that do not fit its phrase), the code and its
figures as they are, never an error on a page."""

from __future__ import annotations

from collections.abc import Callable


def say_coded(item: dict, en: dict[str, Callable], fr: dict[str, Callable],
              make: Callable, lang: str = "en", currency: str | None = None) -> str:
    """``item`` in words: ``(fr if lang == "fr" else en)[code](make(item, lang, currency))``."""
    code = item.get("code")
    fn = (fr if lang == "fr" else en).get(code)
    if fn is not None:
        try:
            return fn(make(item, lang, currency))
        except (KeyError, TypeError, ValueError):
            pass
    figures = ", ".join(f"{k} {v}" for k, v in item.items() if k != "code")
    return f"{str(code).replace('_', ' ')}" + (f" ({figures})" if figures else "")
