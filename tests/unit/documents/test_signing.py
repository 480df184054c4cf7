"""Signed /files/ URLs: what they grant survives the trip, anything changed, expired or
signed under another secret is refused; and the byte ranges a download serves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crmkit.auth import Caller, Role
from services.documents.files import Unsatisfiable, byte_range, disposition, file_name
from services.documents.signing import Action, BadSignature, Signer

SECRET = "s" * 40
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CALLER = Caller(member_id=uuid.uuid4(), org_id=uuid.uuid4(),
                roles=frozenset({Role.REP, Role.MANAGER}), team="alpha",
                groups=frozenset({"sales", "legal"}), name="Zofia Żak")


def token(url: str) -> str:
    assert url.startswith("/files/")
    return url.removeprefix("/files/")


def test_a_grant_survives_signing() -> None:
    signer = Signer(SECRET, 300)
    grant = signer.grant(Action.UPLOAD, CALLER, NOW, folderId="f", name="Cennik", groups=["a"])
    assert grant.expires_at == NOW + timedelta(seconds=300)
    back = signer.verify(token(signer.sign(grant)), NOW + timedelta(seconds=299))
    assert back == grant


def test_expiry_is_checked_after_the_signature() -> None:
    signer = Signer(SECRET, 60)
    url = token(signer.sign(signer.grant(Action.DOWNLOAD, CALLER, NOW, documentId="d")))
    with pytest.raises(BadSignature) as expired:
        signer.verify(url, NOW + timedelta(seconds=60))
    assert expired.value.expired
    with pytest.raises(BadSignature) as other:
        Signer("t" * 40, 60).verify(url, NOW)
    assert not other.value.expired


@pytest.mark.parametrize("change", [
    lambda t: t.replace(".", "x"),
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: ("A" if t[0] != "A" else "B") + t[1:],
    lambda t: t + ".x",
    lambda t: "x" * 5000,
    lambda t: "",
])
def test_a_changed_url_is_refused(change: object) -> None:
    signer = Signer(SECRET, 60)
    url = token(signer.sign(signer.grant(Action.DOWNLOAD, CALLER, NOW, documentId="d")))
    with pytest.raises(BadSignature):
        signer.verify(change(url), NOW)  # type: ignore[operator]


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 10, None),
    ("bytes=0-4", 10, (0, 4)),
    ("bytes=5-", 10, (5, 9)),
    ("bytes=5-100", 10, (5, 9)),
    ("bytes=-3", 10, (7, 9)),
    ("bytes=-30", 10, (0, 9)),
    ("bytes=0-1,4-5", 10, None),  # several ranges: the whole file
    ("items=0-1", 10, None),
    ("bytes=-", 10, None),
])
def test_byte_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=5-4", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        byte_range(header, 10)


def test_download_names() -> None:
    assert file_name("Cennik", "application/pdf") == "Cennik.pdf"
    assert file_name("umowa.docx", "application/pdf") == "umowa.docx"
    assert file_name("notes", "application/x-unknown") == "notes"
    assert disposition('Oferta "ŁÓDŹ"') == (
        "attachment; filename=\"Oferta ___D__\"; "
        "filename*=UTF-8''Oferta%20%22%C5%81%C3%93D%C5%B9%22"
    )
