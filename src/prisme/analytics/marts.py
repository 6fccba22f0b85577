"""The marts of customer knowledge: ``customer_360``, the segment tables and the score history.

``build_marts`` runs, as of a day (default: the last sale day):

1. the per-party features and RFM, in the engine (:mod:`features`, :mod:`rfm`);
2. customer value — P(alive), expected purchases, CLV and its interval (:mod:`clv`) — and the
   behavioural clusters (:mod:`clusters`) on the per-party rows;
3. ``customer_360`` (one row per party: the golden record of ``dim_party``, RFM, cluster,
   value, history), ``mart_rfm_segments`` and ``mart_clusters`` (:mod:`segments`), built under
   temporary names and swapped in with the ``score_history`` rows in one transaction, so readers
   see the old marts or the new ones, never a half-built table;
4. ``score_history`` (party_id, model, version, as_of, value) gets p_alive, clv_12m and
   expected_purchases_12m, once per (model, version, as_of), so predictions can be checked later
   against what happened.

**customer_360 contributions.** A module whose analysis adds columns to ``customer_360`` (churn,
offers, satisfaction…) is named in :data:`CONTRIBUTORS` and exposes

* ``CUSTOMER_360_COLUMNS: dict[str, ibis dtype]`` — the columns it contributes, and
* ``customer_360_part(engine, settings, as_of) -> ibis.Table | None`` — those columns keyed by
  ``party_id`` (one row per party at most), or ``None`` when it has nothing for that as_of (its
  stage has not run yet).

``build_marts`` left-joins every part and creates the columns of a part that is ``None`` as
typed NULLs, so the public names (DESIGN §6: ``churn_probability``, ``churn_reasons``,
``next_best_offers``…) always exist. A stage that runs after the marts (``prisme build`` runs
churn and offers after the value stage) calls :func:`refresh_customer_360` once it has stored
its results: its columns are recomputed and swapped in, in one transaction.
``clv_12m`` and its interval are over ``[analytics] clv_horizon_months`` (12 by default; the
``clv_horizon_months`` column says which).
"""

from __future__ import annotations

import datetime as _dt
import importlib
import time
import warnings
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

import prisme
from prisme.analytics.clusters import BehaviourClusters
from prisme.analytics.clv import CustomerValue
from prisme.analytics.features import as_of_day, customer_summary
from prisme.analytics.rfm import rfm_table
from prisme.analytics.segments import clusters_mart, describe_segments, rfm_segments_mart
from prisme.warehouse.schema import ENTITIES

SCORE_HISTORY = ibis.schema(
    {
        "party_id": dt.string,
        "model": dt.string,
        "version": dt.string,
        "as_of": dt.date,
        "value": dt.float64,
    }
)
#: scores appended to score_history at every build
HISTORY_SCORES = ("p_alive", "clv_12m", "expected_purchases_12m")
#: modules contributing customer_360 columns (see the module notes); add yours to the list
CONTRIBUTORS: list[str] = [
    "prisme.analytics.churn",
    "prisme.analytics.offers",
    "prisme.analytics.satisfaction",
]
_SCORE_COLUMNS = {
    "p_alive": dt.float64,
    "expected_purchases_12m": dt.float64,
    "expected_spend": dt.float64,
    "clv_12m": dt.float64,
    "clv_12m_low": dt.float64,
    "clv_12m_high": dt.float64,
    "cluster": dt.int64,
    "cluster_label": dt.string,
}
_GOLDEN = [c for c in ENTITIES["customer"].names if c not in ("source", "source_customer_id")]
MARTS = ("customer_360", "mart_rfm_segments", "mart_clusters", "mart_notes")
#: ``mart_notes``: what a build did and why, in sentences (topic "customer value": the
#: purchase model chosen, the fallbacks taken); replaced with the marts at every build
MART_NOTES = ibis.schema({"as_of": dt.date, "topic": dt.string, "note": dt.string})


def contributors(names: list[str] | None = None) -> list:
    """The contributing modules (imported), in the order of :data:`CONTRIBUTORS`."""
    modules = [importlib.import_module(n) for n in (CONTRIBUTORS if names is None else names)]
    for m in modules:
        if not isinstance(getattr(m, "CUSTOMER_360_COLUMNS", None), dict) or not callable(
            getattr(m, "customer_360_part", None)
        ):
            raise TypeError(
                f"{m.__name__} is listed in marts.CONTRIBUTORS but does not expose "
                "CUSTOMER_360_COLUMNS (dict of column → ibis dtype) and "
                "customer_360_part(engine, settings, as_of)"
            )
    return modules


