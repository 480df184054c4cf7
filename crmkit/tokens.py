"""Verified bearer tokens remembered briefly, so a client's every request is not re-verified.

A client sends the same token on every request until it expires; verifying its signature
each time (~0.1 ms of CPU in PyJWT) is most of the gateway's per-request CPU after HTTP, and
more than a small mutation's own work in a service. Only tokens that verified are remembered,
never past their own `exp`, at most `max_age` seconds, in a bounded LRU.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import orjson

from crmkit.lru import LRUCache

T = TypeVar("T")


def _expiry(token: str) -> float | None:
    """The `exp` claim of a token whose signature was already verified, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


def _now() -> float:
    return time.time()  # looked up on each call, so a test can move the clock


class VerifiedTokenCache(Generic[T]):
    """Wraps a verifier (raises on a bad token); returns its result for a remembered token."""

    def __init__(
        self,
        verify: Callable[[str], T],
        *,
        size: int = 4096,
        max_age: float = 60.0,
        clock: Callable[[], float] = _now,
    ) -> None:
        self._verify = verify
        self._max_age = max_age
        self._clock = clock
        self._verified: LRUCache[str, tuple[float, T]] = LRUCache(size)

    def __call__(self, token: str) -> T:
        now = self._clock()
        entry = self._verified.get(token)
        if entry is not None:
            valid_until, caller = entry
            if now < valid_until:
                return caller
        caller = self._verify(token)  # raises for an invalid or expired token: not remembered
        exp = _expiry(token)
        if exp is not None:
            self._verified.put(token, (min(exp, now + self._max_age), caller))
        return caller
