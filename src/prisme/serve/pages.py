"""What each dashboard page shows: blocks of KPI tiles, charts, tables and sentences.

Each function reads through a :class:`prisme.serve.data.Reader` (so every number is over the
rows the user may see) and returns a list of blocks the ``page`` template draws; the API
returns the same data as JSON. A page whose analysis is not in the warehouse yet says so.
"""

from __future__ import annotations

import datetime as _dt
import math

import ibis
import pandas as pd

from prisme.access.rights import Forbidden, is_scoped
from prisme.i18n import findings, reasons
from prisme.i18n import quality as quality_words
from prisme.serve import charts, cube
from prisme.serve.i18n import Translator


# ------------------------------------------------------------------------------ blocks
def tiles(items: list[dict]) -> dict:
    return {"kind": "tiles", "tiles": items}


def chart(title: str, figure: str, sentence: str = "") -> dict:
    return {"kind": "chart", "title": title, "figure": figure, "sentence": sentence}


def notice(text: str, level: str = "info") -> dict:
    return {"kind": "notice", "text": text, "level": level}


def sentences(title: str, lines: list[str]) -> dict:
    return {"kind": "sentences", "title": title, "lines": lines}


def table(title: str, df: pd.DataFrame, t: Translator, units: dict[str, str] | None = None,
          labels: dict[str, str] | None = None, sentence: str = "", links: dict | None = None,
          page_size: int = 15) -> dict:
    """A sortable, paged table: each cell shows the formatted value and sorts on the raw one."""
    units = units or {}
    labels = labels or {}
    cols = [{"name": c, "label": labels.get(c) or t.column(c),
             "numeric": units.get(c) in ("money", "count", "ratio", "number", "score")}
            for c in df.columns]
    rows = []
    for rec in df.itertuples(index=False):
        row = []
        for c, v in zip(df.columns, rec, strict=True):
            unit = units.get(c)
            missing = v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT
            if unit == "money":
                shown = t.money(v)
            elif unit == "ratio":
                shown = t.percent(v, 1)
            elif unit == "count":
                shown = t.number(v)
            elif unit in ("number", "score"):
                shown = t.number(v, 1 if unit == "score" else 2)
            elif unit == "date":
                shown = t.date(v)
            else:
                shown = "—" if missing else str(v)
            key = "" if missing else (float(v) if unit in ("money", "ratio", "count", "number",
                                                              "score") else str(v))
            href = links.get(c)(rec) if links and c in links else None
            row.append({"shown": shown, "key": key, "href": href})
        rows.append(row)
    return {"kind": "table", "title": title, "columns": cols, "rows": rows,
            "sentence": sentence, "page_size": page_size}


def not_built(t: Translator, table_name: str, stage: str) -> dict:
    return notice(t("not_built", table=table_name, stage=stage), "warning")


def _f(v) -> float | None:
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


# ----------------------------------------------------------------------------- overview
def _risk(c):
    return c.churn_probability.cast("float64").fill_null(1 - c.p_alive.cast("float64"))


def overview(reader, t: Translator) -> list[dict]:
    c = reader.table("customer_360")
    as_of = reader.scalar(c.as_of.max())
    k = reader.df(c.aggregate(
        customers=c.count(),
        active=(c.recency_days <= 365).sum(),
        buyers=c.orders.notnull().sum(),
        revenue=c.revenue.cast("float64").sum(),
        margin=c.margin.cast("float64").sum(),
        clv=c.clv_12m.sum(),
        clv_low=c.clv_12m_low.sum(),
        clv_high=c.clv_12m_high.sum(),
        risk=_risk(c).mean(),
        scored=c.churn_probability.notnull().sum(),
        high_risk=(_risk(c) >= 0.5).sum(),
    )).iloc[0]
    n = int(k.customers or 0)
    active = int(k.active or 0)
    revenue, margin, clv, risk = (_f(k[x]) for x in ("revenue", "margin", "clv", "risk"))
    day = t.date(as_of) if as_of is not None else "—"
    high = t.number(int(k.high_risk or 0))
    # the risk is the churn score where there is one, else 1 − P(alive)
    risk_sentence = t.pick(
        f"{high} customers are more likely to leave than to stay (churn score; 1 − P(alive) "
        "for the customers it does not score).",
        f"{high} clients sont plus susceptibles de partir que de rester (score d'attrition ; "
        "1 − P(actif) pour les clients qu'il ne note pas).") if int(k.scored or 0) else t.pick(
        f"{high} customers are more likely gone than not (1 − P(alive) of the purchase model).",
        f"{high} clients sont plus probablement partis qu'actifs (1 − P(actif) du modèle "
        "d'achat).")
    blocks = [notice(t("scope", scope=_scope_words(reader.user, t)) + " · " +
                     t("as_of", day=day), "muted")]
    blocks.append(tiles([
        {"label": t("customers"), "value": t.number(n),
         "sentence": t.pick(f"{t.number(int(k.buyers or 0))} of them have bought at least once.",
                            f"dont {t.number(int(k.buyers or 0))} ont acheté au moins une fois.")},
        {"label": t("active_customers"), "value": t.number(active),
         "sentence": t.pick(f"{t.percent(active / n if n else None)} bought in the last 12 months.",
                            f"{t.percent(active / n if n else None)} ont acheté dans les 12 derniers mois.")},
        {"label": t("revenue"), "value": t.money(revenue),
         "sentence": t.pick("Net revenue of these customers over their whole history.",
                            "Chiffre d'affaires net de ces clients sur tout leur historique.")},
        {"label": t("margin"), "value": t.money(margin),
         "sentence": t.pick(f"{t.percent(margin / revenue if revenue else None)} of revenue is kept as margin.",
                            f"{t.percent(margin / revenue if revenue else None)} du chiffre d'affaires reste en marge.")},
        {"label": t("clv"), "value": t.money(clv),
         "sentence": t.pick(f"Expected over the next 12 months, between {t.money(_f(k.clv_low))} and {t.money(_f(k.clv_high))}.",
                            f"Attendue sur les 12 prochains mois, entre {t.money(_f(k.clv_low))} et {t.money(_f(k.clv_high))}.")},
        {"label": t("churn_risk"), "value": t.percent(risk),
         "sentence": risk_sentence},
    ]))
    m = cube.run(reader, cube.parse("revenue,margin,customers,orders", "month"))
    m = m[m.month != cube.UNKNOWN].tail(24)
    if len(m):
        # the last month against the same month a year before (else the first one shown)
        last, first = m.iloc[-1], m.iloc[-13] if len(m) >= 13 else m.iloc[0]
        change = (last.revenue / first.revenue - 1) if first.revenue else None
        signed = "—" if change is None else ("+" if change >= 0 else "−") + t.percent(abs(change))
        blocks.append(chart(
            t.pick("Revenue and margin by month", "Chiffre d'affaires et marge par mois"),
            charts.lines(m.month, {t("revenue"): m.revenue, t("margin"): m.margin},
                         t.pick(f"amount ({t.currency})", f"montant ({t.currency})"), t("month")),
            t.pick(f"Last month, {t.month(last.month)}: {t.money(last.revenue)} of revenue "
                   f"({signed} against {t.month(first.month)}).",
                   f"Dernier mois, {t.month(last.month)} : {t.money(last.revenue)} de chiffre "
                   f"d'affaires ({signed} par rapport à {t.month(first.month)}).")))
        blocks.append(chart(
            t.pick("Buying customers and orders by month", "Clients acheteurs et commandes par mois"),
            charts.lines(m.month, {t.pick("buying customers", "clients acheteurs"): m.customers},
                         t.pick("customers", "clients"), t("month"),
                         secondary={t.pick("orders", "commandes"): m.orders},
                         y2_title=t.pick("orders", "commandes")),
            t.pick(f"{t.number(last.customers)} customers placed {t.number(last.orders)} orders "
                   f"in {t.month(last.month)}.",
                   f"{t.number(last.customers)} clients ont passé {t.number(last.orders)} "
                   f"commandes en {t.month(last.month)}.")))
    return blocks