def contributed_columns(modules: list | None = None) -> dict[str, dt.DataType]:
    """Every contributed column and its type; a column claimed twice is an error."""
    out: dict[str, dt.DataType] = {}
    owner: dict[str, str] = {}
    for m in contributors() if modules is None else modules:
        for name, dtype in m.CUSTOMER_360_COLUMNS.items():
            if name in owner:
                raise ValueError(
                    f"customer_360 column {name!r} is contributed by both {owner[name]} "
                    f"and {m.__name__}"
                )
            owner[name] = m.__name__
            out[name] = dt.dtype(dtype)
    return out


def _with_contributions(engine, settings, base: ibis.Table, as_of: _dt.date,
                        modules: list) -> ibis.Table:
    """``base`` (keyed by party_id) with the columns of each module's part (typed NULL when
    the module has nothing for ``as_of``)."""
    out = base
    for m in modules:
        cols = {n: dt.dtype(t) for n, t in m.CUSTOMER_360_COLUMNS.items()}
        part = m.customer_360_part(engine, settings, as_of)
        if part is None:
            out = out.mutate(**{n: ibis.null(t) for n, t in cols.items()})
            continue
        missing = [n for n in ("party_id", *cols) if n not in part.columns]
        if missing:
            raise ValueError(f"{m.__name__}.customer_360_part lacks the columns {missing}")
        part = part.select("party_id", *[part[n].cast(t).name(n) for n, t in cols.items()])
        out = out.left_join(part, "party_id").drop("party_id_right")
    return out


def refresh_customer_360(engine, settings, module_names: list[str]) -> None:
    """Recompute the columns contributed by ``module_names`` in the published customer_360
    and swap the new table in (one transaction): for a stage that runs after the marts."""
    if not engine.has_table("customer_360"):
        raise RuntimeError("customer_360 does not exist yet: run the marts first")
    modules = contributors(module_names)
    current = engine.table("customer_360")
    names = list(current.columns)
    own = set(contributed_columns(modules))
    day = engine.scalar(current.as_of.max())
    day = as_of_day(day) if day is not None and not pd.isna(day) else _dt.date.today()
    base = current.drop(*[c for c in names if c in own])
    rebuilt = _with_contributions(engine, settings, base, day, modules)
    order = names + [c for c in rebuilt.columns if c not in names]
    engine.create_table("customer_360__refresh", rebuilt.select(*order).order_by("party_id"),
                        overwrite=True)
    try:
        with engine.transaction():
            engine.drop_table("customer_360", force=True)
            engine.rename_table("customer_360__refresh", "customer_360")
    finally:
        engine.drop_table("customer_360__refresh", force=True)


@dataclass
class MartSummary:
    """What ``build_marts`` did, for the CLI and the demo summary."""

    as_of: _dt.date | None
    parties: int = 0
    buyers: int = 0
    value_basis: str = "revenue"
    purchase_model: str = "auto"
    purchase_params: dict = field(default_factory=dict)
    spend_params: dict = field(default_factory=dict)
    clusters: dict[int, str] = field(default_factory=dict)
    rfm_segments: dict[str, int] = field(default_factory=dict)
    score_rows: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: what was done for customer value and why (stored in ``mart_notes``)
    value_notes: list[str] = field(default_factory=list)
    #: the segment tables in sentences (see ``segments.describe_segments``)
    sentences: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"customer_360: {self.parties:,} parties ({self.buyers:,} buyers) as of {self.as_of}"]
        if self.purchase_params:
            p = ", ".join(f"{k}={v:.4g}" for k, v in self.purchase_params.items())
            out.append(f"purchase model {self.purchase_model}: {p}; value on {self.value_basis}")
        if self.rfm_segments:
            out.append("RFM: " + ", ".join(f"{k} {v:,}" for k, v in self.rfm_segments.items()))
        for c, label in self.clusters.items():
            out.append(f"cluster {c}: {label}")
        out.extend(self.sentences)
        out.extend(self.notes)
        return out


def _step(progress, name: str, done: int, total: int = 5) -> None:
    if progress is not None:
        progress("marts: " + name, done, total)


def last_sale_day(engine) -> _dt.date | None:
    if not engine.has_table("fact_sales"):
        return None
    from prisme.warehouse.core import active_sales

    s = active_sales(engine)
    last = engine.scalar(s.filter(s.source_customer_id.notnull()).ordered_at.max())
    return None if last is None or pd.isna(last) else as_of_day(last)


