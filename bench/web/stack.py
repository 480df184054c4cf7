"""The whole system as `crm dev` runs it, on free ports with its own embedded servers, for the
web app's benchmark and screenshots."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crm.stack import Servers, Stack, available_services, has_gateway, run_migrations
from crmkit.db import SERVICES
from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET, Settings


@dataclass
class Running:
    stack: Stack
    settings: Settings

    @property
    def web(self) -> str:
        return self.stack.url("web")

    @property
    def gateway(self) -> str:
        return self.stack.url("gateway") + "/graphql"

    def urls(self) -> dict[str, str]:
        return {child.name: child.url for child in self.stack.children}


@contextlib.contextmanager
def running_stack() -> Iterator[Running]:
    work = Path(tempfile.mkdtemp(prefix="crm-web-bench-"))
    servers = Servers(work)
    servers.start()
    assert servers.database_url is not None and servers.nats_url is not None
    services = available_services()
    ports = {name: free_port() for name in ("gateway", "web", *SERVICES)}
    settings = Settings(environment="test", jwt_secret=DEV_JWT_SECRET)
    stack = Stack(settings, servers.database_url, servers.nats_url, ports, work / "logs")
    try:
        run_migrations(servers.database_url, services)
        stack.start_all(services, gateway=has_gateway(), timeout=120, web=True)
        yield Running(stack, settings)
    finally:
        stack.stop()
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)
