"""The ``prisme`` command line (Typer). Every command works on a project folder (``--project``).

Commands call library functions and print with Rich; library code never prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from prisme import engine as engine_mod
from prisme.config import ConfigError, load_settings
from prisme.engine import EngineError
from prisme.progress import Bars

app = typer.Typer(
    help="Prisme — an open-source analytical CRM: feed, store and deliver customer knowledge.",
    no_args_is_help=True,
    add_completion=False,
)
# in a terminal Rich follows its width; piped into a log, tables get room instead of 80 columns
console = Console() if sys.stdout.isatty() else Console(width=140)

ProjectOpt = Annotated[
    Path, typer.Option("--project", "-p", help="Project folder (holds prisme.toml).")
]


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(str(message))}")
    raise typer.Exit(code=1)


def _settings(project: Path):
    """The project's settings; a folder without prisme.toml is an error, not an empty
    warehouse."""
    try:
        return load_settings(project, require=True)
    except ConfigError as exc:
        _fail(str(exc))


def _ingest_progress(bars: Bars):
    def update(source, file_name, done, total):
        bars.update(f"{source}: {Path(str(file_name)).name}", done, total)

    return update


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new project.")],
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="A source file: its format is sniffed and a mapping proposed."),
    ] = None,
) -> None:
    """Create a project folder with a prisme.toml (proposing a mapping for --from FILE)."""
    from prisme.ingest.mapping import init_project

    try:
        notes: list[str] = []  # init_project appends what it guessed and what to check
        written, more = _init_result(init_project(directory, from_file, notes))
        notes += more
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    console.print(f"[green]wrote[/] {escape(str(written))}")
    for note in notes:
        console.print(f"  • {escape(str(note))}")
    if from_file is not None:
        console.print("Check the proposed mapping in prisme.toml, then run [bold]prisme ingest[/].")


def _init_result(result):
    if isinstance(result, tuple):
        return result[0], list(result[1])
    return result, []


@app.command()
def ingest(
    sources: Annotated[list[str] | None, typer.Argument(help="Sources to load (default: all).")] = None,
    project: ProjectOpt = Path("."),
    reload: Annotated[
        list[str] | None,
        typer.Option("--reload", help="Load SOURCE again after its mapping changed; its earlier "
                                      "loads are superseded (kept, no longer counted)."),
    ] = None,
) -> None:
    """Load the project's sources into the warehouse (append-only, atomic, idempotent)."""
    from prisme.ingest import ingest as run_ingest

    settings = _settings(project)
    try:
        with Bars(console) as bars:
            results = run_ingest(settings, sources or None, progress=_ingest_progress(bars),
                                 reload=reload or None)
    except (EngineError, ValueError, OSError) as exc:
        _fail(str(exc))
    _print_loads(results)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(code=2)


def _print_loads(results) -> None:
    t = Table(title="Loads")
    for col in ["source", "file", "status", "read", "loaded", "quarantined", "message"]:
        t.add_column(col, justify="right" if col in ("read", "loaded", "quarantined") else "left")
    colour = {"loaded": "green", "unchanged": "cyan", "stale": "yellow", "failed": "red"}
    for r in results:
        t.add_row(
            escape(r.source),
            escape(Path(str(r.file_name)).name),
            f"[{colour.get(r.status, 'white')}]{escape(r.status)}",
            f"{r.rows_read:,}",
            f"{r.rows_loaded:,}",
            f"{r.rows_quarantined:,}",
            escape(r.message or ""),
        )
    console.print(t)


