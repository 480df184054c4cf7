"""Rows to domain objects, for the rows that more than one part of the repository reads: the
read models' activities and deals, the members' preferences."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from crmkit.rows import build
from services.notifications import domain as d


def preferences_of(row: Row[Any]) -> d.MemberPreferences:
    channels = {
        d.NotificationKind(kind): d.Channels(in_app=bool(c.get("in_app", True)),
                                             email=bool(c.get("email", True)))
        for kind, c in (row.channels or {}).items()
        if kind in d.NotificationKind.__members__
    }
    return build(d.MemberPreferences, row, channels=channels)


def activity_of(row: Row[Any]) -> d.Activity:
    return build(d.Activity, row, version=row.aggregate_version)


def opportunity_of(row: Row[Any]) -> d.Opportunity:
    return build(d.Opportunity, row, version=row.aggregate_version)

