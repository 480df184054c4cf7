"""Identity: bearer JWTs and the caller they describe.

Dev: HS256 with a local key (``crm token`` mints tokens). Production: RS256/ES256 verified
against the organisation IdP's JWKS URL.
"""

from __future__ import annotations

import time
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import jwt

from crmkit.settings import DEV_JWT_SECRET, Settings
from crmkit.tokens import VerifiedTokenCache


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    ADMIN = "admin"


class InvalidToken(Exception):
    """The request carries no usable token; the message says why (safe to show)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: decoded from the token, trusted only after verification."""

    member_id: uuid.UUID
    org_id: uuid.UUID
    roles: frozenset[Role]
    team: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)
    name: str = ""
    # The member's own time zone (the token's OIDC ``zoneinfo`` claim), None when the token
    # has none or names no IANA zone: then the org's applies.
    time_zone: str | None = None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_manager(self) -> bool:
        return Role.MANAGER in self.roles or self.is_admin

    def has_role(self, role: Role) -> bool:
        return role in self.roles


def _uuid_claim(claims: dict[str, object], name: str) -> uuid.UUID:
    value = claims.get(name)
    if not isinstance(value, str):
        raise InvalidToken(f"token claim '{name}' is missing")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidToken(f"token claim '{name}' is not a UUID") from None


def caller_from_claims(claims: dict[str, object]) -> Caller:
    raw_roles = claims.get("roles", [])
    if isinstance(raw_roles, str):
        raw_roles = [raw_roles]
    if not isinstance(raw_roles, list) or not raw_roles:
        raise InvalidToken("token claim 'roles' is missing")
    try:
        roles = frozenset(Role(str(r)) for r in raw_roles)
    except ValueError:
        raise InvalidToken("token claim 'roles' holds an unknown role") from None
    groups = claims.get("groups", [])
    if isinstance(groups, str):
        groups = [g for g in groups.split(",") if g]
    if not isinstance(groups, list):
        raise InvalidToken("token claim 'groups' must be a list")
    team = claims.get("team")
    name = claims.get("name", "")
    return Caller(
        time_zone=_time_zone(claims.get("zoneinfo")),
        member_id=_uuid_claim(claims, "sub"),
        org_id=_uuid_claim(claims, "org"),
        roles=roles,
        team=str(team) if team else None,
        groups=frozenset(str(g) for g in groups),
        name=str(name) if name else "",
    )


def _time_zone(value: object) -> str | None:
    """An IANA time zone name, or None (a zone the system does not know is ignored, not a
    reason to refuse the token)."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return value


class TokenVerifier:
    """Verifies bearer tokens: HS256 with the shared dev key, or asymmetric keys from a JWKS.

    A token that verified is remembered (:class:`crmkit.tokens.VerifiedTokenCache`, bounded,
    for at most ``CACHE_SECONDS`` and never past its ``exp``). ``CACHE_SECONDS`` is below
    PyJWKClient's own key cache lifetime, so a key withdrawn from the JWKS stops working no
    later than without the cache.
    """

    CACHE_SECONDS = 60.0
    CACHE_SIZE = 4096

    def __init__(
        self,
        *,
        secret: str | None,
        algorithms: Iterable[str],
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        self._secret = secret
        self._algorithms = list(algorithms)
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._audience = audience
        self._issuer = issuer
        self._verified = VerifiedTokenCache(
            self._verify, size=self.CACHE_SIZE, max_age=self.CACHE_SECONDS
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        """The verifier the settings describe; a process whose token settings are unsafe or
        contradictory stops with one line naming the setting (:func:`token_settings_problem`)."""
        problem = token_settings_problem(settings)
        if problem is not None:
            raise SystemExit(problem)
        algorithms = settings.jwt_algorithms
        if settings.jwks_url and "jwt_algorithms" not in settings.model_fields_set:
            algorithms = ["RS256", "ES256"]
        return cls(
            secret=settings.jwt_secret,
            algorithms=algorithms,
            jwks_url=settings.jwks_url,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )

    def verify(self, token: str) -> Caller:
        return self._verified(token)

    def _verify(self, token: str) -> Caller:
        try:
            key: object = self._secret
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token,
                key=key,  # type: ignore[arg-type]
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired") from None
        except jwt.PyJWKClientError as error:
            raise InvalidToken(f"token key cannot be resolved: {error}") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"token is invalid: {error}") from None
        return caller_from_claims(claims)

    def verify_header(self, authorization: str | None) -> Caller:
        if not authorization:
            raise InvalidToken("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("authorization header must be 'Bearer <token>'")
        return self.verify(token.strip())


def token_settings_problem(settings: Settings) -> str | None:
    """Why the token settings cannot start a process, as one line naming the setting; None
    when they can. Anywhere: a JWKS URL verifies asymmetric signatures only, so an HS
    algorithm beside it is a contradiction. In prod: the public development key would let
    anyone mint an admin token, so tokens come from a JWKS URL or a secret of the operator's
    own, and the audience and issuer are checked."""
    if settings.jwks_url and "jwt_algorithms" in settings.model_fields_set:
        symmetric = [a for a in settings.jwt_algorithms if a.upper().startswith("HS")]
        if symmetric:
            return (f"invalid setting CRM_JWT_ALGORITHMS: {', '.join(symmetric)} cannot verify "
                    "tokens against CRM_JWKS_URL (use RS256, ES256...)")
    if settings.environment != "prod":
        return None
    if settings.jwks_url is None and settings.jwt_secret == DEV_JWT_SECRET:
        return ("invalid setting CRM_JWT_SECRET: the public development key cannot sign "
                "production tokens; set CRM_JWKS_URL (your IdP) or a secret of your own")
    if not settings.jwt_audience:
        return "invalid setting CRM_JWT_AUDIENCE: required in prod (the audience of your tokens)"
    if not settings.jwt_issuer:
        return "invalid setting CRM_JWT_ISSUER: required in prod (the issuer of your tokens)"
    return None


def mint_dev_token(
    *,
    secret: str,
    member_id: uuid.UUID,
    org_id: uuid.UUID,
    roles: Iterable[str],
    team: str | None = None,
    groups: Iterable[str] = (),
    name: str = "",
    ttl_seconds: int = 30 * 24 * 3600,
    time_zone: str | None = None,
) -> str:
    """A signed HS256 token for development and tests."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(member_id),
        "org": str(org_id),
        "roles": [Role(r).value for r in roles],
        "groups": list(groups),
        "name": name,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if team:
        claims["team"] = team
    if time_zone:
        claims["zoneinfo"] = time_zone
    return jwt.encode(claims, secret, algorithm="HS256")