@app.command()
def build(project: ProjectOpt = Path(".")) -> None:
    """Resolve identities, audit source quality and build the marts (customer_360…)."""
    from prisme.build import build as run_build
    from prisme.summary import all_tables

    settings = _settings(project)
    try:
        with engine_mod.connect(settings) as eng:
            with Bars(console) as bars:
                summary = run_build(settings, engine=eng, progress=bars)
            for name, secs in summary.seconds.items():
                console.print(f"  {name}: {secs:.1f}s")
            from rich.markup import escape

            for step in ("scores", "manager"):  # churn, offers, campaigns… in sentences
                if step in summary.steps:
                    for line in summary.steps[step].lines():
                        console.print(f"  {escape(line)}")
            for table in all_tables(eng):
                console.print(table)
    except (EngineError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def quality(
    project: ProjectOpt = Path("."),
    html: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report.")] = None,
    rerun: Annotated[bool, typer.Option(help="Re-run the audit before reporting.")] = True,
) -> None:
    """Audit each source list (completeness, validity, duplicates, freshness, consent)."""
    from prisme.act.quality_report import write_html
    from prisme.analytics import quality as q

    settings = _settings(project)
    try:
        if rerun:  # a write: under the writers' lock, published when done
            with (engine_mod.connect(settings) as eng, eng.exclusive("prisme quality"),
                  eng.publishing("prisme quality", whole=False)):
                audit = q.audit(eng, settings)
        else:
            with engine_mod.connect(settings, read_only=True) as eng:
                audit = eng.to_pandas(eng.table("quality_audit"))
    except (EngineError, ValueError) as exc:
        _fail(str(exc))
    console.print(q.quality_table(audit))
    if html is not None:
        write_html(audit, html)
        console.print(f"[green]wrote[/] {escape(str(html))}")


@app.command()
def status(project: ProjectOpt = Path(".")) -> None:
    """What the warehouse holds: loads per source, parties, quality, segments."""
    from prisme.summary import all_tables

    settings = _settings(project)
    if not settings.warehouse_path.exists() and not engine_mod.publication(settings)["published"]:
        console.print(f"{escape(str(settings.root))}: nothing loaded yet (no warehouse at "
                      f"{escape(str(settings.warehouse_path))}); run prisme ingest")
        return
    for line in _publication_lines(engine_mod.publication(settings)):
        console.print(line)
    try:
        with engine_mod.connect(settings, read_only=settings.warehouse_path.exists()) as eng:
            for table in all_tables(eng):
                console.print(table)
    except EngineError as exc:  # a writer holds a warehouse that was never published
        _fail(f"{exc} (nothing has been published yet: the first load or build publishes)")


def _publication_lines(info: dict) -> list[str]:
    """What runs now and which state the tables below show (``prisme status``)."""

    out = []
    writer, pub, left = info["writer"], info["published"], info["unfinished"]
    if writer:
        out.append(f"[yellow]{escape(str(writer.get('what')))} runs since "
                   f"{escape(str(writer.get('since')))} (pid {escape(str(writer.get('pid')))}); "
                   "the tables below are the last published state.[/]")
    if left and not writer:
        out.append(f"[red]{escape(str(left.get('what')))} started at "
                   f"{escape(str(left.get('since')))} did not finish: readers see the state "
                   "published before it; run prisme build.[/]")
    if pub:
        out.append(f"Published {escape(str(pub.get('published_at')))} by "
                   f"{escape(str(pub.get('what')))} (version {escape(str(pub.get('version')))}).")
    return out


@app.command()
def link(
    record_a: Annotated[str, typer.Argument(help="SOURCE:CUSTOMER_ID of the first record.")],
    record_b: Annotated[str, typer.Argument(help="SOURCE:CUSTOMER_ID of the second record.")],
    cannot: Annotated[bool, typer.Option("--cannot", help="Declare a cannot-link instead.")] = False,
    note: Annotated[str, typer.Option(help="Why (kept with the override).")] = "",
    author: Annotated[str, typer.Option(help="Who decided.")] = "",
    project: ProjectOpt = Path("."),
) -> None:
    """Steward override: these two records are (or, with --cannot, are not) one customer."""
    from prisme.identity.overrides import add_override

    settings = _settings(project)
    try:
        a, b = (tuple(x.split(":", 1)) for x in (record_a, record_b))
    except ValueError:
        _fail("records are given as SOURCE:CUSTOMER_ID, e.g. crm:C000123")
    rule = "cannot_link" if cannot else "must_link"
    add_override(settings, rule, a, b, note=note, author=author)
    console.print(f"[green]{rule}[/] {escape(record_a)} ~ {escape(record_b)} recorded; it applies at the next build.")


@app.command()
def demo(
    dir: Annotated[Path, typer.Option("--dir", help="Folder of the demo project.")] = Path("prisme-demo"),
    customers: Annotated[int, typer.Option(help="Number of real persons.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same company).")] = 42,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Do not serve the dashboard.")] = False,
) -> None:
    """Generate a realistic synthetic company and run the whole chain on it."""
    from prisme.demo.run import run_demo
    from prisme.summary import all_tables

    console.rule(f"[bold]Prisme demo — {customers:,} customers, seed {seed}, into {dir}")
    try:
        with Bars(console) as bars:
            run = run_demo(dir, customers, seed, progress=bars)
    except (EngineError, ValueError, OSError) as exc:
        _fail(str(exc))
    m = run.manifest
    console.print(
        f"Generated {getattr(m, 'persons', customers):,} persons into {run.directory} "
        f"(truth in {run.directory / 'truth'})."
    )
    console.print(
        "  ".join(f"{k}: {v:.1f}s" for k, v in run.seconds.items())
    )
    settings = load_settings(dir)
    with engine_mod.connect(settings) as eng:
        for table in all_tables(eng):
            console.print(table)
    console.print(
        f"Warehouse: {settings.warehouse_path} — query it with SQL "
        "(tables load_batches, quarantine, dim_customer, dim_party, fact_sales, customer_360…)."
    )
    if not no_serve:
        from prisme.serve.run import demo_users

        logins = demo_users(settings)
        console.print("[bold]Demo logins[/] (password, role, portfolio):")
        for name, password, what in logins:
            console.print(f"  {escape(name)} / {escape(password)} — {escape(what)}")
        _serve(settings, "127.0.0.1", 8000)


def _serve(settings, host: str, port: int, workers: int = 1) -> None:
    """Serve the dashboard and the API until interrupted."""
    from prisme.serve.run import serve as run_server

    console.print(f"[bold green]Prisme is served at http://{host}:{port}/[/] "
                  f"(API: http://{host}:{port}/api/v1, docs: /docs) — Ctrl+C stops it.")
    run_server(settings, host=host, port=port, workers=workers)


@app.command()
def serve(
    project: ProjectOpt = Path("."),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (one per core).")] = 1,
) -> None:
    """Serve the dashboard and the REST API (/api/v1) of the project."""
    settings = _settings(project)
    _serve(settings, host, port, workers)


users_app = typer.Typer(help="Users of the dashboard and the API (roles and portfolios).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (the login).")],
    role: Annotated[str, typer.Option(help="admin | analyst | manager | advisor.")],
    branch: Annotated[str | None, typer.Option(help="A manager's branch.")] = None,
    advisor: Annotated[str | None, typer.Option(help="An advisor's name, as their customers "
                                                     "carry it.")] = None,
    personal_data: Annotated[bool, typer.Option(
        "--personal-data", help="Let an analyst see names, e-mails, phones, addresses.")] = False,
    replace: Annotated[bool, typer.Option(help="Overwrite an existing user.")] = False,
    project: ProjectOpt = Path("."),
) -> None:
    """Add a user; the password is asked (or read from standard input when piped)."""
    from prisme.access.users import AccessError, add_user

    settings = _settings(project)
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = add_user(settings.root, name, password, role, branch=branch, advisor=advisor,
                        personal_data=personal_data, replace=replace)
    except AccessError as exc:
        _fail(escape(str(exc)))
    console.print(f"[green]added[/] {escape(user.name)} ({user.role}"
                  f"{', branch ' + escape(user.branch) if user.branch else ''}"
                  f"{', advisor ' + escape(user.advisor) if user.advisor else ''})")


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument(help="User name.")],
                project: ProjectOpt = Path(".")) -> None:
    """Print a new API token for NAME (use it as Authorization: Bearer TOKEN)."""
    from prisme.access.users import AccessError, new_token

    settings = _settings(project)
    try:
        token = new_token(settings.root, name)
    except AccessError as exc:
        _fail(escape(str(exc)))
    print(token)


