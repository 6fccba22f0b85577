"""Who may read what: the one place where row-level security is decided.

Every table the pages, the API and the cube read goes through :func:`restrict` (through
:class:`prisme.serve.data.Reader`, which hands out no table any other way):

* **admin** — every row, every field;
* **analyst** — every row; the personal fields (:data:`PERSONAL_FIELDS`) are masked unless the
  user was granted them (``prisme users add … --personal-data``);
* **manager** — the customers of their branch (``customer_360.branch``) and the facts of
  those customers; company-wide aggregate tables (campaign and channel results, forecasts, the
  quality audit), which hold no customer row, are readable;
* **advisor** — the customers whose advisor they are (``customer_360.advisor``) and their
  facts; nothing company-wide.

A customer-level table is filtered on ``party_id`` (or, for facts keyed by source record, on
``(source, source_customer_id)`` through ``party_map``); a table that has neither and is not a
declared aggregate is refused to a scoped user rather than shown whole.
"""

from __future__ import annotations

import ibis

from prisme.access.users import User

#: personal fields masked for an analyst without the grant (golden record and source records)
PERSONAL_FIELDS = ("first_name", "last_name", "email", "phone", "fax", "address_line",
                   "birth_date", "ip", "search_text", "email_key", "phone_key", "search_term")
#: tables holding no customer row (results over the whole company); not for advisors
COMPANY_AGGREGATES = frozenset({
    "mart_campaigns", "mart_channels", "mart_forecasts", "quality_audit", "load_batches",
    "mart_satisfaction", "mart_basket_rules", "mart_churn_evaluation", "mart_offers",
    "churn_evaluation", "churn_calibration", "churn_lift", "offer_evaluation",
    "mart_advertising", "mart_satisfaction_drivers",
})
#: tables whose ``branch`` and ``advisor`` are the customer's (filtered on them directly;
#: ``fact_sales.branch`` is the branch of the sale, so facts go through ``party_id``)
CUSTOMER_ATTRIBUTE_TABLES = frozenset({"customer_360", "dim_party", "mart_cube_sales",
                                       "mart_cube_rollup", "mart_search", "mart_card",
                                       "mart_search_terms"})
#: tables an advisor may read although they hold no customer row (reference data)
REFERENCE = frozenset({"dim_product", "dim_campaign"})


class Forbidden(PermissionError):
    """The user may not read this; the message says why (shown as a 403), ``fr`` says it
    in French for the pages of a French reader."""

    def __init__(self, message: str, fr: str | None = None) -> None:
        super().__init__(message)
        self.fr = fr

    def text(self, lang: str) -> str:
        return self.fr if lang == "fr" and self.fr else str(self)


def is_scoped(user: User) -> bool:
    """Whether the user sees only part of the customers (advisor, manager)."""
    return user.role in ("advisor", "manager")


def scope_text(user: User, lang: str = "en") -> str:
    fr = lang == "fr"
    if user.role == "advisor":
        return (f"les clients du conseiller {user.advisor}" if fr else
                f"customers of advisor {user.advisor}")
    if user.role == "manager":
        return (f"les clients de l'agence {user.branch}" if fr else
                f"customers of branch {user.branch}")
    return "tous les clients" if fr else "all customers"


def customer_predicate(user: User, customers: ibis.Table):
    """The row filter on a table of customers (one with ``branch`` and ``advisor`` of the
    customer, such as ``customer_360``); None when the user sees every customer."""
    if user.role == "advisor":
        return customers.advisor == ibis.literal(user.advisor or "\x00none")
    if user.role == "manager":
        return customers.branch == ibis.literal(user.branch or "\x00none")
    if user.role in ("admin", "analyst"):
        return None
    raise Forbidden(f"unknown role {user.role!r}", f"rôle inconnu : {user.role!r}")


def allowed_parties(user: User, customers: ibis.Table, party=None) -> ibis.Table | None:
    """The party ids the user may see (None: all of them); with ``party`` (a value or an
    ``ibis.param``), only that one if the user may see it."""
    pred = customer_predicate(user, customers)
    if pred is None:
        return None
    if party is not None:
        pred = pred & (customers.party_id == party)
    return customers.filter(pred).select("party_id")


def restrict(user: User, name: str, table: ibis.Table, *, customers: ibis.Table,
             party_map: ibis.Table | None = None, party=None) -> ibis.Table:
    """``table`` (the warehouse table ``name``) as ``user`` may read it.

    ``customers`` is ``customer_360`` (whose ``branch`` and ``advisor`` define portfolios);
    ``party_map`` is needed for facts keyed by source record. ``party`` says the caller
    reads one party's rows only (a card): the portfolio check is then a point lookup of
    that party rather than a scan of the whole portfolio; the rows allowed are the same.
    """
    if user.disabled:
        raise Forbidden(f"user {user.name} is disabled",
                        f"l'utilisateur {user.name} est désactivé")
    cols = set(table.columns)
    if name in COMPANY_AGGREGATES:
        if user.role == "advisor":
            raise Forbidden(f"{name} holds company-wide results; an advisor sees only the "
                            "indicators of their own customers",
                            f"{name} contient des résultats de toute l'entreprise ; un "
                            "conseiller ne voit que les indicateurs de ses propres clients")
        return table
    if name not in REFERENCE and is_scoped(user):
        if name in CUSTOMER_ATTRIBUTE_TABLES and {"branch", "advisor"} <= cols:
            table = table.filter(customer_predicate(user, table))
        elif "party_id" in cols:
            table = table.semi_join(allowed_parties(user, customers, party), "party_id")
        elif {"source", "source_customer_id"} <= cols and party_map is not None:
            records = party_map.semi_join(allowed_parties(user, customers, party), "party_id")
            table = table.semi_join(
                records, [table.source == records.source,
                          table.source_customer_id == records.source_customer_id])
        else:
            raise Forbidden(f"{name} cannot be restricted to the {scope_text(user)}; it is "
                            "not available to a scoped user",
                            f"{name} ne peut pas être limité à {scope_text(user, 'fr')} ; "
                            "il n'est pas accessible à un utilisateur limité")
    if not user.sees_personal_data:
        masked = {c: ibis.null(table[c].type()) for c in PERSONAL_FIELDS if c in cols}
        if masked:
            table = table.mutate(**masked)
    return table


def check_slice(user: User, filters: dict[str, list[str]]) -> None:
    """A scoped user asking for a slice outside their portfolio (another advisor, another
    branch) is refused outright rather than shown an empty answer."""
    own = {"advisor": user.advisor} if user.role == "advisor" else \
        {"branch": user.branch} if user.role == "manager" else {}
    for dim, mine in own.items():
        others = [v for v in filters.get(dim, []) if v != mine]
        if others:
            raise Forbidden(f"{dim} {', '.join(others)} is outside your portfolio "
                            f"({scope_text(user)})",
                            f"{dim} {', '.join(others)} est hors de votre portefeuille "
                            f"({scope_text(user, 'fr')})")


def may_search_personal(user: User) -> bool:
    """Searching by name, e-mail or phone reveals personal data: not for a masked analyst."""
    return user.sees_personal_data
