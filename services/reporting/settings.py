"""Settings of the reporting service."""

from __future__ import annotations

from pydantic import field_validator

from crmkit.settings import Settings
from crmkit.values import DEFAULT_TIME_ZONE, InvalidValue, currency_code, time_zone


class ReportingSettings(Settings):
    # The base currency of converted totals for orgs whose admin has not chosen one.
    reporting_base_currency: str = "EUR"
    # Where "today" is for the dashboards of members whose token names no time zone of their
    # own (OIDC ``zoneinfo``).
    reporting_time_zone: str = DEFAULT_TIME_ZONE
    # The reporting service's own database; unset: database `crm_reporting` on
    # CRM_DATABASE_URL's server.
    reporting_database_url: str | None = None

    @field_validator("reporting_base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return currency_code(value)  # the kit's rule; its error names the setting

    @field_validator("reporting_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            return time_zone(value)
        except InvalidValue:
            raise ValueError("must be an IANA time zone such as Europe/Warsaw") from None