def _scope_words(user, t: Translator) -> str:
    if user.role == "advisor":
        return t.pick(f"the customers of advisor {user.advisor}",
                      f"les clients du conseiller {user.advisor}")
    if user.role == "manager":
        return t.pick(f"the customers of branch {user.branch}",
                      f"les clients de l'agence {user.branch}")
    words = t.pick("all customers", "tous les clients")
    if not user.sees_personal_data:
        words += t.pick(" (personal fields masked)", " (données personnelles masquées)")
    return words


# ----------------------------------------------------------------------------- segments
SEGMENT_UNITS = {"customers": "count", "customer_share": "ratio", "revenue": "money",
                 "revenue_share": "ratio", "margin": "money", "clv_12m": "money",
                 "clv_12m_mean": "money", "churn_risk": "ratio"}


def segments(reader, t: Translator) -> list[dict]:
    from prisme.analytics.segments import CHURN_RISK_DEFINITION, segment_table
    from prisme.i18n.segments import segment_sentences

    c = reader.table("customer_360")
    blocks = [notice(t("scope", scope=_scope_words(reader.user, t)), "muted")]
    labels = _segment_labels(t)
    rfm = reader.df(segment_table(c, "rfm_segment"))
    if len(rfm):
        sentence = " · ".join(segment_sentences(rfm, lang=t.lang, currency=t.currency))
        rfm = rfm.assign(rfm_segment=rfm.rfm_segment.map(t.segment))
        blocks.append(chart(
            t.pick("Customers and revenue by RFM segment", "Clients et chiffre d'affaires par segment RFM"),
            charts.bars(rfm.rfm_segment, {t.pick("share of customers", "part des clients"): rfm.customer_share,
                                          t.pick("share of revenue", "part du chiffre d'affaires"): rfm.revenue_share},
                        t.pick("share (0–1)", "part (0–1)"), t("segment")),
            sentence))
        cols = ["rfm_segment", "customers", "customer_share", "revenue", "revenue_share",
                "margin", "clv_12m", "churn_risk"]
        blocks.append(table(t.pick("RFM segments", "Segments RFM"), rfm[cols], t, SEGMENT_UNITS,
                            labels, t.pick("Churn risk: " + CHURN_RISK_DEFINITION + ".",
                                           "Risque d'attrition : moyenne de (1 − P(actif)) des "
                                           "clients du segment (BG/NBD ou Pareto/NBD).")))
    cl = reader.df(segment_table(c, "cluster", "cluster_label"))
    if len(cl):
        cl = cl.sort_values("cluster")
        cl = cl.assign(cluster_label=cl.cluster_label.map(t.cluster))  # words in French too
        lines = [
            t.pick(f"Cluster {int(r.cluster)} — {r.cluster_label}: {t.percent(r.customer_share)} of "
                   f"customers, {t.percent(r.revenue_share)} of revenue, average 12-month value "
                   f"{t.money(r.clv_12m_mean)}, churn risk {t.percent(r.churn_risk)}.",
                   f"Groupe {int(r.cluster)} — {r.cluster_label} : {t.percent(r.customer_share)} des "
                   f"clients, {t.percent(r.revenue_share)} du chiffre d'affaires, valeur moyenne à "
                   f"12 mois {t.money(r.clv_12m_mean)}, risque d'attrition {t.percent(r.churn_risk)}.")
            for r in cl.itertuples()]
        blocks.append(sentences(t.pick("Behavioural clusters in words", "Groupes de comportement"),
                                lines))
        cols = ["cluster", "cluster_label", "customers", "customer_share", "revenue",
                "revenue_share", "margin", "clv_12m", "churn_risk"]
        blocks.append(table(t.pick("Clusters", "Groupes"), cl[cols], t,
                            {**SEGMENT_UNITS, "cluster": "count"}, labels))
    else:
        blocks.append(notice(t.pick("No cluster in customer_360 yet.",
                                    "Pas encore de groupes dans customer_360."), "warning"))
    return blocks


def _segment_labels(t: Translator) -> dict[str, str]:
    return {"rfm_segment": t("segment"), "customers": t("customers"),
            "customer_share": t.pick("% customers", "% clients"), "revenue": t("revenue"),
            "revenue_share": t.pick("% revenue", "% CA"), "margin": t("margin"),
            "clv_12m": t.pick("12-month value (total)", "Valeur à 12 mois (total)"),
            "clv_12m_mean": t.pick("mean CLV", "valeur moyenne"),
            "churn_risk": t("churn_risk"), "cluster": t("cluster"),
            "cluster_label": t.pick("Profile", "Profil"), "branch": t.pick("Branch", "Agence"),
            "advisor": t.pick("Advisor", "Conseiller"),
            "party_id": t.pick("Customer", "Client"),
            "first_name": t.pick("First name", "Prénom"), "last_name": t.pick("Last name", "Nom"),
            "churn_reasons": t.pick("Churn reasons", "Raisons d'attrition")}