def _value_scores(summary: pd.DataFrame, settings, result: MartSummary) -> pd.DataFrame:
    """CLV per buyer; on a base the models cannot fit, empty scores and a note saying why."""
    empty = pd.DataFrame({"party_id": pd.Series([], dtype=str)})
    if summary.frequency.notna().sum() == 0:
        result.notes.append("no purchase before as_of: customer value not computed")
        result.value_notes.append(result.notes[-1])
        return empty
    cv = CustomerValue.from_settings(settings.analytics, n_jobs=settings.engine.threads)
    try:
        cv.fit(summary)
    except (ValueError, RuntimeError) as exc:  # degenerate base: say so, build the rest
        result.notes.append(f"customer value not computed: {exc}")
        result.value_notes.append(result.notes[-1])
        return empty
    result.purchase_model = cv.purchase_model_key_
    result.purchase_params = dict(getattr(cv.purchase_model_, "params_", {}))
    result.spend_params = dict(cv.spend_model_.params_)
    result.notes.extend(cv.notes_)
    result.value_notes.extend(cv.notes_)
    scores = cv.predict(summary)
    if cv.interval_note_:
        result.notes.append(cv.interval_note_)
        result.value_notes.append(cv.interval_note_)
    return scores.rename(columns={"clv": "clv_12m", "clv_low": "clv_12m_low",
                                  "clv_high": "clv_12m_high"}).drop(columns="expected_purchases")


def _cluster_scores(summary: pd.DataFrame, settings, result: MartSummary) -> pd.DataFrame:
    # in party_id order: the engine returns rows in any order, and the fit sample, k-means'
    # initial centres and the silhouette sample are drawn by position — the same data must
    # give every customer the same cluster at every build (issue #9 item 11)
    buyers = summary[summary.orders.fillna(0) > 0].sort_values("party_id", kind="stable")
    buyers = buyers.reset_index(drop=True)
    try:
        model = BehaviourClusters.from_settings(settings.analytics).fit(buyers)
    except ValueError as exc:
        result.notes.append(f"clusters not computed: {exc}")
        return pd.DataFrame({"party_id": pd.Series([], dtype=str)})
    result.clusters = model.labels_text()
    labels = model.labels_text()
    return pd.DataFrame(
        {
            "party_id": buyers.party_id,
            "cluster": model.labels_,
            "cluster_label": [labels[c] for c in model.labels_],
        }
    )


