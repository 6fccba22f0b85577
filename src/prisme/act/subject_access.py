"""Right of access (GDPR art. 15): ``prisme subject-access --email E --out FILE``.

Everything the warehouse holds on one person — the same rows an erasure would remove or
anonymise (:func:`prisme.act.erase.person_rows`): their customer records and every version,
party map and history, golden record, ``customer_360``, scores over time, target lists, sales,
calls, web sessions, campaign contacts, survey answers, quarantined lines and load issues —
and the audit log's events about them (who looked at or exported their data). Written as JSON
(machine-readable, to hand over) and as a readable HTML page beside it; the access itself
goes to the audit log.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape

from prisme.act import erase as erasure
from prisme.warehouse import core
from prisme.warehouse.schema import ENTITIES

#: stored tables under the names users know (``core_transaction_facts`` → ``fact_sales``;
#: every row, also those of superseded loads)
PUBLIC = {core.storage_table(e): e.table for e in ENTITIES.values() if not e.versioned}

_HTML = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.8rem;margin:.5rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:.2rem .4rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} .note{color:#555;font-size:.9rem}
</style></head><body>
<h1>{{ title }}</h1>
<p class="note">Generated {{ generated_at }} by Prisme. Records: {{ records|join(", ") }};
customer ids in Prisme (party): {{ parties|join(", ") }}.</p>
{% for name, rows in tables.items() %}
<h2>{{ name }} — {{ rows|length }} row{{ "" if rows|length == 1 else "s" }}</h2>
{% if rows %}<table><tr>{% for c in rows[0].keys() %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in rows %}<tr>{% for v in r.values() %}<td>{{ "" if v is none else v }}</td>{% endfor %}
</tr>{% endfor %}</table>{% endif %}
{% endfor %}
<h2>Audit log — who saw or used this data ({{ audit|length }})</h2>
{% if audit %}<table><tr><th>at</th><th>who</th><th>action</th><th>subject</th></tr>
{% for e in audit %}<tr><td>{{ e.at }}</td><td>{{ e.actor }}</td><td>{{ e.action }}</td>
<td>{{ e.subject }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>
"""


def _plain(value):
    if value is None:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def collect(engine, root: Path, *, email: str | None = None, party: str | None = None,
            source_id: str | None = None) -> dict:
    """Everything held on the person, as plain data (table → rows)."""
    from prisme.access import audit

    person = erasure.find_person(engine, email=email, party=party, source_id=source_id)
    keys, lines = erasure.upload(engine, person)
    tables: dict[str, list[dict]] = {}
    try:
        for name in erasure._base_tables(engine):
            cond, _ = erasure.person_rows(engine, name, person, keys, lines)
            if cond is None:
                continue
            t = engine.table(name)
            df = engine.to_pandas(t.filter(cond))
            if len(df):
                tables[PUBLIC.get(name, name)] = [{c: _plain(v) for c, v in row.items()}
                                                  for row in df.to_dict("records")]
    finally:
        for tmp in (keys, lines):
            engine.drop_table(tmp.get_name())
    subjects = sorted(person.party_ids | person.source_ids)
    events = [e for s in subjects for e in audit.events(root, subject=s, limit=100_000)]
    return {
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "records": sorted(person.source_ids),
        "parties": sorted(person.party_ids),
        "tables": tables,
        "audit": sorted(events, key=lambda e: e["id"]),
    }


def paths_for(out: Path) -> tuple[Path, Path]:
    """The JSON and HTML files for ``--out`` (one is ``out``, the other beside it)."""
    out = Path(out)
    if out.suffix.lower() in (".json", ".html", ".htm"):
        return out.with_suffix(".json"), out.with_suffix(".html")
    return Path(f"{out}.json"), Path(f"{out}.html")


def write(data: dict, out: Path) -> tuple[Path, Path]:
    js, html = paths_for(out)
    js.parent.mkdir(parents=True, exist_ok=True)
    js.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    env = Environment(autoescape=select_autoescape(default=True))
    html.write_text(env.from_string(_HTML).render(
        lang="en", title="Personal data held by Prisme", **data), encoding="utf-8")
    return js, html


def subject_access(engine, root: Path, out: Path, *, actor: str, email: str | None = None,
                   party: str | None = None, source_id: str | None = None
                   ) -> tuple[dict, tuple[Path, Path]]:
    """Collect, write both files, record the access in the audit log."""
    from prisme.access import audit

    data = collect(engine, root, email=email, party=party, source_id=source_id)
    files = write(data, out)
    rows = sum(len(v) for v in data["tables"].values())
    for p in data["parties"] or [""]:
        audit.record(root, actor, "subject_access", p, {"rows": rows, "file": files[0].name})
    return data, files