# -------------------------------------------------------------------------------- value
def _histogram(reader, col, bins: int = 30):
    """Counts of ``col`` in equal bins up to its 99th percentile (computed in the engine)."""
    v = col.cast("float64")
    hi = _f(reader.scalar(v.quantile(0.99)))
    lo = _f(reader.scalar(v.min()))
    if hi is None or lo is None or hi <= lo:
        return [], []
    width = (hi - lo) / bins
    b = ((v - lo) / width).floor().cast("int64").clip(0, bins - 1)
    parent = col.op().rel.to_expr() if hasattr(col.op(), "rel") else None
    t = parent.filter(v.notnull()).mutate(_bin=b) if parent is not None else None
    df = reader.df(t.group_by("_bin").aggregate(n=t.count()).order_by("_bin"))
    centres = [lo + (i + 0.5) * width for i in df._bin]
    return centres, list(df.n)


def value(reader, t: Translator, settings=None) -> list[dict]:
    c = reader.table("customer_360")
    blocks = [notice(t("scope", scope=_scope_words(reader.user, t)), "muted")]
    c = c.filter(c.clv_12m.notnull())
    k = reader.df(c.aggregate(n=c.count(), total=c.clv_12m.sum(), low=c.clv_12m_low.sum(),
                              high=c.clv_12m_high.sum(), med=c.clv_12m.quantile(0.5),
                              top=c.clv_12m.quantile(0.9))).iloc[0]
    if not int(k.n or 0):
        return blocks + [not_built(t, "customer_360.clv_12m", "value")]
    blocks.append(tiles([
        {"label": t("clv"), "value": t.money(_f(k.total)),
         "sentence": t.pick(f"Between {t.money(_f(k.low))} and {t.money(_f(k.high))} (interval).",
                            f"Entre {t.money(_f(k.low))} et {t.money(_f(k.high))} (intervalle).")},
        {"label": t.pick("Median customer", "Client médian"), "value": t.money(_f(k.med)),
         "sentence": t.pick(f"One customer in ten is worth more than {t.money(_f(k.top))}.",
                            f"Un client sur dix vaut plus de {t.money(_f(k.top))}.")},
        {"label": t.pick("Valued customers", "Clients valorisés"), "value": t.number(int(k.n)),
         "sentence": t.pick("Customers with a purchase history the model can value.",
                            "Clients dont l'historique d'achat permet une valorisation.")},
    ]))
    centres, counts = _histogram(reader, c.clv_12m)
    if centres:
        blocks.append(chart(t.pick("Distribution of 12-month customer value",
                                   "Distribution de la valeur client à 12 mois"),
                            charts.histogram(centres, counts, f"CLV ({t.currency})",
                                             t.pick("customers", "clients")),
                            t.pick("Most customers are worth little; a few carry the value "
                                   "(customers above the 99th percentile are in the last bar).",
                                   "La plupart des clients valent peu ; quelques-uns portent la "
                                   "valeur (au-delà du 99e centile : dernière barre).")))
    if not is_scoped(reader.user) and settings is not None:
        blocks.extend(_holdout(reader, t, settings))
    return blocks


def _holdout(reader, t: Translator, settings) -> list[dict]:
    from prisme.analytics.holdout import calibration_holdout

    def compute():
        s = reader.engine.table("fact_sales")
        end = reader.engine.scalar(s.ordered_at.max())
        if end is None:
            return None
        end = pd.Timestamp(end).date()
        try:
            return calibration_holdout(reader.engine, cutoff=end - _dt.timedelta(weeks=39),
                                       end=end, time_unit=settings.analytics.time_unit)
        except (ValueError, RuntimeError) as exc:
            return str(exc)

    rep = reader.cached("holdout", compute)
    if rep is None:
        return []
    if isinstance(rep, str):
        return [notice(t.pick("Holdout check not possible: ", "Contrôle sur période de test "
                              "impossible : ") + rep, "warning")]
    tr = rep.tracking
    x = "week_start" if "week_start" in tr.columns else tr.columns[0]
    act = "actual_cumulative" if "actual_cumulative" in tr.columns else None
    pred = "expected_cumulative" if "expected_cumulative" in tr.columns else None
    if act is None or pred is None:
        return [sentences(t.pick("Holdout check", "Contrôle sur période de test"),
                          [_holdout_sentence(rep, t)])]
    return [chart(t.pick("Holdout tracking: cumulative repeat purchases, actual vs predicted",
                         "Suivi sur période de test : achats répétés cumulés, réels et prévus"),
                  charts.lines(tr[x].astype(str), {t.pick("actual", "réel"): tr[act],
                                                   t.pick("predicted", "prévu"): tr[pred]},
                               t.pick("repeat purchases (cumulative)",
                                      "achats répétés (cumul)"), t.pick("week", "semaine"),
                               vline=(str(rep.cutoff), t.pick("cut-off", "date de coupure"))),
                  _holdout_sentence(rep, t))]


def _holdout_sentence(rep, t: Translator) -> str:
    """What the holdout check says, with what it means for the value figures."""
    e = rep.errors
    if t.lang != "fr":
        return rep.sentence()
    return (f"Ajusté sur les achats jusqu'au {t.date(rep.cutoff)}, le modèle {rep.model} "
            f"prévoyait {t.number(e['predicted_total'])} achats répétés du "
            f"{t.date(rep.cutoff)} au {t.date(rep.end)} ; il y en a eu "
            f"{t.number(e['actual_total'])} ({t.percent(e['total_ratio'], 1)} du réel). "
            f"Par client, l'erreur typique est de {t.number(e['mae'], 2)} achat "
            f"(corrélation {t.number(e['correlation'], 2)}).")


