"""Target lists: who to contact on a channel, with a control group held back to measure it.

``prisme export --segment NAME | --where "…" --channel email|post|phone|sms [--control 0.1]``
chooses customers from ``customer_360`` (a named RFM segment, or a :mod:`~prisme.act.where`
condition), keeps only those whose consent allows the channel (an explicit opt-in; unknown
is no) and who have the contact details it needs, draws a random control group (the share
given, seeded, stratified by RFM segment so that both groups have the same mix), records
both groups in the warehouse table ``target_lists`` and writes the **treatment** group only
to the file. Every export is in the audit log.

When the campaign has run, :func:`list_lift` compares the two groups: the share of each that
bought within the window after the export (from ``fact_sales``, through ``party_map``) and the
revenue per head; the difference is the campaign's lift, with its confidence interval and a
two-proportion z-test, and a sentence a manager can act on. ``prisme build`` measures every
list into ``mart_target_lists`` (:func:`measure_lists`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from prisme.act.files import format_of, write_frame
from prisme.act.report_text import LIFT_TEXT, fmt_num, fmt_pct1
from prisme.act.where import parse_where
from prisme.warehouse.schema import TARGET_LISTS

#: channel → (consent column, contact columns that must all be present, columns exported)
CHANNELS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "email": ("consent_email", ("email",), ("email",)),
    "phone": ("consent_phone", ("phone",), ("phone",)),
    "sms": ("consent_phone", ("phone",), ("phone",)),
    "post": ("consent_post", ("address_line", "postal_code", "city"),
             ("address_line", "postal_code", "city", "country")),
}
#: the stratum of the control draw
STRATUM = "rfm_segment"
#: days after the export in which a purchase counts as a response (list_lift)
WINDOW_DAYS = 30

MART_TARGET_LISTS = ibis.schema({
    "list_id": "string", "channel": "string", "exported_at": "timestamp",
    "exported_by": "string", "window_days": "int64", "treatment": "int64", "control": "int64",
    "treatment_buyers": "int64", "control_buyers": "int64", "treatment_rate": "float64",
    "control_rate": "float64", "lift": "float64", "lift_low": "float64",
    "lift_high": "float64", "p_value": "float64", "revenue_per_head_treatment": "float64",
    "revenue_per_head_control": "float64", "complete": "boolean", "sentence": "string",
    "warning": "string",
})


@dataclass
class TargetList:
    """A list drawn by :func:`draw_list` (recorded and written by :func:`export_list`)."""

    list_id: str
    channel: str
    exported_at: _dt.datetime
    exported_by: str
    seed: int
    control_share: float
    #: the treatment group with the columns of the file
    treatment: pd.DataFrame
    #: party_id and stratum of the control group
    control: pd.DataFrame
    selected: int = 0  #: customers the segment or condition chose
    without_consent: int = 0  #: of those, left out: consent does not allow the channel
    without_contact: int = 0  #: of those, left out: no address / e-mail / phone for it
    path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        n = len(self.treatment) + len(self.control)
        return (
            f"List {self.list_id}: {len(self.treatment):,} customers to contact by "
            f"{self.channel}, {len(self.control):,} held back as control "
            f"({len(self.control) / n:.0%} of {n:,}) — of {self.selected:,} chosen, "
            f"{self.without_consent:,} have not consented to {self.channel} and "
            f"{self.without_contact:,} have no contact details for it."
            if n else
            f"List {self.list_id}: nobody to contact by {self.channel} — of {self.selected:,} "
            f"chosen, {self.without_consent:,} have not consented and {self.without_contact:,} "
            "have no contact details for it."
        )


def new_list_id(now: _dt.datetime) -> str:
    return f"L{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def seed_of(list_id: str) -> int:
    """The default seed of a list: from its id (each list draws its own control group; the
    seed is recorded in the audit log, so the draw can be repeated)."""
    return int.from_bytes(hashlib.sha256(list_id.encode()).digest()[:4], "big")


def choose(c360: ir.Table, *, segment: str | None = None, where: str | None = None,
           engine=None) -> ir.Table:
    """The customers a segment name or a ``--where`` condition (or both) chooses."""
    if segment is None and where is None:
        raise ValueError("choose customers with --segment NAME or --where \"condition\"")
    out = c360
    if segment is not None:
        if engine is not None:
            known = sorted(engine.to_pandas(c360.select(STRATUM).distinct())[STRATUM].dropna())
            if segment not in known:
                raise ValueError(f"unknown segment {segment!r}; customer_360 has: "
                                 f"{', '.join(known) or '(no segment yet: run prisme build)'}")
        out = out.filter(out[STRATUM] == segment)
    if where is not None:
        out = out.filter(parse_where(where, c360))
    return out


def draw_control(party_ids: pd.Series, strata: pd.Series, share: float,
                 seed: int) -> np.ndarray:
    """Which rows go to the control group: in each stratum, ``round(share × n)`` rows drawn
    at random (the order of ``party_ids`` does not matter: each stratum is sorted first)."""
    if not 0 <= share < 1:
        raise ValueError(f"--control is a share of the list between 0 and 1 (got {share})")
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"party_id": party_ids.astype(str).to_numpy(),
                          "stratum": strata.astype(object).where(strata.notna(), "")
                          .astype(str).to_numpy()})
    control = np.zeros(len(frame), dtype=bool)
    for _, rows in sorted(frame.groupby("stratum").groups.items()):
        idx = np.asarray(rows)
        idx = idx[np.argsort(frame.party_id.to_numpy()[idx], kind="stable")]
        k = int(math.floor(share * len(idx) + 0.5))
        control[rng.permutation(idx)[:k]] = True
    return control


def draw_list(engine, *, channel: str, segment: str | None = None, where: str | None = None,
              control: float = 0.1, seed: int | None = None, actor: str = "",
              base: ir.Table | None = None, now: _dt.datetime | None = None) -> TargetList:
    """Choose, filter by consent and contact details, draw the control group.

    ``base`` is the ``customer_360`` the caller may see (the web application passes it with
    its row-level security applied); default the whole table."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    if not engine.has_table("customer_360") and base is None:
        raise ValueError("the warehouse has no customer_360 yet: run prisme build first")
    c360 = base if base is not None else engine.table("customer_360")
    consent, needed, shown = CHANNELS[channel]
    chosen = choose(c360, segment=segment, where=where, engine=engine)
    has_contact = ibis.and_(*[chosen[c].notnull() & (chosen[c].cast("string").strip() != "")
                              for c in needed])
    allowed = chosen[consent].fill_null(False)
    counts = engine.to_pandas(chosen.aggregate(
        selected=chosen.count(),
        no_consent=(~allowed).sum(),
        no_contact=(allowed & ~has_contact).sum(),
    )).iloc[0]
    cols = ["party_id", "first_name", "last_name", *shown, STRATUM]
    members = engine.to_pandas(chosen.filter(allowed & has_contact).select(*cols)
                               .order_by("party_id"))
    now = now or _dt.datetime.now(_dt.UTC).replace(tzinfo=None, microsecond=0)
    list_id = new_list_id(now)
    seed = seed_of(list_id) if seed is None else int(seed)
    is_control = draw_control(members.party_id, members[STRATUM], control, seed)
    treatment = members[~is_control].reset_index(drop=True)
    treatment.insert(0, "list_id", list_id)
    out = TargetList(
        list_id=list_id, channel=channel, exported_at=now, exported_by=actor, seed=seed,
        control_share=control, treatment=treatment,
        control=members.loc[is_control, ["party_id", STRATUM]].reset_index(drop=True),
        selected=int(counts["selected"] or 0),
        without_consent=int(counts["no_consent"] or 0),
        without_contact=int(counts["no_contact"] or 0),
    )
    if control > 0 and len(members) and len(out.control) < 30:
        out.notes.append(f"only {len(out.control)} customers in the control group: too few "
                         "to measure the campaign's lift reliably (aim for 100 or more)")
    return out


