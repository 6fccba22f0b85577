"""The customer data warehouse: load journal, quarantine, core tables and ``as_of`` views.

Public tables (users query them with SQL): ``load_batches``, ``quarantine``, ``load_issues``
(values loaded as empty), ``dim_customer``,
``dim_product``, ``dim_campaign`` (versioned views), ``fact_sales`` and the other facts.
"""

from prisme.warehouse.asof import as_of
from prisme.warehouse.batches import LoadResult
from prisme.warehouse.core import ensure_tables, versions_table, with_validity

__all__ = ["LoadResult", "as_of", "ensure_tables", "versions_table", "with_validity"]
