"""One shape for every service, and serving it: ``python -m services.<name>``.

Every ``services/<name>/app.py`` provides (see :class:`ServiceModule`)::

    SERVICE = "documents"
    SETTINGS = DocumentsSettings                      # the service's Settings class

    def create_runtime(settings) -> ServiceRuntime    # database, bus, subscribers, workers
    create_schema = schema.create_schema              # the subgraph (also `crm schemas`)
    def edge(settings, runtime, served) -> Edge       # resolver state, own routes, start-up
    create_app = ServiceApp(create_runtime, create_schema, edge).create_app

and its ``__main__.py`` is ``serve(app)``. ``served`` is true in a served process (not in
tests): the app then freezes the garbage collector after start-up and starts what only a
served process needs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.http_protocol import TimedHttpToolsProtocol
from crmkit.logs import configure_logging
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings, load_settings

_SERVED_MODULE = "CRM_SERVED_APP_MODULE"
SettingsT = TypeVar("SettingsT", bound=Settings)
R = TypeVar("R")


class ServiceModule(Protocol):
    """What every service's ``app`` module provides."""

    @property
    def __name__(self) -> str: ...

    @property
    def SERVICE(self) -> str: ...

    @property
    def SETTINGS(self) -> type[Settings]: ...

    def create_runtime(self, settings: Any) -> ServiceRuntime[Any]: ...

    def create_schema(self) -> Schema: ...

    def create_app(
        self, settings: Any, *, runtime: ServiceRuntime[Any] | None = None, served: bool = False
    ) -> Starlette: ...


@dataclass(frozen=True)
class Edge:
    """What a service serves besides the kit's routes: the state its resolvers reach as
    ``info.context.state``, routes of its own beside /graphql (the documents' /files/, the
    notifications' /feeds/) and anything a served process starts with."""

    state: object
    routes: Sequence[BaseRoute] = ()
    on_startup: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class ServiceApp(Generic[SettingsT, R]):
    """How every service's app is built from its parts: the runtime (given by a test or a
    benchmark, else built from the settings), the subgraph and the service's edge."""

    create_runtime: Callable[[SettingsT], ServiceRuntime[R]]
    create_schema: Callable[[], Schema]
    edge: Callable[[SettingsT, ServiceRuntime[R], bool], Edge]

    def create_app(
        self, settings: SettingsT, *, runtime: ServiceRuntime[R] | None = None,
        served: bool = False,
    ) -> Starlette:
        runtime = runtime or self.create_runtime(settings)
        edge = self.edge(settings, runtime, served)
        return create_service_app(
            runtime, self.create_schema(), state=edge.state, routes=edge.routes,
            on_startup=edge.on_startup, freeze_gc=served,
        )


def serve(service: ServiceModule) -> None:
    """Serve a service's app module on its port with its worker processes
    (``CRM_<SERVICE>_WORKERS``, default 1). Each worker process builds the app itself
    (:func:`served_app`), so each has its own pools, relay, consumers and workers."""
    settings = load_settings(service.SETTINGS)
    os.environ[_SERVED_MODULE] = service.__name__
    uvicorn.run(
        f"{__name__}:served_app",
        factory=True,
        workers=settings.service_workers(service.SERVICE),
        host=settings.host,
        port=settings.service_port(service.SERVICE),
        log_config=None,
        access_log=False,
        http=TimedHttpToolsProtocol,  # httptools, with a limit on slow request headers
    )


def served_app() -> Starlette:
    """The app of the module :func:`serve` was given, settings from the environment (uvicorn
    calls this in every worker process)."""
    service = cast(ServiceModule, importlib.import_module(os.environ[_SERVED_MODULE]))
    settings = load_settings(service.SETTINGS)
    configure_logging(service.SERVICE, settings.log_level)
    return service.create_app(settings, served=True)
