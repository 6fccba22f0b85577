"""What a manager-stage analysis found, stored as codes and figures (not as a sentence).

``mart_campaigns``, ``mart_channels``, ``mart_forecasts``, ``mart_advertising`` and
``mart_satisfaction`` each carry a ``findings`` column: a JSON array (compact, as text on
every engine) of objects with a ``code`` and the figures its sentence needs::

    [{"code":"beats","lift":0.021,"low":0.015,"high":0.027,"p":0.0003},
     {"code":"responses","contacted":5200,"converted":312,"rate":0.06},
     {"code":"roi","roi":1.4,"established":true}]

:mod:`prisme.i18n.findings` lists the codes and says them in English or French with the
reader's numbers, money and percentages; the pages, the report and the API read them there.
The English ``sentence`` column beside them is kept for the command line, the CSV exports and
the API (readers that do not choose a language). This module only writes the JSON: analytics
does not depend on the presentation.
"""

from __future__ import annotations

import json
import math

import numpy as np


def figure(v):
    """A figure as JSON takes it: None for a missing value, Python numbers and booleans,
    floats rounded to 6 significant digits (the sentences show 1–3)."""
    if v is None:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        v = float(v)
        if math.isnan(v) or math.isinf(v):
            return None
        return float(f"{v:.6g}")
    if isinstance(v, list | tuple):
        return [figure(x) for x in v]
    try:  # pandas' NA and NaT
        if v != v:
            return None
    except TypeError:
        return None
    return str(v)


def finding(code: str, **figures) -> dict:
    """One finding: its ``code`` and figures (missing values as null)."""
    return {"code": code, **{k: figure(v) for k, v in figures.items()}}


def encode(findings: list[dict]) -> str | None:
    """The stored text of a list of findings (None when there is none)."""
    if not findings:
        return None
    return json.dumps(findings, separators=(",", ":"), ensure_ascii=False)