# -------------------------------------------------------------------------------- churn
def churn(reader, t: Translator) -> list[dict]:
    c = reader.table("customer_360")
    blocks = [notice(t("scope", scope=_scope_words(reader.user, t)), "muted")]
    scored = int(reader.scalar(c.churn_probability.notnull().sum()) or 0)
    if scored:
        col, what = c.churn_probability, t.pick("churn probability (supervised score)",
                                                "probabilité d'attrition (score supervisé)")
    else:
        blocks.append(not_built(t, "customer_360.churn_probability", "churn"))
        col, what = 1 - c.p_alive, t.pick("1 − P(alive), from the purchase model",
                                          "1 − P(actif), d'après le modèle d'achat")
    risk = c.mutate(_risk=col.cast("float64")).filter(lambda x: x._risk.notnull())
    bands = risk.mutate(_band=(risk._risk * 10).floor().clip(0, 9).cast("int64"))
    df = reader.df(bands.group_by("_band").aggregate(n=bands.count(),
                                                     value=bands.clv_12m.sum()).order_by("_band"))
    if len(df):
        labels = [f"{b * 10}–{b * 10 + 10}%" for b in df._band]
        high = df[df._band >= 5]
        blocks.append(chart(t.pick("Customers by churn risk", "Clients par risque d'attrition"),
                            charts.bars(labels, {t.pick("customers", "clients"): df.n},
                                        t.pick("customers", "clients"), what),
                            t.pick(f"{t.number(high.n.sum())} customers above 50% risk hold "
                                   f"{t.money(_f(high.value.sum()))} of 12-month value: call "
                                   "the most valuable first.",
                                   f"{t.number(high.n.sum())} clients au-dessus de 50 % de risque "
                                   f"portent {t.money(_f(high.value.sum()))} de valeur à 12 mois : "
                                   "appelez d'abord les plus précieux.")))
    if scored:
        counts = _reason_counts(reader, c, t)
        if len(counts):
            blocks.append(chart(t.pick("Most frequent churn reasons", "Raisons d'attrition les plus fréquentes"),
                                charts.bars(list(counts.index), {t.pick("customers", "clients"): list(counts.values)},
                                            t.pick("customers", "clients"), horizontal=True,
                                            height=120 + 28 * len(counts)),
                                t.pick(f"The first reason, “{counts.index[0]}”, is given for {t.number(counts.iloc[0])} customers.",
                                       f"La première raison, « {counts.index[0]} », concerne {t.number(counts.iloc[0])} clients.")))
    if reader.user.role != "advisor":
        blocks.extend(_churn_evaluation(reader, t))
    top = c.mutate(_risk=col.cast("float64")).filter(lambda x: x._risk >= 0.5)
    top = reader.df(top.order_by(ibis.desc("clv_12m")).select(
        "party_id", "first_name", "last_name", "rfm_segment", "clv_12m", "_risk",
        *(["churn_reasons"] if scored else [])).limit(25))
    if len(top):
        top = top.rename(columns={"_risk": "churn_risk"})
        top = top.assign(rfm_segment=top.rfm_segment.map(t.segment))
        if "churn_reasons" in top:
            top = top.assign(churn_reasons=[reasons.text(v, t.lang, t.currency)
                                            for v in top.churn_reasons])
        blocks.append(table(t.pick("Most valuable customers at risk", "Clients les plus précieux à risque"),
                            top, t, {"clv_12m": "money", "churn_risk": "ratio"},
                            _segment_labels(t), links=_card_link()))
    return blocks


def _reason_counts(reader, c, t: Translator) -> pd.Series:
    """Customers per churn reason's topic (in the engine: one count per code), most frequent
    first; a warehouse built before reasons had codes: its texts, counted from a sample."""
    r = c.filter(c.churn_reasons.notnull())
    row = reader.df(r.aggregate(**{
        code: r.churn_reasons.contains(reasons.marker(code)).cast("int64").sum()
        for code in reasons.CODES}))
    counts = pd.Series({reasons.topic({"code": code}, t.lang): int(_f(row[code].iloc[0]) or 0)
                        for code in reasons.CODES}, dtype="int64") if len(row) else \
        pd.Series(dtype="int64")
    counts = counts[counts > 0]
    if not len(counts):
        sample = reader.df(r.select("churn_reasons").limit(50_000)).churn_reasons
        counts = reasons.topic_counts(sample, t.lang)
    return counts.sort_values(ascending=False, kind="stable").head(12)


def _latest_version(df: pd.DataFrame) -> pd.DataFrame:
    if "version" in df.columns and len(df):
        return df[df.version == df.version.max()]
    return df


def _churn_evaluation(reader, t: Translator) -> list[dict]:
    """The churn score's check on a past period (the churn stage's evaluation tables, latest
    version): calibration, lift and gain by decile, and the metrics."""
    from prisme.serve import churn_charts

    names = ("churn_evaluation", "churn_calibration", "churn_lift")
    if not all(reader.has(n) for n in names):
        return []
    ev, cal, lift = (_latest_version(reader.df(reader.table(n))) for n in names)
    if ev.empty or cal.empty or lift.empty:
        return []
    metrics = {str(m): float(v) for m, v in zip(ev.metric, ev.value, strict=True)}
    horizon = int(ev.horizon_days.iloc[0]) if "horizon_days" in ev else 180
    when = ev.evaluated_as_of.iloc[0] if "evaluated_as_of" in ev else None
    caps = churn_charts.captions(metrics, horizon, when, cal, t)
    return [
        chart(t.pick("Lift by decile of predicted risk (checked on a past period)",
                     "Gain par décile de risque prédit (vérifié sur une période passée)"),
              churn_charts.lift_figure(lift, t.lang), caps["lift"]),
        chart(t.pick("Cumulative gain: leavers found by calling the riskiest first",
                     "Gain cumulé : départs trouvés en appelant d'abord les plus risqués"),
              churn_charts.gain_figure(lift, t.lang), caps["gain"]),
        chart(t.pick("Calibration: predicted vs observed churn",
                     "Calibration : attrition prédite et observée"),
              churn_charts.calibration_figure(cal, t.lang), caps["calibration"]),
    ]


def _card_link():
    return {"party_id": lambda rec: f"/customers/{rec.party_id}"}


# ------------------------------------------------------------------------------- offers
def offers(reader, t: Translator) -> list[dict]:
    c = reader.table("customer_360")
    blocks = [notice(t("scope", scope=_scope_words(reader.user, t)), "muted")]
    n = int(reader.scalar(c.next_best_offers.notnull().sum()) or 0)
    if not n:
        blocks.append(not_built(t, "customer_360.next_best_offers", "offers"))
    else:
        o = reader.df(c.filter(c.next_best_offers.notnull()).select("next_best_offers")
                      .limit(100_000))
        counts = (o.next_best_offers.astype(str).str.split("|").explode()
                  .str.replace(r"\s*\(.*\)\s*$", "", regex=True).str.strip()
                  .replace("", pd.NA).dropna().value_counts().head(15))
        blocks.append(chart(t.pick("Most offered next products", "Produits les plus proposés"),
                            charts.bars(list(counts.index), {t.pick("customers", "clients"): list(counts.values)},
                                        t.pick("customers", "clients"), horizontal=True, height=420),
                            t.pick(f"{t.number(n)} customers have a next best offer; the most "
                                   f"frequent is “{counts.index[0]}”.",
                                   f"{t.number(n)} clients ont une prochaine meilleure offre ; la plus "
                                   f"fréquente est « {counts.index[0]} ».")))
    if reader.user.role != "advisor":
        blocks.extend(_offer_evidence(reader, t))
    return blocks


