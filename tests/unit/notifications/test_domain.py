"""The rules that decide a reminder and the checks on a member's settings (no IO)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crmkit.errors import InvalidInput
from services.notifications import domain as d

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORG, MEMBER = uuid.uuid4(), uuid.uuid4()


def meeting(due_in: timedelta, *, kind: str = "meeting", status: str = "open") -> d.Activity:
    return d.Activity(uuid.uuid4(), ORG, uuid.uuid4(), MEMBER, kind, "Demo", NOW + due_in, status)


@pytest.mark.parametrize(("due_in", "kind", "status", "expected"), [
    (timedelta(minutes=15), "meeting", "open", True),
    (timedelta(minutes=16), "meeting", "open", False),
    (timedelta(minutes=1), "call", "open", True),
    (timedelta(0), "call", "open", False),  # started: the overdue notice's business
    (timedelta(minutes=5), "task", "open", False),
    (timedelta(minutes=5), "email", "open", False),
    (timedelta(minutes=5), "meeting", "cancelled", False),
    (timedelta(minutes=5), "meeting", "done", False),
])
def test_reminder_window(due_in: timedelta, kind: str, status: str, expected: bool) -> None:
    activity = meeting(due_in, kind=kind, status=status)
    assert d.reminder_window(activity, timedelta(minutes=15), NOW) is expected


def test_the_same_reminder_has_the_same_id_and_another_occurrence_another() -> None:
    prefs = d.MemberPreferences(ORG, MEMBER)
    subject = uuid.uuid4()
    one = d.notify(prefs, d.NotificationKind.ACTIVITY_DUE, subject, title="x", now=NOW,
                   occurrence="08:40")
    again = d.notify(prefs, d.NotificationKind.ACTIVITY_DUE, subject, title="y", now=NOW,
                     occurrence="08:40")
    moved = d.notify(prefs, d.NotificationKind.ACTIVITY_DUE, subject, title="x", now=NOW,
                     occurrence="09:40")
    other_org = d.notify(d.MemberPreferences(uuid.uuid4(), MEMBER),
                         d.NotificationKind.ACTIVITY_DUE, subject, title="x", now=NOW,
                         occurrence="08:40")
    assert one.id == again.id
    assert len({one.id, moved.id, other_org.id}) == 3


def test_next_contact_notice_after_the_grace_period_only() -> None:
    deal = d.Opportunity(uuid.uuid4(), ORG, "Deal", MEMBER, "open", moved_at=NOW)
    later = NOW + d.NEXT_CONTACT_GRACE
    assert d.needs_next_contact_notice(deal, False, later)
    assert not d.needs_next_contact_notice(deal, False, later - timedelta(seconds=1))
    assert not d.needs_next_contact_notice(deal, True, later)
    won = d.Opportunity(uuid.uuid4(), ORG, "Deal", MEMBER, "won", moved_at=NOW)
    assert not d.needs_next_contact_notice(won, False, later)


def test_every_bad_setting_is_named_and_nothing_changes() -> None:
    prefs = d.MemberPreferences(ORG, MEMBER)
    with pytest.raises(InvalidInput) as refused:
        d.change_preferences(prefs, d.PreferencesChange(
            email="a@b", language="fr", time_zone="../etc/passwd", digest_hour=-1,
            lead_minutes=d.MAX_LEAD_MINUTES + 1,
        ))
    assert {p.path for p in refused.value.problems} == {
        ("email",), ("language",), ("timeZone",), ("digestHour",), ("leadMinutes",)
    }


def test_a_change_keeps_what_it_does_not_name() -> None:
    prefs = d.change_preferences(d.MemberPreferences(ORG, MEMBER), d.PreferencesChange(
        email=" ola@example.pl ", language="pl", time_zone="Europe/Warsaw",
        channels={d.NotificationKind.LEAD_ASSIGNED: d.Channels(in_app=False, email=True)},
    ))
    changed = d.change_preferences(prefs, d.PreferencesChange(lead_minutes=5))
    assert (changed.email, changed.language, changed.time_zone) == (
        "ola@example.pl", "pl", "Europe/Warsaw"
    )
    assert changed.channels_of(d.NotificationKind.LEAD_ASSIGNED) == d.Channels(False, True)
    assert changed.channels_of(d.NotificationKind.ACTIVITY_DUE) == d.Channels()
    assert (changed.lead_minutes, changed.version) == (5, 2)
    assert d.change_preferences(changed, d.PreferencesChange(no_digest=True)).digest_hour is None


def test_email_retries_back_off_then_give_up() -> None:
    delays = [d.retry_at(n, NOW) for n in range(1, d.MAX_EMAIL_ATTEMPTS + 1)]
    assert [(x - NOW).total_seconds() / 60 for x in delays if x] == [1, 2, 4, 8, 16, 32, 60]
    assert delays[-1] is None


def test_the_digest_is_due_in_the_members_hour_in_their_zone() -> None:
    prefs = d.MemberPreferences(ORG, MEMBER, email="a@example.com", time_zone="Europe/Warsaw",
                                digest_hour=8)
    assert d.digest_due(prefs, NOW) is None  # 09:00 in Warsaw
    early = NOW.replace(hour=7, minute=59)
    assert d.digest_due(prefs, early) == early.date()
    assert d.digest_due(d.MemberPreferences(ORG, MEMBER, digest_hour=8), early) is None
    start, end = d.local_day_bounds(datetime(2026, 3, 29).date(), prefs.zone)
    assert (end - start) == timedelta(hours=23)  # the clocks go forward that night
