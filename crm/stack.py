"""The whole system as processes: servers (embedded unless given), migrations, services,
gateway. Used by ``crm dev`` and by the end-to-end test fixture."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from crmkit.db import SERVICES, ensure_database, service_database_url
from crmkit.embedded import EmbeddedNats, EmbeddedPostgres
from crmkit.migrations import upgrade
from crmkit.settings import Settings

if TYPE_CHECKING:
    from crm.reaper import Reaper

ROOT = Path(__file__).resolve().parent.parent


def available_services() -> list[str]:
    """Services whose package exists in this checkout (each has an ``app`` module)."""
    return [s for s in SERVICES if importlib.util.find_spec(f"services.{s}.app") is not None]


def has_gateway() -> bool:
    return importlib.util.find_spec("gateway.__main__") is not None


def has_web() -> bool:
    return importlib.util.find_spec("web.__main__") is not None


def migrations_dir(service: str) -> Path:
    return ROOT / "services" / service / "migrations"


async def migrate_all(database_url: str, services: list[str]) -> None:
    for service in services:
        await ensure_database(database_url, f"crm_{service}")
        await upgrade(migrations_dir(service), service_database_url(database_url, service))


@dataclass
class Servers:
    """PostgreSQL and NATS: the configured ones, or embedded ones under ``data_dir``."""

    data_dir: Path
    database_url: str | None = None
    nats_url: str | None = None
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    # Ends the servers when the process that started them dies without stopping them.
    reaper: Reaper | None = None

    def start(self) -> None:
        if self.database_url is None:
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
            if self.reaper is not None:
                self.reaper.watch_postgres(self.postgres.pgdata)
            self.postgres.start()
            self.database_url = self.postgres.url
        if self.nats_url is None:
            self.nats = EmbeddedNats(self.data_dir / "nats")
            self.nats.start()
            if self.reaper is not None and self.nats.process is not None:
                self.reaper.watch_group(self.nats.process.pid)
            self.nats_url = self.nats.url

    def stop(self) -> None:
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()


@dataclass
class Child:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """Service and gateway processes, each its own process group."""

    settings: Settings
    database_url: str
    nats_url: str
    ports: dict[str, int]
    log_dir: Path
    children: list[Child] = field(default_factory=list)
    # More settings for every process (e.g. CRM_STREAM_REPLICAS on a NATS cluster).
    extra_env: dict[str, str] = field(default_factory=dict)
    # Ends the processes' groups when the process that started them dies without stopping them.
    reaper: Reaper | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CRM_DATABASE_URL=self.database_url,
            CRM_NATS_URL=self.nats_url,
            CRM_ENVIRONMENT=self.settings.environment,
            CRM_JWT_SECRET=self.settings.jwt_secret,
            PYTHONUNBUFFERED="1",
        )
        for name, port in self.ports.items():
            env[f"CRM_{name.upper()}_PORT"] = str(port)
        env.update(self.extra_env)
        return env

    def start(self, names: list[str]) -> None:
        """Start these processes (services by name, ``gateway`` or ``web``)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self._env()
        for name in names:
            module = name if name in ("gateway", "web") else f"services.{name}"
            with (self.log_dir / f"{name}.log").open("ab") as log:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    [sys.executable, "-m", module],
                    env=env,
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self.reaper is not None:
                self.reaper.watch_group(process.pid)
            self.children.append(Child(name, self.ports[name], process))

    def start_all(
        self, services: list[str], gateway: bool, timeout: float = 60.0, web: bool = False
    ) -> None:
        """Services first; the gateway composes from the running subgraphs at start-up; the
        web app, a client of the gateway, last."""
        deadline = time.monotonic() + timeout
        self.start(services)
        self.wait_ready(timeout, names=services)
        if gateway:
            self.start(["gateway"])
            self.wait_ready(max(5.0, deadline - time.monotonic()), names=["gateway"])
        if gateway and web and "web" in self.ports:
            self.start(["web"])
            self.wait_ready(max(5.0, deadline - time.monotonic()), names=["web"])

    def wait_ready(self, timeout: float = 60.0, names: list[str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = [c for c in self.children if names is None or c.name in names]
        with httpx.Client(timeout=1.0) as client:
            while pending:
                for child in list(pending):
                    if child.process.poll() is not None:
                        log = self.log_dir / f"{child.name}.log"
                        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                        raise RuntimeError(
                            f"{child.name} exited with {child.process.returncode}; "
                            f"see {log}; it ended with:\n{tail}"
                        )
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{child.url}/readyz").status_code == 200:
                            pending.remove(child)
                if pending and time.monotonic() > deadline:
                    waiting = ", ".join(c.name for c in pending)
                    raise TimeoutError(f"not ready after {timeout:.0f}s: {waiting}")
                if pending:
                    time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL a process and its children (a crash); ``start([name])`` brings it back."""
        for child in [c for c in self.children if c.name == name]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait(10)
            self.children.remove(child)

    def stop(self, timeout: float = 15.0) -> None:
        for child in self.children:
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait(5)
        self.children.clear()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"


def default_ports(settings: Settings, web_port: int | None = None) -> dict[str, int]:
    ports = {
        "gateway": settings.gateway_port,
        **{s: settings.service_port(s) for s in SERVICES},
    }
    if web_port is not None:
        ports["web"] = web_port
    return ports


def run_migrations(database_url: str, services: list[str]) -> None:
    asyncio.run(migrate_all(database_url, services))
