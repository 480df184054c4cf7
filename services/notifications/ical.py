"""A member's calendar as iCalendar (RFC 5545, written by the ``icalendar`` library) that
Google Calendar, Outlook and Apple Calendar subscribe to: calls and meetings as events, tasks
and emails as to-dos, each with its deal and client and a link to the deal. An activity keeps
its UID for ever and its SEQUENCE is its version, so a rescheduled one moves; a cancelled one
is left out (it disappears); a completed one is marked done."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event, Todo

from services.notifications import domain as d


def calendar(entries: list[d.FeedEntry], base_url: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Open CRM//Calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "CRM")
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    for entry in entries:
        cal.add_component(_component(entry, base_url, now))
    return bytes(cal.to_ical())


def _component(entry: d.FeedEntry, base_url: str, now: datetime) -> Event | Todo:
    activity = entry.activity
    link = f"{base_url}/deals/{activity.opportunity_id}"
    lines = [f"Deal: {entry.deal}" if entry.deal else "",
             f"Client: {entry.client}" if entry.client else "", link]
    done = activity.status == "done"
    if activity.kind in d.EVENT_KINDS:
        component: Event | Todo = Event()
        component.add("dtstart", activity.due_at)
        component.add("dtend", activity.due_at + d.EVENT_LENGTH[activity.kind])
        component.add("summary", f"✓ {activity.subject}" if done else activity.subject)
        component.add("status", "CONFIRMED")
        component.add("transp", "OPAQUE")
    else:
        component = Todo()
        component.add("due", activity.due_at)
        component.add("summary", activity.subject)
        component.add("status", "COMPLETED" if done else "NEEDS-ACTION")
        if done:
            component.add("completed", activity.completed_at or activity.due_at)
            component.add("percent-complete", 100)
    component.add("uid", f"{activity.id}@crm")
    component.add("sequence", activity.version)
    component.add("dtstamp", now)
    component.add("description", "\n".join(line for line in lines if line))
    component.add("url", link)
    component.add("categories", [activity.kind.upper()])
    return component
