"""``crm dev``: the whole system on one machine, stopped cleanly by Ctrl-C or SIGTERM; what it
started ends with it even when it is killed (:mod:`crm.reaper`)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType

from rich.console import Console

from crm.demo import DEMO_MEMBERS, DEMO_ORG
from crm.mailsink import MailSink, mail_dir
from crm.reaper import Reaper
from crm.stack import (
    Servers,
    Stack,
    available_services,
    default_ports,
    has_gateway,
    has_web,
    run_migrations,
)
from crmkit.settings import Settings, load_settings


def run_dev(settings: Settings, console: Console) -> int:
    data_dir = Path(settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    started = time.monotonic()
    reaper = Reaper()
    servers = Servers(data_dir, settings.database_url, settings.nats_url, reaper=reaper)
    stack: Stack | None = None
    sink: MailSink | None = None
    stopped = False
    try:
        sink = _mail_sink(data_dir)
        with console.status("starting PostgreSQL and NATS"):
            servers.start()
        assert servers.database_url is not None and servers.nats_url is not None
        services = available_services()
        with console.status("migrating"):
            run_migrations(servers.database_url, services)
        stack = Stack(
            settings=settings,
            database_url=servers.database_url,
            nats_url=servers.nats_url,
            ports=default_ports(settings, web_port()),
            log_dir=data_dir / "logs",
            extra_env={"CRM_SMTP_URL": sink.url} if sink is not None else {},
            reaper=reaper,
        )
        gateway = has_gateway()
        with console.status("starting services"):
            stack.start_all(services, gateway=gateway, timeout=60, web=True)
        _seed_once(settings, stack, data_dir, console)
        _print_banner(console, settings, stack, services, gateway, time.monotonic() - started)
        while not stop.is_set():
            for child in stack.children:
                if child.process.poll() is not None:
                    console.print(
                        f"[red]{child.name} exited ({child.process.returncode}); "
                        f"see {data_dir / 'logs' / (child.name + '.log')}[/red]"
                    )
                    stop.set()
            stop.wait(0.5)
        return 0
    except (RuntimeError, TimeoutError) as error:
        console.print(f"[red]{error}[/red]")
        return 1
    finally:
        console.print("stopping…")
        try:
            if stack is not None:
                stack.stop()
            servers.stop()
            if sink is not None:
                sink.stop()
            stopped = True
        finally:
            # After a failed stop the watchdog ends what is left.
            reaper.close(clean=stopped)
        console.print("stopped")


def _mail_sink(data_dir: Path) -> MailSink | None:
    """The local SMTP sink, unless CRM_SMTP_URL names a mail server."""
    if os.environ.get("CRM_SMTP_URL"):
        return None
    sink = MailSink(mail_dir(data_dir))
    sink.start()
    return sink


def web_port() -> int | None:
    """The web app's port (CRM_WEB_PORT), when this checkout has the web app."""
    if not has_web():
        return None
    from web.settings import WebSettings

    return load_settings(WebSettings).port


def _seed_once(settings: Settings, stack: Stack, data_dir: Path, console: Console) -> None:
    marker = data_dir / "demo-seeded"
    if marker.exists():
        return
    import asyncio

    from crm.seed import seed

    with console.status("seeding the demo organisation"):
        summary = asyncio.run(seed(settings, {c.name: c.url for c in stack.children}))
    marker.write_text(summary + "\n")
    console.print(summary)


def _print_banner(
    console: Console,
    settings: Settings,
    stack: Stack,
    services: list[str],
    gateway: bool,
    seconds: float,
) -> None:
    console.print(f"[green]CRM is ready in {seconds:.1f}s[/green]")
    if "web" in stack.ports and any(c.name == "web" for c in stack.children):
        console.print(f"  [bold]web app    {stack.url('web')}/  (open this in a browser)[/bold]")
    if gateway:
        console.print(f"  gateway    {stack.url('gateway')}/graphql  (GraphiQL in a browser)")
    for service in services:
        console.print(f"  {service:<10} {stack.url(service)}/graphql")
    console.print(f"  demo org   {DEMO_ORG}")
    console.print("Demo tokens (send as 'Authorization: Bearer <token>'):")
    for member in DEMO_MEMBERS:
        team = f", team {member.team}" if member.team else ""
        console.print(f"  {member.name} ({member.role}{team}):")
        console.print(f"    {member.token(settings.jwt_secret)}", soft_wrap=True)
    if "CRM_SMTP_URL" in stack.extra_env:
        kept = mail_dir(Path(settings.data_dir).resolve())
        console.print(f"  mail       kept under {kept}; `crm mail` lists it")
    console.print("Press Ctrl-C to stop.")