def _offer_evidence(reader, t: Translator) -> list[dict]:
    """What the offers rest on: the strongest association rules (by lift) and the check of
    the offers on a past period, in words."""
    blocks = []
    if reader.has("offer_evaluation"):
        ev = reader.df(reader.table("offer_evaluation"))
        if len(ev):
            ev = ev[ev.as_of == ev.as_of.max()]
            m = {str(k): float(v) for k, v in zip(ev.metric, ev.value, strict=True)}
            when = ev.evaluated_as_of.iloc[0]
            if {"hit_rate", "popular_hit_rate", "customers"} <= set(m):
                blocks.append(sentences(
                    t.pick("Offers checked on a past period", "Offres vérifiées sur une période passée"),
                    [t.pick(f"Offers made as of {t.date(when)}: {t.percent(m['hit_rate'])} of the "
                            f"{t.number(m['customers'])} customers who bought again bought one of "
                            f"their offers, against {t.percent(m['popular_hit_rate'])} for the "
                            "most popular products offered to everyone.",
                            f"Offres faites au {t.date(when)} : {t.percent(m['hit_rate'])} des "
                            f"{t.number(m['customers'])} clients qui ont racheté ont acheté l'une "
                            f"de leurs offres, contre {t.percent(m['popular_hit_rate'])} pour les "
                            "produits les plus vendus proposés à tous.")]))
    if reader.has("mart_basket_rules"):
        r = reader.table("mart_basket_rules")
        r = r.filter(r.as_of == r.as_of.max())
        df = reader.df(r.order_by([ibis.desc("lift"), ibis.desc("support")]).select(
            "antecedent_names", "consequent_names", "support", "confidence", "lift",
            "baskets").limit(200))
        if len(df):
            top = df.iloc[0]
            blocks.append(table(
                t.pick("Association rules, strongest first", "Règles d'association, les plus fortes d'abord"),
                df, t, {"support": "ratio", "confidence": "ratio", "lift": "number",
                        "baskets": "count"},
                {"antecedent_names": t.pick("Bought", "Acheté"),
                 "consequent_names": t.pick("Then also", "Puis aussi"),
                 "support": t.pick("Support", "Support"),
                 "confidence": t.pick("Confidence", "Confiance"), "lift": "Lift",
                 "baskets": t.pick("Baskets", "Paniers")},
                t.pick(f"Buyers of {top.antecedent_names} buy {top.consequent_names} "
                       f"{t.number(top.lift, 1)}× as often as customers overall "
                       f"({t.percent(top.confidence)} of them do).",
                       f"Les acheteurs de {top.antecedent_names} achètent {top.consequent_names} "
                       f"{t.number(top.lift, 1)}× plus souvent que l'ensemble des clients "
                       f"({t.percent(top.confidence)} d'entre eux).")))
    return blocks


# ---------------------------------------------------------------- campaigns & forecasts
def _company_table(reader, t: Translator, name: str, stage: str) -> pd.DataFrame | dict:
    if not reader.has(name):
        return not_built(t, name, stage)
    try:
        return reader.df(reader.table(name).limit(2000))
    except Forbidden as exc:
        return notice(str(exc), "warning")


def _num_units(df: pd.DataFrame) -> dict[str, str]:
    out = {}
    for c in df.columns:
        if df[c].dtype.kind in "fi":
            out[c] = "ratio" if any(w in c for w in ("rate", "share", "lift", "p_value",
                                                     "p_adjusted", "roi")) else \
                "money" if any(w in c for w in ("revenue", "cost", "spend", "margin")) else \
                "number" if df[c].dtype.kind == "f" else "count"
        elif "date" in c or c.endswith("_at") or c in ("month", "period"):
            out[c] = "date"
    return out


_CAMPAIGN_UNITS = {"contacted": "count", "control_size": "count", "responded": "count",
                   "converted": "count", "conversion_rate": "ratio",
                   "control_conversion_rate": "ratio", "response_rate": "ratio",
                   "lift": "ratio", "lift_low": "ratio", "lift_high": "ratio",
                   "p_value": "number", "p_adjusted": "number", "revenue": "money",
                   "cost": "money", "incremental_revenue": "money", "roi": "ratio",
                   "campaigns": "count", "started_at": "date"}
_CHANNEL_COLUMNS = ["channel", "campaigns", "contacted", "conversion_rate",
                    "control_conversion_rate", "lift", "lift_low", "lift_high", "p_adjusted",
                    "incremental_revenue", "cost", "roi"]
_CAMPAIGN_COLUMNS = ["campaign_id", "name", "channel", "started_at", "contacted",
                     "conversion_rate", "control_conversion_rate", "lift", "p_adjusted",
                     "revenue", "cost", "roi"]


