"""Process settings from the environment (prefix ``CRM_``).

A bad or missing setting stops the process with one line naming it, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Literal, TypeVar, overload

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "crm-dev-secret-change-me-in-production-0123456789"
# The largest request body a service or the gateway reads: a 10 MB CSV import (importLeads)
# with room for its JSON escaping.
MAX_BODY_BYTES = 12 * 1024 * 1024


class Settings(BaseSettings):
    """Settings shared by every process of the system."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", frozen=True)

    environment: Literal["dev", "test", "prod"] = "dev"
    # A server URL (any database name); each service uses its own database on that server.
    # Unset: `crm dev` and the test harness start an embedded PostgreSQL.
    database_url: str | None = None
    nats_url: str | None = None
    data_dir: str = ".crm"

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["HS256"])
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    host: str = "127.0.0.1"
    gateway_port: int = Field(default=4000, ge=1, le=65535)
    leads_port: int = Field(default=4001, ge=1, le=65535)
    pipeline_port: int = Field(default=4002, ge=1, le=65535)
    documents_port: int = Field(default=4003, ge=1, le=65535)
    reporting_port: int = Field(default=4004, ge=1, le=65535)
    # 4005 is the web app's.
    notifications_port: int = Field(default=4006, ge=1, le=65535)

    # Where the gateway finds each subgraph; unset means this host at the service's port.
    leads_url: str | None = None
    pipeline_url: str | None = None
    documents_url: str | None = None
    reporting_url: str | None = None
    notifications_url: str | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Connections a service process holds at most (opened as needed, then kept).
    db_pool_size: int = Field(default=20, ge=1, le=200)
    # False behind PgBouncer in transaction mode: statements are then sent unnamed, so no
    # statement prepared on one server connection is looked for on another (ADR 0012).
    db_prepared_statements: bool = True
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    # Sent outbox rows are kept this long (to see what went out), then deleted.
    outbox_retention_hours: float = Field(default=24.0, ge=0, le=24 * 366)
    inbox_max_deliveries: int = Field(default=5, ge=1, le=100)
    # Applied-event rows are kept this long for deduplication, then deleted.
    inbox_retention_days: float = Field(default=7.0, gt=0, le=3660)
    stream_name: str = "CRM"
    # Appended to every durable consumer's name: a new name reads the stream from its start
    # (each test session and benchmark run gets consumers of its own on a shared NATS).
    consumer_suffix: str = Field(default="", max_length=40, pattern=r"^[A-Za-z0-9_-]*$")
    # Copies JetStream keeps of the event streams (3 on a 3-node cluster). Start-up raises a
    # stream's replicas to this, never lowers them.
    stream_replicas: int = Field(default=1, ge=1, le=5)
    default_lead_cap: int = Field(default=50, ge=0, le=100_000)

    # Every ``*database_url``: this one and the services' own (``CRM_PIPELINE_DATABASE_URL``...).
    @field_validator("*")
    @classmethod
    def _postgres_url(cls, value: object, info: ValidationInfo) -> object:
        if (info.field_name or "").endswith("database_url") and value is not None and not (
            isinstance(value, str) and value.startswith(("postgresql", "postgres"))
        ):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("nats://", "tls://")):
            raise ValueError("must be a nats:// URL")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _secret_length(cls, value: str) -> str:
        if len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    def service_port(self, service: str) -> int:
        port: int = getattr(self, f"{service}_port")
        return port

    def service_workers(self, service: str) -> int:
        """Worker processes serving the service (``CRM_<SERVICE>_WORKERS`` where it has the
        setting, else one)."""
        workers: int = getattr(self, f"{service}_workers", 1)
        return workers

    def subgraph_url(self, service: str) -> str:
        configured: str | None = getattr(self, f"{service}_url")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return configured or f"http://{host}:{self.service_port(service)}/graphql"


S = TypeVar("S", bound=BaseSettings)


def describe_error(error: ValidationError, prefix: str = "CRM_") -> str:
    """One line naming the first bad setting."""
    first = error.errors()[0]
    name = prefix + "_".join(str(part) for part in first["loc"]).upper()
    return f"invalid setting {name}: {first['msg']}"


@overload
def load_settings() -> Settings: ...
@overload
def load_settings(cls: type[S]) -> S: ...


def load_settings(cls: type[BaseSettings] = Settings) -> BaseSettings:
    """Build settings or stop the process with one clear line."""
    try:
        return cls()
    except ValidationError as error:
        prefix = str(cls.model_config.get("env_prefix") or "CRM_")
        print(describe_error(error, prefix), file=sys.stderr)
        raise SystemExit(2) from None
