"""``prisme build``: from the core tables to the marts, in the order the chain needs.

1. identity — one party per real customer (``party_map``, ``dim_party``, ``party_history``);
2. quality — the audit of every source list (``quality_audit``), which reads the overlaps
   that identity found;
3. marts — RFM, clusters, customer value, ``customer_360`` and the segment tables;
4. scores — churn probability and reasons, next best offers (``customer_360`` columns);
5. manager — ``mart_campaigns``, ``mart_channels``, ``mart_forecasts``, advertising and
   satisfaction drivers (:mod:`prisme.analytics.manager`);
6. serving — ``mart_cube_sales`` and ``mart_timeline``, laid out for the application
   (:mod:`prisme.serve.marts`).

Each step is atomic on its own; a build holds the warehouse's exclusive lock so that a load
cannot change the core tables under it, and readers (``connect(read_only=True)``) see the
previous published state until the whole build is published at its end
(``Engine.publishing``): never new party tables beside old marts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prisme import engine as engine_mod
from prisme.config import Settings


@dataclass
class BuildSummary:
    steps: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: the version readers see after the build (None: not published, see the engine's note)
    published: str | None = None


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