def campaigns(reader, t: Translator) -> list[dict]:
    blocks = [notice(t("company_wide"), "muted")]
    ch = _company_table(reader, t, "mart_channels", "campaigns")
    if isinstance(ch, dict):
        blocks.append(ch)
    elif len(ch):
        if {"channel", "lift"} <= set(ch.columns):
            err = None
            if {"lift_low", "lift_high"} <= set(ch.columns):
                err = {t.pick("lift over control", "gain sur le groupe témoin"):
                       (list(ch.lift_high - ch.lift), list(ch.lift - ch.lift_low))}
            best = ch.sort_values("lift", ascending=False).iloc[0]
            proven = "p_adjusted" not in ch.columns or bool((ch.p_adjusted < 0.05).any())
            blocks.append(chart(t.pick("Lift over control by channel (95% interval)",
                                       "Gain sur le groupe témoin par canal (intervalle à 95 %)"),
                                charts.bars([findings.channel_name(c, t.lang) for c in ch.channel],
                                            {t.pick("lift over control", "gain sur le groupe témoin"): ch.lift},
                                            t.pick("lift (share of contacts converted, 0–1)",
                                                   "gain (part des contacts convertis, 0–1)"),
                                            t.pick("channel", "canal"), errors=err),
                                t.pick(f"{best.channel} has the largest lift over control.",
                                       f"{t.code(best.channel)} a le plus fort gain sur le groupe "
                                       "témoin.") if proven else
                                t.pick(f"No channel beats the control group significantly yet: "
                                       f"the largest measured lift ({best.channel}) may be chance. "
                                       "Keep control groups until the intervals exclude zero.",
                                       f"Aucun canal ne fait encore significativement mieux que "
                                       f"le groupe témoin : le plus fort gain mesuré "
                                       f"({t.code(best.channel)}) peut être dû au hasard. "
                                       "Gardez des groupes témoins jusqu'à ce que les intervalles "
                                       "excluent zéro.")))
        lines = _finding_lines(ch, t)
        if lines:
            blocks.append(sentences(t.pick("What the channels did", "Ce qu'ont donné les canaux"),
                                    lines))
        cols = [c for c in _CHANNEL_COLUMNS if c in ch.columns] or list(ch.columns)
        blocks.append(table(t.pick("Channels", "Canaux"), _channels_named(ch[cols], t), t,
                            {**_num_units(ch[cols]), **_CAMPAIGN_UNITS}))
    ca = _company_table(reader, t, "mart_campaigns", "campaigns")
    if isinstance(ca, dict):
        blocks.append(ca)
    elif len(ca):
        if {"p_adjusted", "lift"} <= set(ca.columns):  # the strongest evidence first
            ca = ca.sort_values(["p_adjusted", "lift"], ascending=[True, False],
                                na_position="last")
        lines = _finding_lines(ca, t)
        if lines:
            shown = lines[:_CAMPAIGN_LINES]
            more = len(lines) - len(shown)
            if more > 0:
                shown.append(t.pick(f"… and {t.number(more)} more campaigns in the table below.",
                                    f"… et {t.number(more)} autres campagnes dans le tableau "
                                    "ci-dessous."))
            blocks.append(sentences(t.pick("What the campaigns did (strongest evidence first)",
                                           "Ce qu'ont donné les campagnes (les mieux établies "
                                           "d'abord)"), shown))
        cols = [c for c in _CAMPAIGN_COLUMNS if c in ca.columns] or list(ca.columns)
        blocks.append(table(t.pick("Campaigns", "Campagnes"), _channels_named(ca[cols], t), t,
                            {**_num_units(ca[cols]), **_CAMPAIGN_UNITS},
                            sentence=t.pick("Adjusted p: p-value corrected for testing many "
                                            "campaigns (Holm).",
                                            "p ajusté : p-valeur corrigée pour les tests "
                                            "multiples (Holm).")))
    blocks.extend(_advertising_blocks(reader, t))
    return blocks


#: campaigns said in sentences on the page (the table lists them all)
_CAMPAIGN_LINES = 5


def _finding_lines(df: pd.DataFrame, t: Translator) -> list[str]:
    """Each row's findings in the reader's language (``prisme.i18n.findings``); a mart built
    before the findings shows its stored sentence."""
    if "findings" in df.columns:
        said = [findings.text(x, t.lang, t.currency) for x in df["findings"]]
        return [x for x in said if x]
    return [str(x) for x in df["sentence"].dropna()] if "sentence" in df.columns else []


def _channels_named(df: pd.DataFrame, t: Translator) -> pd.DataFrame:
    """The table with its channel codes said in the reader's language."""
    if "channel" not in df.columns:
        return df
    return df.assign(channel=[findings.channel_name(c, t.lang) if isinstance(c, str) else c
                              for c in df.channel])


_ADVERTISING_COLUMNS = ["channel", "spend", "contribution", "roas", "marginal_roas",
                        "adstock_decay", "p_value"]


def _advertising_blocks(reader, t: Translator) -> list[dict]:
    """``mart_advertising``: what each advertising channel's spend goes with, in words, and
    how far to trust it (correlational unless an experiment backs it)."""
    if not reader.has("mart_advertising"):
        return []
    ad = _company_table(reader, t, "mart_advertising", "advertising")
    if isinstance(ad, dict):
        return [ad]
    if not len(ad):
        return []
    out = []
    lines = _finding_lines(ad, t)
    first = ad.iloc[0]
    outcome = findings.advertising_outcome(first.get("sales_channel"), t.lang)
    if lines:
        out.append(sentences(t.pick(f"Advertising: what the spend goes with ({outcome})",
                                    f"Publicité : ce qui accompagne les dépenses ({outcome})"),
                             lines))
    if "evidence" in ad.columns:
        out.append(notice(findings.advertising_note(first.get("evidence"), t.lang), "muted"))
    if {"channel", "roas"} <= set(ad.columns):
        out.append(chart(t.pick("Revenue per unit spent, by advertising channel",
                                "Chiffre d'affaires par unité dépensée, par canal publicitaire"),
                         charts.bars([findings.channel_name(c, t.lang) for c in ad.channel],
                                     {t.pick("on average", "en moyenne"): ad.roas,
                                      **({t.pick("one more unit", "une unité de plus"):
                                          ad.marginal_roas} if "marginal_roas" in ad.columns
                                         else {})},
                                     t.pick(f"revenue per {t.currency} spent",
                                            f"chiffre d'affaires par {t.currency} dépensé"),
                                     t.pick("channel", "canal"))))
    cols = [c for c in _ADVERTISING_COLUMNS if c in ad.columns]
    out.append(table(t.pick("Advertising channels", "Canaux publicitaires"),
                     _channels_named(ad[cols], t), t,
                     {"spend": "money", "contribution": "money", "roas": "number",
                      "marginal_roas": "number", "adstock_decay": "ratio",
                      "p_value": "number"},
                     labels={"roas": t.pick("Revenue per unit spent", "CA par unité dépensée"),
                             "marginal_roas": t.pick("For one more unit",
                                                     "Pour une unité de plus"),
                             "adstock_decay": t.pick("Carried into next week",
                                                     "Reporté sur la semaine suivante"),
                             "contribution": t.pick("Revenue credited",
                                                    "Chiffre d'affaires attribué"),
                             "spend": t.pick("Spend", "Dépenses"),
                             "channel": t.pick("Channel", "Canal"),
                             "p_value": "p"}))
    return out


_SATISFACTION_COLUMNS = ["item", "outcome", "effect_per_sd", "effect_low", "effect_high",
                         "p_value", "correlation", "loading_factor_1"]


