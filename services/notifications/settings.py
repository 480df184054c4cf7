"""Settings of the notifications service (prefix ``CRM_``)."""

from __future__ import annotations

from pydantic import Field

from crmkit.settings import Settings


class NotificationsSettings(Settings):
    # The notifications' own database; unset: database `crm_notifications` on
    # CRM_DATABASE_URL's server.
    notifications_database_url: str | None = None
    # How often the reminder pass looks for calls and meetings coming due and deals left
    # without a next contact (a reminder arrives within this of its minute).
    notifications_tick_seconds: float = Field(default=20.0, gt=0, le=300)