@users_app.command("list")
def users_list(project: ProjectOpt = Path(".")) -> None:
    """The users, their role and portfolio."""
    from prisme.access.users import list_users

    settings = _settings(project)
    t = Table(title="Users")
    for col in ["name", "role", "branch", "advisor", "personal data", "status"]:
        t.add_column(col)
    for u in list_users(settings.root):
        t.add_row(escape(u.name), u.role, escape(u.branch or ""), escape(u.advisor or ""),
                  "yes" if u.sees_personal_data else "masked",
                  "[red]disabled" if u.disabled else "[green]active")
    console.print(t)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="User name.")],
                  project: ProjectOpt = Path(".")) -> None:
    """Disable a user: no more login, API tokens revoked."""
    from prisme.access.users import AccessError, disable_user

    settings = _settings(project)
    try:
        disable_user(settings.root, name)
    except AccessError as exc:
        _fail(escape(str(exc)))
    console.print(f"[yellow]disabled[/] {escape(name)}")


# ---------------------------------------------------------------- act and comply (#13)
def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="The file to write (.csv, .xlsx, .parquet).")],
    channel: Annotated[str, typer.Option(help="email, post, phone or sms.")],
    segment: Annotated[str | None, typer.Option(help="An RFM segment of customer_360.")] = None,
    where: Annotated[str | None, typer.Option(
        help="A condition on customer_360 columns, e.g. \"clv_12m > 100 and country = 'FR'\".")
    ] = None,
    control: Annotated[float, typer.Option(help="Share held back as control group.")] = 0.1,
    format: Annotated[str | None, typer.Option(
        "--format", help="csv, xlsx or parquet (default: the file's extension).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the control draw.")] = None,
    as_user: Annotated[str | None, typer.Option(
        "--as-user", help="Apply this user's rights (portfolio, masked fields).")] = None,
    project: ProjectOpt = Path("."),
) -> None:
    """Export a target list (consent respected, control group recorded in target_lists)."""
    from rich.markup import escape

    from prisme.act.targets import export_list

    settings = _settings(project)
    user = None
    if as_user is not None:
        from prisme.access.users import get_user

        user = get_user(settings.root, as_user)
        if user is None:
            _fail(f"no user {escape(as_user)!r} in {escape(str(settings.root))}")
    try:
        with engine_mod.connect(settings) as eng:
            tl = export_list(eng, settings.root, out, channel=channel, fmt=format,
                             segment=segment, where=where, control=control, seed=seed,
                             actor=_actor(), user=user)
    except (EngineError, ValueError, OSError) as exc:
        _fail(escape(str(exc)))
    console.print(escape(tl.sentence()))
    for note in tl.notes:
        console.print(f"[yellow]warning:[/] {escape(note)}")
    console.print(f"[green]wrote[/] {escape(str(tl.path))} (list {tl.list_id})")


