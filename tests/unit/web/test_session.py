"""The session cookie: sealed (nobody reads or changes what is inside), expiring, and a new
CSRF token whenever the identity changes; languages asked for by the browser."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet

from web.middleware import _accepted
from web.routes.auth import safe_next
from web.session import Session, SessionCodec

SECRET = "a-test-session-secret-of-enough-length-0123"


def test_a_session_round_trips_sealed() -> None:
    codec = SessionCodec(SECRET, 3600)
    session = Session(token="header.payload.signature", name="Rita", roles=["rep"])
    cookie = codec.dumps(session)
    assert "payload" not in cookie and "Rita" not in cookie
    assert codec.loads(cookie) == session


@pytest.mark.parametrize(
    "cookie",
    [None, "", "garbage", Fernet(Fernet.generate_key()).encrypt(b'{"token": "x"}').decode()],
)
def test_a_missing_forged_or_foreign_cookie_is_a_new_empty_session(cookie: str | None) -> None:
    session = SessionCodec(SECRET, 3600).loads(cookie)
    assert session.token is None and not session.signed_in


def test_a_tampered_cookie_is_refused() -> None:
    codec = SessionCodec(SECRET, 3600)
    cookie = codec.dumps(Session(token="t"))
    tampered = cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB")
    assert codec.loads(tampered).token is None


def test_an_old_cookie_or_token_signs_out() -> None:
    old = SessionCodec(SECRET, 0).dumps(Session(token="t"))
    time.sleep(1.1)
    assert SessionCodec(SECRET, 0).loads(old).token is None
    assert not Session(token="t", expires_at=time.time() - 1).signed_in


def test_signing_out_keeps_the_language_and_renews_the_csrf_token() -> None:
    session = Session(token="t", name="Rita", locale="pl")
    csrf = session.csrf
    session.sign_out()
    assert session.token is None and session.name == "" and session.locale == "pl"
    assert session.csrf != csrf


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("pl-PL,pl;q=0.9,en;q=0.8", "pl"),
        ("de-DE,en-GB;q=0.7,pl;q=0.5", "en"),
        ("en;q=0.3, pl;q=0.9", "pl"),
        ("de, fr", None),
        (None, None),
    ],
)
def test_the_browsers_language(header: str | None, expected: str | None) -> None:
    assert _accepted(header) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/pool?q=a", "/pool?q=a"), ("https://evil.example/", "/"), ("//evil.example", "/"),
     (None, "/"), ("pool", "/")],
)
def test_only_paths_of_the_app_are_followed_after_signing_in(
    target: str | None, expected: str
) -> None:
    assert safe_next(target) == expected


def test_validation_errors_land_on_their_form_fields() -> None:
    from web.errors import problem_of

    result = {"__typename": "ValidationError", "message": "bad", "fields": [
        {"path": ["account", "name"], "message": "is required"},
        {"path": ["opportunity", "amount"], "message": "must be positive"},
        {"path": ["account", "nip"], "message": "has a wrong checksum"},
        {"path": ["patch", "tags", "1"], "message": "text must not contain control characters"},
    ]}
    problem = problem_of(result, {"account.name": "account_name", "account.nip": "nip"})
    assert problem is not None
    assert problem.fields == {"account_name": "is required", "amount": "must be positive",
                              "nip": "has a wrong checksum",
                              "tags": "text must not contain control characters"}
    assert problem_of({"__typename": "LeadPayload", "lead": {}}) is None
