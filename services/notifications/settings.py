"""Settings of the notifications service (prefix ``CRM_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from crmkit.settings import Settings


class NotificationsSettings(Settings):
    # The notifications' own database; unset: database `crm_notifications` on
    # CRM_DATABASE_URL's server.
    notifications_database_url: str | None = None
    # How often the reminder pass looks for calls and meetings coming due and deals left
    # without a next contact (a reminder arrives within this of its minute).
    notifications_tick_seconds: float = Field(default=20.0, gt=0, le=300)
    # The mail server: smtp://[user:password@]host[:port] (STARTTLS per CRM_SMTP_STARTTLS) or
    # smtps://... (TLS from the start). Unset: no email is sent (in-app notifications only);
    # `crm dev` points it at its local sink.
    smtp_url: str | None = None
    smtp_sender: str = "CRM <crm@localhost>"
    # auto: STARTTLS when the server offers it; require: refuse a server that does not; off.
    smtp_starttls: Literal["auto", "require", "off"] = "auto"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # The app's address as people reach it (links in emails and calendars; the public
    # origin's /feeds/ route reaches this service); the web app's own setting. Unset (dev):
    # links to the local web app, feeds straight from this service.
    web_public_url: str | None = None

    @property
    def links_url(self) -> str:
        return self.web_public_url or "http://127.0.0.1:4005"

    @property
    def feeds_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return self.web_public_url or f"http://{host}:{self.notifications_port}"

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must be an smtp:// or smtps:// URL")
        return value

    @field_validator("web_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL")
        return value.rstrip("/") if value else value
