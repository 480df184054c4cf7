"""Verified tokens are remembered briefly: never past `exp`, never when verification failed."""

from __future__ import annotations

import time
import uuid

import pytest

from crmkit.auth import InvalidToken, TokenVerifier, mint_dev_token
from crmkit.settings import DEV_JWT_SECRET
from crmkit.tokens import VerifiedTokenCache


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingVerifier:
    def __init__(self) -> None:
        self.inner = TokenVerifier(secret=DEV_JWT_SECRET, algorithms=["HS256"])
        self.calls = 0

    def __call__(self, token: str) -> object:
        self.calls += 1
        return self.inner.verify(token)


def _token(ttl_seconds: int = 3600) -> str:
    return mint_dev_token(
        secret=DEV_JWT_SECRET,
        member_id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        roles=["rep"],
        ttl_seconds=ttl_seconds,
    )


def test_a_verified_token_is_not_verified_again_within_max_age() -> None:
    verifier, token = CountingVerifier(), _token()
    clock = Clock(time.time())
    cache = VerifiedTokenCache(verifier, max_age=60, clock=clock)

    first = cache(token)
    clock.now += 59
    second = cache(token)
    clock.now += 2
    third = cache(token)

    assert first == second == third == verifier.inner.verify(token)
    assert verifier.calls == 2  # once at first, once more after max_age


def test_a_remembered_token_is_verified_again_after_its_exp() -> None:
    verifier, token = CountingVerifier(), _token(ttl_seconds=10)
    clock = Clock(time.time())
    cache = VerifiedTokenCache(verifier, max_age=600, clock=clock)
    cache(token)
    clock.now += 11  # past exp, well within max_age

    cache(token)

    assert verifier.calls == 2


def test_an_invalid_token_is_never_remembered() -> None:
    verifier = CountingVerifier()
    cache = VerifiedTokenCache(verifier)
    expired = _token(ttl_seconds=-60)

    for _ in range(2):
        with pytest.raises(InvalidToken):
            cache(expired)
        with pytest.raises(InvalidToken):
            cache(expired[:-2] + "xx")

    assert verifier.calls == 4


def test_the_cache_is_bounded() -> None:
    verifier = CountingVerifier()
    cache = VerifiedTokenCache(verifier, size=2)
    tokens = [_token() for _ in range(3)]

    for token in tokens:
        cache(token)
    cache(tokens[0])  # evicted by the third

    assert verifier.calls == 4
