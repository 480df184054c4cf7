"""Settings of the leads service (prefix ``CRM_``)."""

from __future__ import annotations

from pydantic import Field

from crmkit.settings import Settings


class LeadsSettings(Settings):
    # How often the idle-return worker looks for leads to send back to the pool; orgs turn
    # idle return on with their own ``idle_return_days`` setting.
    idle_return_interval_seconds: float = Field(default=3600.0, gt=0)
    # Worker processes serving the port, each with its own relay and idle-return worker
    # (both safe to run several times over: rows are taken with SKIP LOCKED). One Python
    # process uses one core.
    leads_workers: int = Field(default=1, ge=1, le=64)
    # The leads' own database; unset: database `crm_leads` on CRM_DATABASE_URL's server.
    leads_database_url: str | None = None
