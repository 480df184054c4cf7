"""The local mail server `crm dev` runs when no CRM_SMTP_URL is given: aiosmtpd keeping every
message it is sent in a Maildir under the data dir (``<data dir>/mail``), so a new user sees
the reminders and digests without any mail server; ``crm mail`` lists them."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

from crmkit.embedded import free_port


def mail_dir(data_dir: Path) -> Path:
    return data_dir / "mail"


class MailSink:
    """An SMTP server on 127.0.0.1 (a free port) writing to ``directory`` (a Maildir)."""

    def __init__(self, directory: Path) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox

        directory.parent.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.controller = Controller(Mailbox(directory), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@dataclass(frozen=True)
class Kept:
    """One message in the sink."""

    key: str
    date: str
    to: str
    subject: str
    body: str


def kept_messages(directory: Path) -> list[Kept]:
    """The sink's messages, oldest first."""
    if not directory.exists():
        return []
    box = mailbox.Maildir(directory, create=False)
    found = []
    for key, message in box.items():
        part = message.get_body(("plain",)) if hasattr(message, "get_body") else None
        payload = (part or message).get_payload(decode=True)
        body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        found.append(Kept(
            key=key,
            date=message.get("Date", ""),
            to=message.get("To", ""),
            subject=str(message.get("Subject", "")),
            body=body,
        ))

    def when(kept: Kept) -> float:
        try:
            return parsedate_to_datetime(kept.date).timestamp()
        except (TypeError, ValueError):
            return 0.0

    return sorted(found, key=when)
