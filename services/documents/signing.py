"""Short-lived signed URLs of /files/: what a URL allows (a :class:`Grant`), encoded in the URL
itself and signed with HMAC-SHA256 under the service's secret, as an S3 presigned URL is. No
state: any documents process with the same secret verifies any URL, and a URL cannot be
changed (a byte changed breaks the signature) or used after it expires. No IO."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import orjson

from crmkit.auth import Caller, Role

PREFIX = "/files/"
MAX_TOKEN_LENGTH = 4096


class Action(StrEnum):
    DOWNLOAD = "get"
    UPLOAD = "new"  # a new document with its first version
    ADD_VERSION = "version"
    OFFER = "offer"  # an offer revision's rendered file


class BadSignature(Exception):
    """The URL was not signed by us, was changed, or has expired (``expired``)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class Grant:
    """What one URL allows, and as whom. ``fields`` are the action's own (the folder, name,
    kind and type of an upload; the document and version of a download)."""

    action: Action
    caller: Caller
    expires_at: datetime
    fields: dict[str, object]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _caller(caller: Caller) -> dict[str, object]:
    return {
        "m": str(caller.member_id),
        "o": str(caller.org_id),
        "r": sorted(r.value for r in caller.roles),
        "t": caller.team,
        "g": sorted(caller.groups),
        "n": caller.name,
    }


def _caller_of(claims: dict[str, object]) -> Caller:
    roles = claims["r"]
    groups = claims["g"]
    team = claims["t"]
    if not isinstance(roles, list) or not isinstance(groups, list):
        raise BadSignature("malformed grant")
    return Caller(
        member_id=uuid.UUID(str(claims["m"])),
        org_id=uuid.UUID(str(claims["o"])),
        roles=frozenset(Role(str(r)) for r in roles),
        team=None if team is None else str(team),
        groups=frozenset(str(g) for g in groups),
        name=str(claims.get("n", "")),
    )


class Signer:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"crm-documents-files:" + secret.encode()).digest()
        self.ttl_seconds = ttl_seconds

    def _signature(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, grant: Grant) -> str:
        """The URL's path: ``/files/<payload>.<signature>``."""
        body = {
            "a": grant.action.value,
            "x": int(grant.expires_at.timestamp()),
            "c": _caller(grant.caller),
            "f": grant.fields,
        }
        payload = _b64(orjson.dumps(body))
        return f"{PREFIX}{payload}.{self._signature(payload)}"

    def grant(self, action: Action, caller: Caller, now: datetime, **fields: object) -> Grant:
        expires = datetime.fromtimestamp(int(now.timestamp()) + self.ttl_seconds, UTC)
        return Grant(action, caller, expires, fields)

    def verify(self, token: str, now: datetime) -> Grant:
        """The grant of a URL's last segment; :class:`BadSignature` when it is not ours, was
        changed or has expired (checked in that order: an expired URL says so only when it
        is genuine)."""
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
            raise BadSignature("not a signed URL")
        payload, signature = token.split(".")
        if not hmac.compare_digest(self._signature(payload), signature):
            raise BadSignature("the URL's signature does not match")
        try:
            body = orjson.loads(_unb64(payload))
            action = Action(body["a"])
            expires_at = datetime.fromtimestamp(int(body["x"]), UTC)
            caller = _caller_of(body["c"])
            fields = body["f"]
        except (ValueError, KeyError, TypeError) as error:
            raise BadSignature("malformed grant") from error
        if not isinstance(fields, dict):
            raise BadSignature("malformed grant")
        if now >= expires_at:
            raise BadSignature("the URL has expired", expired=True)
        return Grant(action, caller, expires_at, fields)
