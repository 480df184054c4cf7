"""Gateway settings from the environment (prefix CRM_GATEWAY_), beside the shared kit settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from crmkit.settings import MAX_BODY_BYTES, Settings

SUBGRAPHS = ("leads", "pipeline", "documents", "reporting", "notifications")
DEFAULT_SUPERGRAPH = Path(__file__).with_name("supergraph.graphql")


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_GATEWAY_", extra="ignore", frozen=True)

    supergraph_path: Path = DEFAULT_SUPERGRAPH
    # Compose from the running services at start-up instead of reading the file.
    # None: yes in dev (the services' code is the truth there), no elsewhere.
    compose_at_startup: bool | None = None
    # As Apollo Router's default: a 10 MB lead import takes several seconds in the service.
    subgraph_timeout_seconds: float = Field(default=30.0, gt=0)
    introspection: bool | None = None  # None: on except in production
    max_depth: int = Field(default=15, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_operation_bytes: int = Field(default=64 * 1024, ge=64)
    # The services' own limit, so that importLeads takes its 10 MB through the gateway too.
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=256)
    plan_cache_size: int = Field(default=1024, ge=1)
    # Identical query requests to a subgraph in flight at once (same body, same token) are
    # sent once and the answer shared, as Hive Gateway does by default.
    deduplicate_queries: bool = True
    # Progressive @override labels turned on (a JSON list); `percent(N)` labels need none.
    override_labels: frozenset[str] = frozenset()


def subgraph_urls(settings: Settings) -> dict[str, str]:
    """Each service's /graphql URL (CRM_<SERVICE>_URL, or this host at the service's port)."""
    return {name: settings.subgraph_url(name) for name in SUBGRAPHS}


def introspection_enabled(gateway: GatewaySettings, settings: Settings) -> bool:
    if gateway.introspection is not None:
        return gateway.introspection
    return settings.environment != "prod"