@app.command()
def erase(
    email: Annotated[str | None, typer.Option(help="The person's e-mail.")] = None,
    party: Annotated[str | None, typer.Option(help="The person's party_id.")] = None,
    source_id: Annotated[str | None, typer.Option(
        "--source-id", help="One of the person's records, SOURCE:CUSTOMER_ID.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    project: ProjectOpt = Path("."),
) -> None:
    """GDPR erasure: remove or anonymise a person in every layer, compact the warehouse, keep
    their identifiers' salted digests on the suppression list."""
    from rich.markup import escape

    from prisme.act import erase as erasure

    settings = _settings(project)
    try:
        with engine_mod.connect(settings) as eng:
            if not yes:
                person = erasure.find_person(eng, email=email, party=party, source_id=source_id)
                console.print(f"About to erase {len(person.keys)} record(s) of "
                              f"{len(person.party_ids)} party(ies): "
                              f"{escape(', '.join(sorted(person.source_ids)))}")
                if not typer.confirm("Erase them irreversibly?"):
                    raise typer.Exit(code=1)
            result = erasure.erase(eng, settings, email=email, party=party,
                                   source_id=source_id, actor=_actor())
    except (EngineError, ValueError, OSError) as exc:
        _fail(escape(str(exc)))
    console.print(escape(result.sentence()))
    for note in result.notes:
        console.print(f"[yellow]warning:[/] {escape(note)}")


@app.command()
def writeback(
    url: Annotated[str, typer.Option(help="postgresql://… or mysql://… of the operational CRM.")],
    table: Annotated[str, typer.Option(help="Table to upsert (created when missing).")],
    source: Annotated[list[str] | None, typer.Option(
        help="Only the records of this source (repeatable; default all).")] = None,
    lang: Annotated[str | None, typer.Option(
        help="Language of the churn reasons written: en or fr (default: \\[project] "
             "language).")] = None,
    project: ProjectOpt = Path("."),
) -> None:
    """Upsert scores and offers (one row per source customer id) into the CRM's database."""
    from rich.markup import escape

    from prisme.act import writeback as wb

    settings = _settings(project)
    if lang is not None and lang not in ("en", "fr"):
        _fail(f"--lang {escape(lang)}: en or fr")
    try:
        with engine_mod.connect(settings, read_only=settings.warehouse_path.exists()) as eng:
            result = wb.run(eng, settings.root, url, table, actor=_actor(), sources=source,
                            lang=lang or settings.project.language,
                            currency=settings.project.currency)
    except (EngineError, ValueError, OSError, wb.WritebackError) as exc:
        _fail(escape(str(exc)))
    console.print(escape(result.sentence()))


@app.command("subject-access")
def subject_access(
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON and HTML beside it).")],
    email: Annotated[str | None, typer.Option(help="The person's e-mail.")] = None,
    party: Annotated[str | None, typer.Option(help="The person's party_id.")] = None,
    source_id: Annotated[str | None, typer.Option(
        "--source-id", help="One of the person's records, SOURCE:CUSTOMER_ID.")] = None,
    lang: Annotated[str | None, typer.Option(
        help="Language of the HTML page: en or fr (default: \\[project] language).")] = None,
    project: ProjectOpt = Path("."),
) -> None:
    """GDPR right of access: everything held on one person, as JSON and readable HTML."""
    from rich.markup import escape

    from prisme.act.subject_access import subject_access as run_access

    settings = _settings(project)
    try:
        with engine_mod.connect(settings) as eng:
            data, files = run_access(eng, settings.root, out, actor=_actor(), email=email,
                                     party=party, source_id=source_id,
                                     lang=lang or settings.project.language)
    except (EngineError, ValueError, OSError) as exc:
        _fail(escape(str(exc)))
    rows = sum(len(v) for v in data["tables"].values())
    console.print(f"{rows:,} rows in {len(data['tables'])} tables and {len(data['audit'])} "
                  f"audit events on {len(data['records'])} record(s)")
    for f in files:
        console.print(f"[green]wrote[/] {escape(str(f))}")


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="FILE.html or FILE.pdf.")],
    lang: Annotated[str | None, typer.Option(
        help="Language of the report: en or fr (default: \\[project] language).")] = None,
    project: ProjectOpt = Path("."),
) -> None:
    """The management report (overview, segments, value, churn, campaigns, forecasts)."""
    from rich.markup import escape

    from prisme.act.report import write_report

    settings = _settings(project)
    try:
        with engine_mod.connect(settings, read_only=settings.warehouse_path.exists()) as eng:
            written = write_report(eng, settings, out, lang=lang or settings.project.language,
                                   actor=_actor())
    except (EngineError, ValueError, OSError, RuntimeError) as exc:
        _fail(escape(str(exc)))
    console.print(f"[green]wrote[/] {escape(str(written))}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