def satisfaction(reader, t: Translator) -> list[dict]:
    """``mart_satisfaction``: which survey items go with recommendation (NPS) and with
    customers leaving, in words, then the figures."""
    blocks = [notice(t("company_wide"), "muted")]
    sat = _company_table(reader, t, "mart_satisfaction", "satisfaction")
    if isinstance(sat, dict):
        return blocks + [sat]
    if not len(sat):
        return blocks + [notice(t.pick("No survey answer was linked to a customer yet.",
                                       "Aucune réponse d'enquête n'est encore rattachée à un "
                                       "client."), "warning")]
    first = sat.iloc[0]
    if "nps_score" in sat.columns and "answers" in sat.columns:
        nps = _f(first.nps_score)
        blocks.append(tiles([
            {"label": "NPS", "value": "—" if nps is None else
             ("+" if nps >= 0 else "−") + t.number(abs(nps)),
             "sentence": t.pick("% promoters (9–10) − % detractors (0–6)",
                                "% de promoteurs (9–10) − % de détracteurs (0–6)")},
            {"label": t.pick("Survey answers", "Réponses aux enquêtes"),
             "value": t.number(_f(first.answers)),
             "sentence": t.pick("linked to a customer", "rattachées à un client")}]))
    lines = (findings.sentences(first.get("findings"), t.lang, t.currency)
             if "findings" in sat.columns else
             [str(first.sentence)] if "sentence" in sat.columns else [])
    if lines:
        blocks.append(sentences(t.pick("What drives satisfaction", "Ce qui fait la satisfaction"),
                                lines))
    nps_rows = sat[sat.outcome == "nps"] if "outcome" in sat.columns else sat
    if {"item", "effect_per_sd"} <= set(nps_rows.columns) and len(nps_rows):
        err = None
        if {"effect_low", "effect_high"} <= set(nps_rows.columns):
            err = {t.pick("effect", "effet"): (list(nps_rows.effect_high - nps_rows.effect_per_sd),
                                              list(nps_rows.effect_per_sd - nps_rows.effect_low))}
        blocks.append(chart(
            t.pick("Recommendation (0–10) for one standard deviation more of each item",
                   "Note de recommandation (0–10) pour un écart-type de plus sur chaque "
                   "question"),
            charts.bars([findings.item_name(i, t.lang) for i in nps_rows.item],
                        {t.pick("effect", "effet"): nps_rows.effect_per_sd},
                        t.pick("points of the recommendation answer",
                               "points de la note de recommandation"),
                        t.pick("survey item", "question"), errors=err)))
    cols = [c for c in _SATISFACTION_COLUMNS if c in sat.columns]
    shown = sat[cols].assign(
        item=[findings.item_name(i, t.lang) for i in sat.item],
        outcome=[t.pick("recommendation (effect per SD)", "recommandation (effet par écart-type)")
                 if o == "nps" else t.pick("leaving (odds ratio per SD)",
                                           "départ (rapport de cotes par écart-type)")
                 for o in sat.outcome]) if {"item", "outcome"} <= set(cols) else sat[cols]
    blocks.append(table(t.pick("Drivers in figures", "Les facteurs en chiffres"), shown, t,
                        {c: "number" for c in cols if c not in ("item", "outcome")},
                        labels={"item": t.pick("survey item", "question"),
                                "outcome": t.pick("measured on", "mesuré sur"),
                                "effect_per_sd": t.pick("effect per SD", "effet par écart-type"),
                                "effect_low": t.pick("low (95%)", "bas (95 %)"),
                                "effect_high": t.pick("high (95%)", "haut (95 %)"),
                                "p_value": "p",
                                "correlation": t.pick("correlation with NPS",
                                                      "corrélation avec le NPS"),
                                "loading_factor_1": t.pick("weight on the common factor",
                                                           "poids sur le facteur commun")}))
    return blocks


def forecasts(reader, t: Translator) -> list[dict]:
    blocks = [notice(t("company_wide"), "muted")]
    f = _company_table(reader, t, "mart_forecasts", "forecasts")
    if isinstance(f, dict):
        return blocks + [f]
    if not len(f):
        return blocks + [notice(t.pick("The forecast table is empty.", "La table des prévisions est vide."),
                                "warning")]
    if {"series", "dimension", "month", "kind", "value"} <= set(f.columns):
        return blocks + _forecast_blocks(f, t)
    x = next((c for c in f.columns if c in ("month", "period", "date", "ds", "at")), f.columns[0])
    y = next((c for c in f.columns if c in ("mean", "forecast", "value", "yhat", "predicted")),
             None)
    lo = next((c for c in f.columns if c in ("lower", "low", "mean_lower", "yhat_lower")), None)
    hi = next((c for c in f.columns if c in ("upper", "high", "mean_upper", "yhat_upper")), None)
    group = next((c for c in f.columns if c in ("metric", "series", "measure", "target")), None)
    if y is not None:
        for key, part in (f.groupby(group) if group else [(t.pick("forecast", "prévision"), f)]):
            part = part.sort_values(x)
            series = {t.pick("forecast", "prévision"): part[y]}
            if "actual" in part.columns:
                series[t.pick("actual", "réel")] = part["actual"]
            bands = {t.pick("95% interval", "intervalle à 95 %"): (part[lo], part[hi])} \
                if lo and hi else None
            blocks.append(chart(f"{key}", charts.lines(part[x].astype(str), series, str(key),
                                                       str(x), bands=bands)))
    blocks.append(table(t.pick("Forecasts", "Prévisions"), f, t, _num_units(f)))
    return blocks


def _forecast_blocks(f: pd.DataFrame, t: Translator) -> list[dict]:
    """``mart_forecasts`` (one row per series × dimension × member × month, ``kind`` actual or
    forecast): per series, the company total's history and forecast with its interval, the
    backtest said from its figures in the reader's language (not the stored English sentence),
    and the forecast months in a table."""
    out = []
    total = f[f.dimension.astype(str) == "total"]
    money = {"revenue", "margin"}
    for key, part in total.groupby("series", sort=True):
        part = part.sort_values("month")
        months = sorted({str(m)[:7] for m in part.month})
        actual = part[part.kind == "actual"].set_index(part[part.kind == "actual"].month.astype(
            str).str[:7]).value.reindex(months)
        fc = part[part.kind == "forecast"]
        fcast = fc.set_index(fc.month.astype(str).str[:7])
        name = _series_name(str(key), t)
        series = {t.pick("actual", "réel"): actual,
                  t.pick("forecast", "prévision"): fcast.value.reindex(months)}
        # the band is the forecast's; over the history it closes on the actual line
        bands = ({t.pick("95% interval", "intervalle à 95 %"): (
            fcast.lower.reindex(months).fillna(actual), fcast.upper.reindex(months).fillna(actual))}
            if {"lower", "upper"} <= set(fc.columns) and len(fc) else None)
        unit = t.pick("amount", "montant") + f" ({t.currency})" if key in money else name.lower()
        out.append(chart(name, charts.lines([t.month(m) for m in months], series, unit,
                                            t("month"), bands=bands),
                         _forecast_sentence(fc, name, t, key in money)))
    fc = total[total.kind == "forecast"]
    if len(fc):
        shown = pd.DataFrame({
            "metric": [_series_name(str(x), t) for x in fc.series],
            "month": [t.month(m) for m in fc.month],
            "mean": fc.value, "lower": fc.get("lower"), "upper": fc.get("upper")})
        out.append(table(t.pick("Forecast months (company total)",
                                "Mois prévus (total de l'entreprise)"), shown, t,
                         {"mean": "count", "lower": "count", "upper": "count"}))
    return out


