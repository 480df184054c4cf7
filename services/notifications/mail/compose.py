"""An email's subject and text in the member's language and time zone: Jinja2 templates per
language (``templates/<name>.<language>.txt``, blocks ``subject`` and ``body``), dates and
times written by Babel as the language writes them. Pure: the same input, the same email."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.notifications import domain as d

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    undefined=StrictUndefined,
    # Plain-text emails: nothing is HTML, so nothing to escape.
    autoescape=False,  # noqa: S701
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# Formats as the web app writes each language (British English: 2 March 2026, 14:30).
FORMATS = {"en": "en_GB", "pl": "pl_PL"}


def _render(name: str, prefs: d.MemberPreferences, **values: Any) -> tuple[str, str]:
    template = _ENV.get_template(f"{name}.{prefs.language}.txt")
    zone = prefs.zone
    formats = FORMATS[prefs.language]

    def at(moment: datetime) -> str:
        return format_time(moment, "HH:mm", tzinfo=zone, locale=formats)

    def on(moment: datetime) -> str:
        return format_date(moment.astimezone(zone).date(), "medium", locale=formats)

    context = template.new_context({"at": at, "on": on, "prefs": prefs, **values})
    subject = "".join(template.blocks["subject"](context)).strip()
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    return " ".join(subject.split())[:300], body


def notification_email(
    n: d.Notification, prefs: d.MemberPreferences, base_url: str
) -> tuple[str, str]:
    link = f"{base_url}/deals/{n.opportunity_id}" if n.opportunity_id else (
        f"{base_url}/leads/{n.subject_id}" if n.kind is d.NotificationKind.LEAD_ASSIGNED
        else f"{base_url}/notifications"
    )
    return _render("notification", prefs, n=n, kind=n.kind.value, link=link)


def digest_email(
    digest: d.Digest, prefs: d.MemberPreferences, base_url: str
) -> tuple[str, str]:
    day = format_date(digest.day, "full", locale=FORMATS[prefs.language])
    return _render("digest", prefs, digest=digest, day=day, base_url=base_url)
