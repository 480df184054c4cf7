"""Every kind of notification has its own email, in both languages: a kind the templates do
not name would fall through to another kind's text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.notifications import domain as d
from services.notifications.mail.compose import notification_email

FALLBACK = {"en": "Offer rejected", "pl": "Oferta odrzucona"}


@pytest.mark.parametrize("language", d.LANGUAGES)
@pytest.mark.parametrize("kind", list(d.NotificationKind), ids=lambda k: k.value)
def test_each_kind_has_its_own_subject_and_link(kind: d.NotificationKind, language: str) -> None:
    deal = uuid.uuid4()
    notice = d.Notification(
        id=uuid.uuid4(), org_id=uuid.uuid4(), member_id=uuid.uuid4(), kind=kind,
        subject_id=deal, title="Fleet 2027", detail="Offer",
        opportunity_id=deal if kind is not d.NotificationKind.LEAD_ASSIGNED else None,
        due_at=datetime(2030, 1, 2, 9, tzinfo=UTC))
    prefs = d.MemberPreferences(org_id=notice.org_id, member_id=notice.member_id,
                                language=language)  # type: ignore[arg-type]
    subject, body = notification_email(notice, prefs, "https://crm.example")
    assert "Fleet 2027" in subject
    assert subject.startswith(FALLBACK[language]) == (kind is d.NotificationKind.OFFER_REJECTED)
    assert "https://crm.example/" in body
