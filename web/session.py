"""The session: an encrypted, signed cookie the browser keeps but cannot read.

It holds the member's bearer token for the gateway, so the app keeps no server-side state and
any number of replicas serve any request. Fernet (AES-CBC + HMAC-SHA256) seals it; the cookie
is httpOnly (never readable by page scripts), SameSite=Lax and Secure over https.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

COOKIE = "crm_session"


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token: str | None = None
    member_id: str | None = None
    org_id: str | None = None
    name: str = ""
    roles: list[str] = field(default_factory=list)
    team: str | None = None
    # The member's own choice of language; None follows the org's.
    locale: str | None = None
    org_locale: str | None = None
    # Unix time the token stops working (the IdP's or the dev token's expiry).
    expires_at: float | None = None
    # A sign-in in progress with the IdP: state, nonce, PKCE verifier, where to go after.
    oidc: dict[str, str] | None = None
    # The IdP's ID token of this sign-in: signing out hands it back to end the IdP's session.
    id_token: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.token is not None and (self.expires_at is None or time.time() < self.expires_at)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_manager(self) -> bool:
        return "manager" in self.roles or self.is_admin

    def sign_out(self) -> None:
        """Forget the member; a fresh CSRF token so a form of the old session cannot be replayed."""
        fresh = Session(locale=self.locale)
        self.__dict__.update(fresh.__dict__)


class SessionCodec:
    def __init__(self, secret: str, max_age_seconds: float) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        self._fernet = Fernet(key)
        self.max_age = int(max_age_seconds)

    def dumps(self, session: Session) -> str:
        return self._fernet.encrypt(orjson.dumps(asdict(session))).decode("ascii")

    def loads(self, cookie: str | None) -> Session:
        """The session in the cookie, or a new empty one when it is missing, forged or old."""
        if not cookie:
            return Session()
        try:
            raw: dict[str, Any] = orjson.loads(self._fernet.decrypt(cookie, ttl=self.max_age))
            return Session(**raw)
        except (InvalidToken, TypeError, ValueError):
            return Session()
