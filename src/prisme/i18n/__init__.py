"""Presentation shared by what presents: the web application (``prisme.serve``) and the
reports and write-back (``prisme.act``).

Analyses store data — codes, numbers, English public names (``at risk``, a cluster's label,
a churn reason's code and its figures); this package says them in the reader's language
(English or French), numbers and dates by Babel:

* :mod:`prisme.i18n.formats` — numbers, percentages, money, month names in a locale;
* :mod:`prisme.i18n.names` — RFM segment names and behavioural cluster labels;
* :mod:`prisme.i18n.reasons` — churn reasons (``customer_360.churn_reasons``);
* :mod:`prisme.i18n.quality` — the quality audit's detail lines (``quality_audit.detail``);
* :mod:`prisme.i18n.findings` — what the manager stages found (``findings`` of
  ``mart_campaigns``, ``mart_channels``, ``mart_forecasts``, ``mart_advertising``,
  ``mart_satisfaction``);
* :mod:`prisme.i18n.segments` — the segment tables in sentences.

Layering (import-linter, ``pyproject.toml``): serve → act → i18n → analytics. Nothing in
analytics, ingest, identity, access, warehouse or engine imports this package.
"""

LANGUAGES = ("en", "fr")
