"""The web app's settings (prefix ``CRM_WEB_``); the shared ``CRM_*`` ones come from the kit."""

from __future__ import annotations

import zoneinfo
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SESSION_SECRET = "crm-web-dev-session-secret-change-me-0123456789"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_WEB_", extra="ignore", frozen=True)

    port: int = Field(default=4005, ge=1, le=65535)
    # The gateway's GraphQL endpoint; unset: this host at CRM_GATEWAY_PORT.
    gateway_url: str | None = None
    # Encrypts and signs the session cookie (which holds the member's token).
    session_secret: str = DEV_SESSION_SECRET
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Mark cookies Secure. Unset: when the request arrived over https.
    secure_cookies: bool | None = None
    # The dev sign-in pages (mint a token for any member). Unset: on unless CRM_ENVIRONMENT=prod.
    dev_sign_in: bool | None = None
    # Production sign-in: OpenID Connect (authorization code + PKCE) against the org's IdP.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = Field(default=None, validate_default=True)
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid profile email"
    # Which of the IdP's tokens the gateway is sent (it must carry org, roles, sub).
    oidc_token: Literal["access_token", "id_token"] = "access_token"
    # The app's own address as users reach it (for the IdP's redirect); unset: from the request.
    public_url: str | None = None
    # Dates and times are shown and entered in this zone.
    timezone: str = "Europe/Warsaw"
    # The language before a member's org is known (the sign-in pages).
    default_locale: Literal["pl", "en"] = "pl"
    gateway_timeout: float = Field(default=30.0, gt=0, le=300)

    @field_validator("session_secret")
    @classmethod
    def _secret_length(cls, value: str) -> str:
        if len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    @field_validator("oidc_client_id")
    @classmethod
    def _client_with_issuer(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("oidc_issuer") and not value:
            raise ValueError("required with CRM_WEB_OIDC_ISSUER")
        return value

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)