def list_rows(tl: TargetList) -> pd.DataFrame:
    """The ``target_lists`` rows of a list (both groups)."""
    parts = [pd.DataFrame({"party_id": tl.treatment.party_id, "group": "treatment"}),
             pd.DataFrame({"party_id": tl.control.party_id, "group": "control"})]
    rows = pd.concat(parts, ignore_index=True)
    rows.insert(0, "list_id", tl.list_id)
    rows["channel"] = tl.channel
    rows["exported_at"] = pd.Timestamp(tl.exported_at)
    rows["exported_by"] = tl.exported_by
    return rows[list(TARGET_LISTS.names)]


def record_list(engine, tl: TargetList) -> None:
    """Append the list's rows to ``target_lists`` (created when missing)."""
    if not engine.has_table("target_lists"):
        engine.create_table("target_lists", schema=TARGET_LISTS)
    rows = list_rows(tl)
    if len(rows):
        engine.insert("target_lists", ibis.memtable(rows).cast(TARGET_LISTS))


def export_list(engine, root: Path, out: Path, *, channel: str, fmt: str | None = None,
                segment: str | None = None, where: str | None = None, control: float = 0.1,
                seed: int | None = None, actor: str, base: ir.Table | None = None,
                user=None) -> TargetList:
    """Draw a list, write its treatment group to ``out`` and record both groups and the
    export (audit log). The file is written beside ``out`` first and moved in place once the
    list is recorded: there is never a file without its control group on record.

    With ``user`` (a :class:`prisme.access.users.User`), the list is drawn from the customers
    that user may see, with the fields they may see (:func:`prisme.access.rights.restrict`:
    an advisor's portfolio, a manager's branch; masked contact details leave nobody to
    contact), and the export is theirs in the audit log."""
    from prisme.access import audit

    if user is not None:
        from prisme.access.rights import restrict

        c360 = engine.table("customer_360")
        base = restrict(user, "customer_360", base if base is not None else c360,
                        customers=c360)
        actor = user.name
    out = Path(out)
    fmt = format_of(out, fmt)
    tl = draw_list(engine, channel=channel, segment=segment, where=where, control=control,
                   seed=seed, actor=actor, base=base)
    tmp = out.with_name(f".{out.name}.{tl.list_id}.part")
    write_frame(tl.treatment, tmp, fmt)
    try:
        # recorded under the writers' lock and published, so readers see the list at once
        with engine.exclusive("prisme export"), \
                engine.publishing("prisme export", whole=False):
            with engine.transaction():
                record_list(engine, tl)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    tl.path = out
    audit.record(root, actor, "export", tl.list_id, {
        "channel": channel, "format": fmt, "file": out.name, "treatment": len(tl.treatment),
        "control": len(tl.control), "control_share": control, "seed": tl.seed,
        "segment": segment, "where": where,
    })
    return tl


