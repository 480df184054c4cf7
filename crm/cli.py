"""The ``crm`` command."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from crmkit.auth import Role, mint_dev_token
from crmkit.settings import load_settings

app = typer.Typer(help="Open CRM for B2B sales teams.", no_args_is_help=True)
leads_app = typer.Typer(help="Lead base tools.", no_args_is_help=True)
reporting_app = typer.Typer(help="Reporting read models.", no_args_is_help=True)
gateway_app = typer.Typer(help="The GraphQL gateway.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: events a consumer gave up on.", no_args_is_help=True)
app.add_typer(leads_app, name="leads")
app.add_typer(reporting_app, name="reporting")
app.add_typer(gateway_app, name="gateway")
app.add_typer(dlq_app, name="dlq")

console = Console()


def _uuid(value: str, option: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{option} must be a UUID") from None


@app.command()
def dev() -> None:
    """Start the whole system (embedded PostgreSQL and NATS unless configured)."""
    from crm.dev import run_dev

    raise typer.Exit(run_dev(load_settings(), console))


@app.command()
def migrate(
    service: Annotated[list[str] | None, typer.Option(help="Only these services.")] = None,
) -> None:
    """Apply every service's migrations to its database (created on demand)."""
    from crm.stack import Servers, available_services, run_migrations

    settings = load_settings()
    servers = Servers(Path(settings.data_dir), settings.database_url, settings.nats_url or "-")
    servers.start()
    try:
        assert servers.database_url is not None
        targets = service or available_services()
        run_migrations(servers.database_url, targets)
        console.print(f"migrated: {', '.join(targets)}")
    finally:
        servers.stop()


@app.command()
def token(
    user: Annotated[str, typer.Option(help="Member id (UUID).")],
    org: Annotated[str, typer.Option(help="Organisation id (UUID).")],
    role: Annotated[list[Role], typer.Option(help="rep, manager or admin; repeatable.")],
    team: Annotated[str | None, typer.Option()] = None,
    groups: Annotated[str, typer.Option(help="Comma-separated groups.")] = "",
    name: Annotated[str, typer.Option()] = "",
    ttl_days: Annotated[int, typer.Option(min=1, max=3650)] = 30,
) -> None:
    """Print a signed development token."""
    settings = load_settings()
    print(
        mint_dev_token(
            secret=settings.jwt_secret,
            member_id=_uuid(user, "--user"),
            org_id=_uuid(org, "--org"),
            roles=[r.value for r in role],
            team=team,
            groups=[g.strip() for g in groups.split(",") if g.strip()],
            name=name,
            ttl_seconds=ttl_days * 24 * 3600,
        )
    )


@app.command("seed-demo")
def seed_demo(
    gateway_url: Annotated[str | None, typer.Option(help="Defaults to the local stack.")] = None,
) -> None:
    """Seed the demo organisation through the running system's API (once)."""
    from crm.seed import seed

    settings = load_settings()
    urls = _service_urls(settings, gateway_url)
    summary = asyncio.run(seed(settings, urls))
    console.print(summary)


def _service_urls(settings: Any, gateway_url: str | None) -> dict[str, str]:
    from crm.stack import default_ports

    urls = {name: f"http://127.0.0.1:{port}" for name, port in default_ports(settings).items()}
    if gateway_url:
        urls["gateway"] = gateway_url
    return urls