def _scores_table(value: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    out = value.merge(clusters, on="party_id", how="outer")
    for name in _SCORE_COLUMNS:
        if name not in out.columns:
            out[name] = None
    return out[["party_id", *_SCORE_COLUMNS]]


def _customer_360(engine, settings, summary: ibis.Table, rfm: ibis.Table, scores: ibis.Table,
                  as_of: _dt.date, horizon: int) -> ibis.Table:
    parties = rfm.select("party_id")
    golden = None
    if engine.has_table("dim_party"):
        golden = engine.table("dim_party")
        if "is_current" in golden.columns:
            golden = golden.filter(golden.is_current)
        parties = parties.union(golden.select("party_id"))
        golden = golden.select("party_id", *[c for c in _GOLDEN if c in golden.columns])
    out = parties.distinct()
    if golden is not None:
        out = out.left_join(golden, "party_id").drop("party_id_right")
    out = out.left_join(
        rfm.select("party_id", "recency_days", "r_score", "f_score", "m_score", "rfm_score",
                   "rfm_segment"),
        "party_id",
    ).drop("party_id_right")
    out = out.left_join(scores, "party_id").drop("party_id_right")
    out = out.left_join(
        summary.select("party_id", "revenue", "margin", "orders", "first_purchase_at",
                       "last_purchase_at", "tenure_days", "return_rate", "frequency",
                       "recency", "T", "monetary_value"),
        "party_id",
    ).drop("party_id_right")
    out = out.mutate(
        as_of=ibis.literal(as_of),
        clv_horizon_months=ibis.literal(horizon).cast("int64"),
    )
    modules = contributors()
    contributed_columns(modules)  # a column claimed twice fails here, before any work
    return _with_contributions(engine, settings, out, as_of, modules).order_by("party_id")


def _history_rows(scores: ibis.Table, as_of, version: str) -> ibis.Table:
    parts = [
        scores.filter(scores[name].notnull()).select(
            party_id=scores.party_id,
            model=ibis.literal(name),
            version=ibis.literal(version),
            as_of=ibis.literal(as_of),
            value=scores[name].cast("float64"),
        )
        for name in HISTORY_SCORES
    ]
    return ibis.union(*parts)


def _append_history(engine, rows: ibis.Table, as_of: _dt.date) -> int:
    """Append the rows of (model, version, as_of) not written yet. ``rows`` are all of day
    ``as_of``: only that day's history is looked at (the table grows with every build)."""
    if not engine.has_table("score_history"):
        engine.create_table("score_history", schema=SCORE_HISTORY)
    hist = engine.table("score_history")
    done = hist.filter(hist.as_of == ibis.literal(as_of)).select("model", "version").distinct()
    new = rows.anti_join(done, [rows.model == done.model, rows.version == done.version])
    n = int(engine.scalar(new.count()))
    if n:
        engine.insert("score_history", new)
    return n


STAGING = ("customer_summary__building", "customer_rfm__building", "customer_scores__building",
           *(f"{name}__building" for name in MARTS))


def build_marts(engine, settings, *, as_of=None, progress=None) -> MartSummary:
    """Build customer_360, mart_rfm_segments, mart_clusters and append score_history.

    Staging tables (``*__building``) are dropped whatever happens; the public marts change
    only in the final transaction.
    """
    started = time.perf_counter()
    day = as_of_day(as_of) if as_of is not None else last_sale_day(engine)
    result = MartSummary(as_of=day)
    if day is None:
        day = _dt.date.today()
        result.as_of = day
        result.notes.append("no sale in the warehouse yet: customer_360 holds the parties only")
    try:
        _build(engine, settings, day, result, progress)
    finally:
        for tmp in STAGING:
            engine.drop_table(tmp, force=True)
    seg = engine.to_pandas(engine.table("mart_rfm_segments"))
    result.rfm_segments = dict(zip(seg.rfm_segment, seg.customers.astype(int), strict=True))
    result.sentences = describe_segments(seg)
    result.parties = int(engine.scalar(engine.table("customer_360").count()))
    result.seconds = time.perf_counter() - started
    _step(progress, "done", 5)
    return result


def _build(engine, settings, day: _dt.date, result: MartSummary, progress) -> None:
    a = settings.analytics
    _step(progress, "features", 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        summary_expr = customer_summary(engine, as_of=day, time_unit=a.time_unit,
                                        use_margin=a.use_margin)
    result.notes.extend(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    engine.create_table("customer_summary__building", summary_expr, overwrite=True)
    summary_t = engine.table("customer_summary__building")
    # RFM is read twice (the models' input, customer_360): computed once from the sales
    rfm = engine.create_table("customer_rfm__building", rfm_table(engine, as_of=day),
                              overwrite=True)
    summary = engine.to_pandas(
        summary_t.left_join(rfm.select("party_id", "recency_days"), "party_id").drop(
            "party_id_right")
    )
    result.value_basis = str(summary.monetary_basis.iloc[0]) if len(summary) else "revenue"
    result.buyers = int(summary.frequency.notna().sum())
    _step(progress, "customer value", 1)
    value = _value_scores(summary, settings, result)
    _step(progress, "clusters", 2)
    clusters = _cluster_scores(summary, settings, result)
    _step(progress, "customer_360", 3)
    scores = _scores_table(value, clusters)
    schema = ibis.schema({"party_id": dt.string, **_SCORE_COLUMNS})
    engine.create_table("customer_scores__building",
                        ibis.memtable(scores).cast(schema), overwrite=True)
    scores_t = engine.table("customer_scores__building")
    c360 = _customer_360(engine, settings, summary_t, rfm, scores_t, day, a.clv_horizon_months)
    engine.create_table("customer_360__building", c360, overwrite=True)
    built = engine.table("customer_360__building")
    engine.create_table("mart_rfm_segments__building", rfm_segments_mart(built), overwrite=True)
    engine.create_table("mart_clusters__building", clusters_mart(built), overwrite=True)
    notes = pd.DataFrame({"as_of": [day] * len(result.value_notes),
                          "topic": ["customer value"] * len(result.value_notes),
                          "note": result.value_notes})
    engine.create_table("mart_notes__building", ibis.memtable(notes).cast(MART_NOTES),
                        overwrite=True)
    _step(progress, "swap", 4)
    version = f"{result.purchase_model}/prisme-{prisme.__version__}"
    with engine.transaction():
        for name in MARTS:
            engine.drop_table(name, force=True)
            engine.rename_table(f"{name}__building", name)
        result.score_rows = _append_history(engine, _history_rows(scores_t, day, version), day)