def _series_name(key: str, t: Translator) -> str:
    """A forecast series' name (``revenue``, ``orders``, ``margin``…) in words."""
    return t(key) if key in ("revenue", "orders", "margin") else t.column(key)


def _forecast_sentence(fc: pd.DataFrame, name: str, t: Translator, money: bool) -> str:
    return findings.forecast_sentence(fc, t.lang, t.currency, money=money, label=name)


# ------------------------------------------------------------------------------ branches
def branches(reader, t: Translator) -> list[dict]:
    from prisme.analytics.segments import segment_table

    c = reader.table("customer_360")
    blocks = [notice(t("scope", scope=_scope_words(reader.user, t)), "muted")]
    labels = _segment_labels(t)
    cols = ["customers", "revenue", "margin", "clv_12m", "churn_risk"]
    for by, title in (("branch", t.pick("Branches compared", "Agences comparées")),
                      ("advisor", t.pick("Advisors compared", "Conseillers comparés"))):
        keys = [by] if by == "branch" else ["advisor", "branch"]
        df = reader.df(segment_table(c, by, *keys[1:]))
        if not len(df):
            continue
        df = df.sort_values("revenue", ascending=False)
        if by == "branch":
            blocks.append(chart(t.pick("Revenue and 12-month value by branch",
                                       "Chiffre d'affaires et valeur à 12 mois par agence"),
                                charts.bars(df.branch, {t("revenue"): df.revenue.astype(float),
                                                        t("clv"): df.clv_12m},
                                            t.pick(f"amount ({t.currency})", f"montant ({t.currency})"),
                                            t.pick("branch", "agence")),
                                t.pick(f"{df.iloc[0].branch} leads with {t.money(_f(df.iloc[0].revenue))} of revenue.",
                                       f"{df.iloc[0].branch} est en tête avec {t.money(_f(df.iloc[0].revenue))} de chiffre d'affaires.")))
        blocks.append(table(title, df[[*keys, *cols]], t, SEGMENT_UNITS, labels))
    return blocks


# ------------------------------------------------------------------------------- quality
def quality(reader, t: Translator) -> list[dict]:
    from prisme.analytics import quality as q

    blocks = [notice(t("company_wide"), "muted")]
    if not reader.has("quality_audit"):
        return blocks + [not_built(t, "quality_audit", "quality")]
    audit = reader.df(reader.table("quality_audit"))
    if audit.empty:
        return blocks + [not_built(t, "quality_audit", "quality")]
    sc = q.scores(audit)
    last = sc[sc.loaded_at == sc.groupby("source").loaded_at.transform("max")]
    worst = last.sort_values("total").iloc[0]
    blocks.append(tiles([{"label": r.source, "value": t.number(r.total, 1),
                          "sentence": t.pick("score out of 100 (latest load)",
                                             "score sur 100 (dernier chargement)")}
                         for r in last.itertuples()]))
    tr = q.trend(audit)  # one point per source and load date (not per second)
    import plotly.graph_objects as go

    fig = go.Figure()
    for src, part in tr.groupby("source"):
        fig.add_scatter(x=[str(d) for d in part.load_date], y=list(part.total),
                        mode="lines+markers", name=src)
    charts._layout(fig, t.pick("score (0–100)", "score (0–100)"),
                   t.pick("load date", "date de chargement"))
    fig.update_xaxes(type="category", categoryorder="array",
                     categoryarray=sorted({str(d) for d in tr.load_date}))
    blocks.append(chart(t.pick("Quality score over loads", "Score de qualité au fil des chargements"),
                        charts.to_json(fig),
                        t.pick(f"The weakest list is {worst.source} ({t.number(worst.total, 1)}/100): "
                               "fix it first.",
                               f"La liste la plus faible est {worst.source} "
                               f"({t.number(worst.total, 1)}/100) : à corriger en premier.")))
    if tr.groupby("source").size().max() < 2:
        blocks.append(notice(t.pick("One load date per source so far: the trend shows from "
                                    "the second day a source is loaded on.",
                                    "Une seule date de chargement par source pour l'instant : "
                                    "la tendance apparaîtra au deuxième jour de chargement."),
                             "muted"))
    comp = last[["source", "total", *[c for c in q.WEIGHTS if c in last.columns]]]
    blocks.append(table(t.pick("Scores by component (latest load)",
                               "Scores par composante (dernier chargement)"),
                        comp, t, {c: "score" for c in comp.columns if c != "source"},
                        sentence=t.pick("Weights of the total: ", "Poids dans le total : ")
                        + ", ".join(f"{t.column(k).lower()} {t.percent(w)}"
                                    for k, w in q.WEIGHTS.items())))
    lat = q.latest(audit)
    detail = lat[lat.check.isin(["validity", "completeness", "duplicates", "placeholder"])][
        ["source", "check", "field", "value", "n", "detail"]]
    detail = detail.assign(check=detail.check.map(t.code),
                           field=[quality_words.field_name(f, t.lang) for f in detail.field],
                           detail=[quality_words.text(d, t.lang) for d in detail.detail])
    blocks.append(table(t.pick("Audit detail (latest load)", "Détail de l'audit (dernier chargement)"),
                        detail, t, {"value": "ratio", "n": "count"}))
    return blocks


PAGES = {
    "overview": overview, "segments": segments, "value": value, "churn": churn,
    "offers": offers, "campaigns": campaigns, "forecasts": forecasts,
    "satisfaction": satisfaction, "branches": branches, "quality": quality,
}