@leads_app.command("import")
def leads_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    org: Annotated[str, typer.Option(help="Organisation id (UUID).")],
    actor: Annotated[str | None, typer.Option(help="Importing member id (UUID).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
) -> None:
    """Import a (large) CSV file of leads with a progress bar; all valid rows or none."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from crmkit.db import service_database_url
    from crmkit.errors import InvalidInput

    module = importlib.import_module("services.leads.cli_import")
    settings = load_settings()
    if settings.database_url is None:
        raise typer.BadParameter("set CRM_DATABASE_URL (the server `crm dev` or production uses)")
    with Progress(
        TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total or None)
            progress.update(tasks[stage], completed=done, total=total or None)

        try:
            result = asyncio.run(
                module.import_file(
                    file,
                    _uuid(org, "--org"),
                    _uuid(actor, "--actor") if actor else None,
                    database_url=service_database_url(settings.database_url, "leads"),
                    progress=report,
                    dry_run=dry_run,
                )
            )
        except InvalidInput as error:
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(1) from None
    verb = "would create" if result.dry_run else "created"
    console.print(
        f"{result.total_rows} rows: {verb} {result.created_count}, "
        f"{len(result.duplicates)} duplicates, {len(result.invalid)} invalid"
    )
    for row in result.invalid[:20]:
        console.print(f"  line {row.line}: {row.reason}")


@reporting_app.command("rebuild")
def reporting_rebuild() -> None:
    """Replay the event stream into fresh read tables and switch to them atomically."""
    module = importlib.import_module("services.reporting.rebuild")
    try:
        report = asyncio.run(module.rebuild(load_settings()))
    except module.RebuildError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(report)


@gateway_app.command("compose")
def gateway_compose(
    from_running: Annotated[
        bool, typer.Option("--from-running", help="Read SDL from running services.")
    ] = False,
    output: Annotated[Path, typer.Option()] = Path("gateway/supergraph.graphql"),
) -> None:
    """Compose the subgraphs' SDL into the supergraph file."""
    from crm.schemas import compose_supergraph

    text = asyncio.run(compose_supergraph(load_settings(), from_running=from_running))
    output.write_text(text)
    console.print(f"wrote {output}")


@app.command("mail")
def mail(
    last: Annotated[int, typer.Option(min=1, help="How many of the newest to list.")] = 20,
    show: Annotated[bool, typer.Option("--show", help="Print each message's text.")] = False,
) -> None:
    """List the emails `crm dev`'s local mail server has kept (newest last)."""
    from crm.mailsink import kept_messages, mail_dir

    messages = kept_messages(mail_dir(Path(load_settings().data_dir)))
    if not messages:
        console.print("no mail yet")
        return
    for kept in messages[-last:]:
        console.print(f"{kept.date}  to {kept.to}  {kept.subject}", markup=False)
        if show:
            console.print(kept.body, markup=False)


@app.command("schemas")
def schemas() -> None:
    """Write every subgraph's SDL file and the composed supergraph."""
    from crm.schemas import write_all

    for path in asyncio.run(write_all(load_settings())):
        console.print(f"wrote {path}")


@dlq_app.command("list")
def dlq_list(
    consumer: Annotated[str | None, typer.Option(help="Only this consumer's.")] = None,
) -> None:
    """Every dead letter: its consumer, event, time and the error that stopped it."""
    from crm.dead_letters import list_dead_letters

    letters = asyncio.run(list_dead_letters(load_settings(), consumer))
    for letter in letters:
        when = letter.time.isoformat(timespec="seconds") if letter.time else "-"
        event = f"{letter.event_id} {letter.event.type}" if letter.event else "(malformed)"
        console.print(f"{letter.consumer}  {event}  {when}  {letter.error}", highlight=False,
                      soft_wrap=True)
    console.print(f"{len(letters)} dead letters")


@dlq_app.command("replay")
def dlq_replay(
    event_id: Annotated[str | None, typer.Argument(help="The event to replay.")] = None,
    consumer: Annotated[str | None, typer.Option(help="Replay every dead letter of it.")] = None,
) -> None:
    """Apply dead letters again through their consumer's inbox (each takes effect once) and
    remove the ones that succeed; a dead letter its consumer still refuses stays."""
    from crm.dead_letters import replay_dead_letters

    if (event_id is None) == (consumer is None):
        raise typer.BadParameter("give either an EVENT_ID or --consumer")
    wanted = _uuid(event_id, "EVENT_ID") if event_id else None
    report = asyncio.run(replay_dead_letters(load_settings(), wanted, consumer))
    for line in report.lines:
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"replayed {report.applied}, already applied {report.skipped}, "
                  f"still failing {report.failed}")
    if report.failed or not (report.applied or report.skipped):
        raise typer.Exit(1)
