"""Placeholders: values typed into a contact field when there was nothing to type.

``N/A``, ``noemail@noemail.com``, ``0000000000`` are not a customer's e-mail or phone: the
loader loads them as empty (and notes it in ``load_issues``), identity resolution must not match
on them, and the quality audit counts them. The rules live here, in the warehouse layer, so that
the loader (ingest) and the audit (analytics) apply the same ones. Each predicate takes an Ibis
string expression and runs in the engine.
"""

from __future__ import annotations

import ibis.expr.types as ir

PLACEHOLDER_TEXT = ("n/a", "na", "n.a.", "n.a", "none", "null", "nil", "unknown", "inconnu",
                    "inconnue", "-", "--", "?", "??", "xx", "xxx", ".", "nc", "n.c.", "néant",
                    "neant", "test", "tbd", "aucun", "aucune", "0")
PLACEHOLDER_EMAIL_LOCAL = ("noemail", "nomail", "no-email", "no_email", "no.email", "none",
                           "aucun", "pasdemail", "pas.de.mail", "noreply", "no-reply", "test",
                           "email", "mail", "xxx", "na", "n/a", "inconnu", "unknown")


def is_placeholder_text(col: ir.StringValue) -> ir.BooleanValue:
    """``N/A``, ``inconnu``, ``-``… (case and surrounding spaces do not matter)."""
    return col.strip().lower().isin(PLACEHOLDER_TEXT)


def is_placeholder_email(col: ir.StringValue) -> ir.BooleanValue:
    """A placeholder text, or an address whose user part says "no e-mail" (``noemail@…``)."""
    e = col.strip().lower()
    local = e.split("@")[0]
    return e.isin(PLACEHOLDER_TEXT) | (e.contains("@") & local.isin(PLACEHOLDER_EMAIL_LOCAL))


def is_placeholder_phone(col: ir.StringValue) -> ir.BooleanValue:
    """No digit at all, or one digit repeated (after the country code): 0000000000,
    +33000000000, 99 99 99 99 99."""
    digits = col.re_replace(r"[^0-9]", "")
    national = digits.re_replace(r"^(33|44|49|34|39|32|41|1)", "")

    def one_digit(x):
        return (x.length() > 0) & (x.replace(x.left(1), "").length() == 0)

    return (digits.length() == 0) | (
        (digits.length() >= 6) & (one_digit(digits) | one_digit(national)))
