"""Settings of the reporting service."""

from __future__ import annotations

from pydantic import field_validator

from crmkit.settings import Settings
from services.reporting.domain import valid_currency


class ReportingSettings(Settings):
    # The base currency of converted totals for orgs whose admin has not chosen one.
    reporting_base_currency: str = "EUR"
    # The reporting service's own database; unset: database `crm_reporting` on
    # CRM_DATABASE_URL's server.
    reporting_database_url: str | None = None

    @field_validator("reporting_base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not valid_currency(value):
            raise ValueError("must be an ISO 4217 code such as EUR")
        return value