# ----------------------------------------------------------------------------- measuring
def _sales_by_party(engine) -> ir.Table | None:
    if not (engine.has_table("fact_sales") and engine.has_table("party_map")):
        return None
    from prisme.warehouse import core

    sales = core.active_sales(engine) if hasattr(core, "active_sales") else \
        engine.table("fact_sales")
    pm = engine.table("party_map")
    j = sales.join(pm, ["source", "source_customer_id"])
    return j.select("party_id", "ordered_at", "revenue", "order_id")


def two_proportions(x1: int, n1: int, x0: int, n0: int, level: float = 0.95) -> dict:
    """Rate of each group, their difference (treatment − control) with a Wald interval, and
    the two-sided p-value of the pooled two-proportion z-test."""
    p1 = x1 / n1 if n1 else float("nan")
    p0 = x0 / n0 if n0 else float("nan")
    diff = p1 - p0
    z = stats.norm.ppf(0.5 + level / 2)
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) if n1 and n0 else float("nan")
    pooled = (x1 + x0) / (n1 + n0) if n1 + n0 else float("nan")
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0)) if n1 and n0 else float("nan")
    p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 and se0 > 0 else float("nan")
    return {"treatment_rate": p1, "control_rate": p0, "lift": diff,
            "lift_low": diff - z * se, "lift_high": diff + z * se, "p_value": p_value}


