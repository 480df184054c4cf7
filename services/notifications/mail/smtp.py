"""Sending one email over SMTP with aiosmtplib. A refusal the server marks permanent (5xx) is
a :class:`PermanentFailure`; anything else (4xx, a connection or TLS problem, a timeout) a
:class:`TemporaryFailure`, worth another try later."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from services.notifications.ports import PermanentFailure, TemporaryFailure
from services.notifications.settings import NotificationsSettings


class SmtpMailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        assert settings.smtp_url is not None
        url = urlsplit(settings.smtp_url)
        self.implicit_tls = url.scheme == "smtps"
        self.host = url.hostname or "localhost"
        self.port = url.port or (465 if self.implicit_tls else 587)
        self.username = unquote(url.username) if url.username else None
        self.password = unquote(url.password) if url.password else None
        self.sender = settings.smtp_sender
        self.starttls = settings.smtp_starttls
        self.timeout = settings.smtp_timeout_seconds

    def message(self, email_id: uuid.UUID, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        # One id per email: a mail client shows a (rare) second delivery as the same message.
        message["Message-ID"] = make_msgid(idstring=str(email_id), domain="crm.invalid")
        message.set_content(body)
        return message

    async def send(self, email_id: uuid.UUID, to: str, subject: str, body: str) -> None:
        message = self.message(email_id, to, subject, body)
        start_tls: bool | None = {"auto": None, "require": True, "off": False}[self.starttls]
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.implicit_tls,
                start_tls=False if self.implicit_tls else start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [e.code for e in error.recipients]
            if all(500 <= c < 600 for c in codes):
                raise PermanentFailure(_describe(error)) from None
            raise TemporaryFailure(_describe(error)) from None
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600:
                raise PermanentFailure(_describe(error)) from None
            raise TemporaryFailure(_describe(error)) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise TemporaryFailure(_describe(error)) from None


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]
