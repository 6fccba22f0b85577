"""What the warehouse holds, as Rich tables: the closing screen of ``prisme demo`` and ``prisme
status``. Reads public tables only, through the engine, so it works on any backend."""

from __future__ import annotations

import ibis
from rich.markup import escape
from rich.table import Table


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v):  # NULL (or NaN: never printed as such)
        return "—"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def loads_table(engine) -> Table | None:
    """Rows read / loaded / quarantined per source (the load journal, summed over the loads
    that count: failed and superseded loads left nothing in the warehouse, so their rows are
    not in the totals — they are counted apart as failed files)."""
    if not engine.has_table("load_batches"):
        return None
    from prisme.warehouse.batches import counted_loads

    every = engine.table("load_batches")
    failed = every.filter(every.status == "failed").group_by(["source", "entity"]).aggregate(
        failed_files=every.file_name.nunique())
    b = counted_loads(engine)
    agg = (
        b.group_by(["source", "entity"])
        .aggregate(
            files=b.file_name.nunique(),
            rows_read=b.rows_read.sum(),
            rows_loaded=b.rows_loaded.sum(),
            rows_quarantined=b.rows_quarantined.sum(),
        )
    )
    agg = agg.outer_join(failed, ["source", "entity"]).select(
        source=ibis.coalesce(agg.source, failed.source),
        entity=ibis.coalesce(agg.entity, failed.entity),
        files=agg.files.fill_null(0), rows_read=agg.rows_read.fill_null(0),
        rows_loaded=agg.rows_loaded.fill_null(0),
        rows_quarantined=agg.rows_quarantined.fill_null(0),
        failed_files=failed.failed_files.fill_null(0),
    ).order_by(["entity", "source"])
    df = engine.to_pandas(agg)
    t = Table(title="Loads (load_batches)")
    for col in ["source", "entity", "files", "rows read", "loaded", "quarantined",
                "failed files"]:
        t.add_column(col, justify="right" if col not in ("source", "entity") else "left")
    for r in df.itertuples(index=False):
        t.add_row(
            escape(str(r.source)), escape(str(r.entity)), _fmt(int(r.files)),
            _fmt(int(r.rows_read)), _fmt(int(r.rows_loaded)), _fmt(int(r.rows_quarantined)),
            _fmt(int(r.failed_files)),
        )
    t.add_row(
        "[bold]total", "", "", _fmt(int(df.rows_read.sum())), _fmt(int(df.rows_loaded.sum())),
        _fmt(int(df.rows_quarantined.sum())), _fmt(int(df.failed_files.sum())),
    )
    return t


def parties_table(engine) -> Table | None:
    """How many source records became how many parties, per source."""
    if not engine.has_table("party_map"):
        return None
    pm = engine.table("party_map")
    per_source = pm.group_by("source").aggregate(
        records=pm.source_customer_id.count(), parties=pm.party_id.nunique()
    )
    df = engine.to_pandas(per_source.order_by("source"))
    total = engine.scalar(pm.party_id.nunique())
    t = Table(title="Identity (party_map)")
    t.add_column("source")
    t.add_column("records", justify="right")
    t.add_column("parties", justify="right")
    for r in df.itertuples(index=False):
        t.add_row(escape(str(r.source)), _fmt(int(r.records)), _fmt(int(r.parties)))
    t.add_row("[bold]all sources", _fmt(int(df.records.sum())), _fmt(int(total)))
    return t


def segments_table(engine) -> Table | None:
    """Customers, revenue and value per RFM segment (mart_rfm_segments / customer_360)."""
    if not engine.has_table("customer_360"):
        return None
    c = engine.table("customer_360")
    if "rfm_segment" not in c.columns:
        return None
    c = c.filter(c.rfm_segment.notnull())
    agg = (
        c.group_by("rfm_segment")
        .aggregate(
            customers=c.party_id.count(),
            revenue=c.revenue.cast("float64").sum().round(0),
            clv_12m=c.clv_12m.cast("float64").sum().round(0),
            p_alive=c.p_alive.mean().round(3),
        )
        .order_by(ibis.desc("customers"))
    )
    df = engine.to_pandas(agg)
    t = Table(title="Customer value by RFM segment (customer_360)")
    for col in ["segment", "customers", "revenue", "CLV 12 months", "mean P(alive)"]:
        t.add_column(col, justify="left" if col == "segment" else "right")
    for r in df.itertuples(index=False):
        t.add_row(r.rfm_segment, _fmt(int(r.customers)), _fmt(r.revenue), _fmt(r.clv_12m), _fmt(r.p_alive))
    return t


def quality_scores_table(engine) -> Table | None:
    """The latest 0–100 quality score of each source list, with its components."""
    from prisme.analytics.quality import quality_table

    if not engine.has_table("quality_audit"):
        return None
    audit = engine.to_pandas(engine.table("quality_audit"))
    if audit.empty:
        return None
    return quality_table(audit)


def channels_table(engine) -> Table | None:
    """Conversion lift of each campaign channel over no contact, and ROI (mart_channels)."""
    if not engine.has_table("mart_channels"):
        return None
    df = engine.to_pandas(engine.table("mart_channels"))
    t = Table(title="Campaign channels against no contact (mart_channels)")
    for col in ["channel", "contacted", "lift (points)", "95% interval", "adj. p", "ROI",
                "in a sentence"]:
        t.add_column(col, justify="left" if col in ("channel", "in a sentence") else "right")
    for r in df.itertuples(index=False):
        has = r.lift == r.lift  # NaN when no campaign of the channel had a control group
        t.add_row(escape(str(r.channel)), _fmt(int(r.contacted)),
                  f"{100 * r.lift:+.1f}" if has else "—",
                  f"{100 * r.lift_low:+.1f} … {100 * r.lift_high:+.1f}" if has else "—",
                  f"{r.p_adjusted:.2g}" if has else "—",
                  f"{100 * r.roi:+.0f}%" if r.roi == r.roi else "—", escape(str(r.sentence)))
    return t


def all_tables(engine) -> list[Table]:
    makers = [loads_table, parties_table, quality_scores_table, segments_table, channels_table]
    return [t for t in (m(engine) for m in makers) if t is not None]