def list_lift(engine, list_id: str, *, window_days: int = WINDOW_DAYS,
              as_of: _dt.datetime | None = None) -> dict:
    """How much the list's treatment group bought more than its control group within
    ``window_days`` after the export: rates, lift (in points of share of buyers) with a 95 %
    interval and p-value, revenue per head, a sentence and a warning when the data cannot
    support a conclusion."""
    tl = engine.table("target_lists")
    members = tl.filter(tl.list_id == list_id)
    head = engine.to_pandas(members.aggregate(
        channel=members.channel.max(), exported_at=members.exported_at.min(),
        exported_by=members.exported_by.max(), n=members.count()))
    if head.empty or not int(head.n.iloc[0]):
        raise ValueError(f"no target list {list_id!r} in target_lists")
    exported_at = pd.Timestamp(head.exported_at.iloc[0]).to_pydatetime()
    end = exported_at + _dt.timedelta(days=window_days)
    sales = _sales_by_party(engine)
    per_party = members.select("party_id", "group")
    if sales is not None:
        window = sales.filter((sales.ordered_at > ibis.literal(exported_at))
                              & (sales.ordered_at <= ibis.literal(end)))
        bought = window.group_by("party_id").aggregate(revenue=window.revenue.sum()
                                                       .cast("float64"))
        per_party = per_party.left_join(bought, "party_id").drop("party_id_right")
    else:
        per_party = per_party.mutate(revenue=ibis.null("float64"))
    groups = engine.to_pandas(per_party.group_by("group").aggregate(
        n=per_party.count(), buyers=per_party.revenue.notnull().sum(),
        revenue=per_party.revenue.sum()))
    g = groups.set_index("group")

    def val(group, col):
        return int(g.loc[group, col]) if group in g.index and pd.notna(g.loc[group, col]) \
            else 0

    n1, x1, n0, x0 = val("treatment", "n"), val("treatment", "buyers"), \
        val("control", "n"), val("control", "buyers")
    rev1 = float(g.loc["treatment", "revenue"]) if "treatment" in g.index and \
        pd.notna(g.loc["treatment", "revenue"]) else 0.0
    rev0 = float(g.loc["control", "revenue"]) if "control" in g.index and \
        pd.notna(g.loc["control", "revenue"]) else 0.0
    last = engine.scalar(sales.ordered_at.max()) if sales is not None else None
    complete = last is not None and pd.Timestamp(last) >= pd.Timestamp(end)
    out = {"list_id": list_id, "channel": head.channel.iloc[0], "exported_at": exported_at,
           "exported_by": head.exported_by.iloc[0], "window_days": window_days,
           "treatment": n1, "control": n0, "treatment_buyers": x1, "control_buyers": x0,
           **two_proportions(x1, n1, x0, n0),
           "revenue_per_head_treatment": rev1 / n1 if n1 else float("nan"),
           "revenue_per_head_control": rev0 / n0 if n0 else float("nan"),
           "complete": bool(complete)}
    out["sentence"], out["warning"] = say_lift(out)
    return out


def say_lift(r: dict, lang: str = "en") -> tuple[str, str]:
    """The sentence and the warning of a list's lift (a row of :func:`list_lift` or of
    ``mart_target_lists``), in English or French."""
    t = LIFT_TEXT[lang]
    warn = []
    if r["control"] < 30 or r["treatment"] < 30:
        warn.append(t["small"].format(n1=r["treatment"], n0=r["control"]))
    elif min(r["treatment_buyers"], r["control_buyers"]) < 5:
        warn.append(t["few"])
    if not r["complete"]:
        warn.append(t["open"].format(days=r["window_days"]))
    if r["control"] == 0 or r["treatment"] == 0:
        return t["no_control"].format(id=r["list_id"]), "; ".join(warn)
    if not r["complete"] and r["treatment_buyers"] + r["control_buyers"] == 0:
        return (t["no_sales"].format(id=r["list_id"], channel=r["channel"],
                                     at=pd.Timestamp(r["exported_at"]).date(),
                                     days=r["window_days"]), "")
    pts = 100 * r["lift"]
    significant = r["p_value"] < 0.05 if not math.isnan(r["p_value"]) else False
    verdict = t["better"] if significant and pts > 0 else \
        t["worse"] if significant else t["chance"]
    sentence = t["lift"].format(
        id=r["list_id"], channel=r["channel"], r1=fmt_pct1(r["treatment_rate"], lang),
        n1=fmt_num(r["treatment"], lang), days=r["window_days"],
        r0=fmt_pct1(r["control_rate"], lang), n0=fmt_num(r["control"], lang),
        pts=fmt_num(pts, lang, 1, signed=True),
        ci=fmt_num(100 * (r["lift_high"] - r["lift"]), lang, 1),
        p=f"{r['p_value']:.3g}", verdict=verdict)
    return sentence, "; ".join(warn)


def measure_lists(engine, *, window_days: int = WINDOW_DAYS) -> pd.DataFrame:
    """``mart_target_lists``: :func:`list_lift` of every recorded list (a build step)."""
    if not engine.has_table("target_lists"):
        return pd.DataFrame(columns=list(MART_TARGET_LISTS.names))
    t = engine.table("target_lists")
    ids = sorted(engine.to_pandas(t.select("list_id").distinct()).list_id)
    rows = pd.DataFrame([list_lift(engine, i, window_days=window_days) for i in ids],
                        columns=list(MART_TARGET_LISTS.names))
    table = ibis.memtable(rows, schema=MART_TARGET_LISTS) if len(rows) else \
        ibis.memtable(rows.astype(object), schema=MART_TARGET_LISTS)
    with engine.transaction():
        engine.create_table("mart_target_lists", table, overwrite=True)
    return rows
