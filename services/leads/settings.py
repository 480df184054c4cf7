"""Settings of the leads service (prefix ``CRM_``)."""

from __future__ import annotations

from pydantic import Field

from crmkit.settings import Settings


class LeadsSettings(Settings):
    # How often the idle-return worker looks for leads to send back to the pool; orgs turn
    # idle return on with their own ``idle_return_days`` setting.
    idle_return_interval_seconds: float = Field(default=3600.0, gt=0)
