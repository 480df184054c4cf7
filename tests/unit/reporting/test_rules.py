"""Close-range splitting, money totals and access scopes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crmkit.auth import Caller, Role, caller_from_claims
from crmkit.errors import ForbiddenError, InvalidInput
from services.reporting.domain.access import resolve_scope
from services.reporting.domain.dashboard import day_windows
from services.reporting.domain.funnel import split_close_range
from services.reporting.domain.money import Rates, money_totals


def test_whole_months_need_no_partial_segments() -> None:
    split = split_close_range(date(2026, 1, 1), date(2026, 3, 31))
    assert (split.first_month, split.last_month, split.partial) == (
        date(2026, 1, 1), date(2026, 3, 1), ()
    )


def test_open_ended_ranges_reach_the_first_and_last_days_there_are() -> None:
    after = split_close_range(date(2026, 6, 10), date.max)
    assert (after.first_month, after.last_month, after.partial) == (
        date(2026, 7, 1), date(9999, 12, 1), ((date(2026, 6, 10), date(2026, 6, 30)),)
    )
    before = split_close_range(date.min, date(1, 1, 15))
    assert (before.first_month, before.partial) == (None, ((date.min, date(1, 1, 15)),))
    last_days = split_close_range(date(9999, 12, 5), date.max)
    assert (last_days.first_month, last_days.partial) == (None, ((date(9999, 12, 5), date.max),))


def test_ragged_ends_become_partial_segments_around_whole_months() -> None:
    split = split_close_range(date(2026, 1, 15), date(2026, 4, 10))
    assert (split.first_month, split.last_month) == (date(2026, 2, 1), date(2026, 3, 1))
    assert split.partial == (
        (date(2026, 1, 15), date(2026, 1, 31)), (date(2026, 4, 1), date(2026, 4, 10))
    )


def test_a_range_inside_one_month_is_one_partial_segment() -> None:
    split = split_close_range(date(2024, 2, 3), date(2024, 2, 29))
    assert not split.has_whole_months
    assert split.partial == ((date(2024, 2, 3), date(2024, 2, 29)),)


def test_a_reversed_range_is_refused() -> None:
    with pytest.raises(InvalidInput):
        split_close_range(date(2026, 2, 1), date(2026, 1, 1))


def test_currencies_are_never_summed_without_rates() -> None:
    totals = money_totals({"EUR": Decimal(10), "USD": Decimal(5)}, Rates("EUR"))
    assert [(m.currency, m.amount) for m in totals.by_currency] == [
        ("EUR", Decimal(10)), ("USD", Decimal(5))
    ]
    assert totals.converted is None


def test_with_every_rate_known_a_converted_total_is_given() -> None:
    totals = money_totals(
        {"EUR": Decimal(10), "USD": Decimal(5)}, Rates("EUR", {"USD": Decimal("0.9")})
    )
    assert totals.converted is not None
    assert (totals.converted.currency, totals.converted.amount) == ("EUR", Decimal("14.50"))


def caller(role: Role, team: str | None = "alpha") -> Caller:
    return Caller(uuid.uuid4(), uuid.uuid4(), frozenset({role}), team)


def test_a_rep_is_narrowed_to_their_own_figures() -> None:
    rep = caller(Role.REP)
    scope = resolve_scope(rep, None, None)
    assert (scope.org_id, scope.owner_id, scope.team) == (rep.org_id, rep.member_id, None)
    with pytest.raises(ForbiddenError):
        resolve_scope(rep, uuid.uuid4(), None)


def test_a_manager_is_narrowed_to_their_team() -> None:
    manager = caller(Role.MANAGER)
    assert resolve_scope(manager, None, None).team == "alpha"
    someone = uuid.uuid4()
    assert resolve_scope(manager, someone, None).owner_id == someone
    with pytest.raises(ForbiddenError):
        resolve_scope(manager, None, "beta")


def test_an_admin_sees_the_whole_org_and_nothing_else() -> None:
    admin = caller(Role.ADMIN)
    scope = resolve_scope(admin, None, "beta")
    assert (scope.org_id, scope.owner_id, scope.team) == (admin.org_id, None, "beta")


def test_today_is_the_member_s_day_and_overdue_the_pipeline_s_rule() -> None:
    """Issue 13, item 20: "today" was the UTC day, and a task due earlier today was listed
    as due today though the pipeline called it overdue."""
    now = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # 00:30 on Dec 7 in Warsaw
    warsaw = day_windows(now, ZoneInfo("Europe/Warsaw"))
    noon_dec_7 = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    assert warsaw.tasks_due_today.holds("task", noon_dec_7)
    assert not warsaw.tasks_due_today.holds("task", datetime(2026, 12, 7, 23, 0, tzinfo=UTC))
    earlier = now - timedelta(minutes=10)  # 00:20 Warsaw: earlier today, past due
    assert warsaw.tasks_overdue.holds("task", earlier)
    assert not warsaw.tasks_due_today.holds("task", earlier)
    assert not warsaw.tasks_overdue.holds("task", now)  # due this instant: not yet overdue
    # A member in New York: it is still Dec 6 there, so noon UTC on Dec 7 is tomorrow.
    new_york = day_windows(now, ZoneInfo("America/New_York"))
    assert not new_york.tasks_due_today.holds("task", noon_dec_7)
    assert new_york.tasks_due_today.holds("task", datetime(2026, 12, 7, 4, 0, tzinfo=UTC))


def test_a_token_s_time_zone_is_the_member_s_own() -> None:
    claims = {"sub": str(uuid.uuid4()), "org": str(uuid.uuid4()), "roles": ["rep"]}
    assert caller_from_claims({**claims, "zoneinfo": "America/New_York"}).time_zone == (
        "America/New_York")
    for unknown in ("Mars/Olympus", "../../etc/passwd", "", 5):
        assert caller_from_claims({**claims, "zoneinfo": unknown}).time_zone is None
