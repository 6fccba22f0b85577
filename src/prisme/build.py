"""``prisme build``: from the core tables to the marts, in the order the chain needs.

1. identity — one party per real customer (``party_map``, ``dim_party``, ``party_history``);
2. quality — the audit of every source list (``quality_audit``), which reads the overlaps
   that identity found;
3. marts — RFM, clusters, customer value, ``customer_360`` and the segment tables;
4. scores — churn probability and reasons, next best offers (``customer_360`` columns);
5. manager — ``mart_campaigns``, ``mart_channels``, ``mart_forecasts``, advertising and
   satisfaction drivers (:mod:`prisme.analytics.manager`);
6. serving — ``mart_cube_sales``, ``mart_cube_rollup``, ``mart_card``, ``mart_search`` and
   its term index ``mart_search_terms``, laid out for the application (:mod:`prisme.serve.marts`).

Each step is atomic on its own; a build holds the warehouse's exclusive lock so that a load
cannot change the core tables under it, and readers (``connect(read_only=True)``) see the
previous published state until the whole build is published at its end
(``Engine.publishing``): never new party tables beside old marts.

A build killed part-way leaves its staging tables (``customer_360__building``…, see
``engine.base.STAGING_SUFFIXES``) and Splink's working tables in the live warehouse. Nothing
lists them (``list_tables`` and ``list_views`` leave staging tables out; nothing is published
until a build finishes), and the next build drops them before its first step
(:func:`drop_leftovers`), so the state it publishes holds none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prisme import engine as engine_mod
from prisme.config import Settings

#: prefixes of working tables a writer makes and drops itself (Splink's, during identity
#: resolution): left in the warehouse only by a killed build
WORK_PREFIXES = ("__splink__",)


@dataclass
class BuildSummary:
    steps: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: the version readers see after the build (None: not published, see the engine's note)
    published: str | None = None
    #: what a killed build had left and this one dropped before its first step
    leftovers: list[str] = field(default_factory=list)


def drop_leftovers(eng) -> list[str]:
    """Drop the staging and working tables a killed writer left (call it holding the
    warehouse's exclusive lock: no other writer is building); returns their names."""
    from prisme.engine.base import is_staging

    views = set(eng.list_views(staging=True))
    gone = []
    for name in eng.list_tables(staging=True):
        if not (is_staging(name) or name.startswith(WORK_PREFIXES)):
            continue
        if name in views:
            eng.drop_view(name, force=True)
        else:
            eng.drop_table(name, force=True)
        gone.append(name)
    return gone


def build(settings: Settings, *, engine=None, progress=None, as_of=None) -> BuildSummary:
    """Run identity resolution, the quality audit and the marts on the project's warehouse."""
    from prisme.act.targets import measure_lists
    from prisme.analytics import quality
    from prisme.analytics.manager import build_manager_marts
    from prisme.analytics.marts import build_marts
    from prisme.analytics.scores import build_scores
    from prisme.identity.build import resolve_parties
    from prisme.serve.marts import build_serving_marts
    from prisme.warehouse.core import ensure_tables

    own = engine is None
    eng = engine or engine_mod.connect(settings)
    summary = BuildSummary()
    try:
        # readers see the previous published state until the whole build is published
        with eng.exclusive("prisme build"), eng.publishing("prisme build") as unit:
            summary.leftovers = drop_leftovers(eng)  # a killed build's half-made tables
            ensure_tables(eng)
            steps = [
                ("identity", lambda: resolve_parties(eng, settings, progress=progress)),
                ("quality", lambda: quality.audit(eng, settings)),
                ("marts", lambda: build_marts(eng, settings, as_of=as_of, progress=progress)),
                ("scores", lambda: build_scores(eng, settings, as_of=as_of, progress=progress)),
                # after the scores: campaigns, channels, forecasts, advertising, satisfaction
                ("manager", lambda: build_manager_marts(eng, settings, as_of=as_of,
                                                        progress=progress)),
                ("target lists", lambda: measure_lists(eng)),  # lift of exported lists (act)
                ("serving", lambda: build_serving_marts(eng, settings)),  # the app's marts
            ]
            for name, step in steps:
                if progress is not None and name == "quality":  # the others say their steps
                    progress("quality audit", 0, 1)
                started = time.perf_counter()
                summary.steps[name] = step()
                summary.seconds[name] = time.perf_counter() - started
            publish_started = time.perf_counter()
        summary.published = unit.version
        summary.seconds["publish"] = time.perf_counter() - publish_started
    finally:
        if own:
            eng.close()
    return summary
