"""`crm dev`'s local mail server keeps what it is sent under the data dir, and `crm mail`
lists it."""

from __future__ import annotations

import uuid
from pathlib import Path

from typer.testing import CliRunner

from crm.cli import app as cli
from crm.mailsink import MailSink, kept_messages, mail_dir
from crmkit.settings import DEV_JWT_SECRET
from services.notifications.mail.smtp import SmtpMailer
from services.notifications.settings import NotificationsSettings


async def test_the_sink_keeps_messages_and_crm_mail_lists_them(tmp_path: Path) -> None:
    sink = MailSink(mail_dir(tmp_path))
    sink.start()
    try:
        settings = NotificationsSettings(
            smtp_url=sink.url, smtp_starttls="off", jwt_secret=DEV_JWT_SECRET
        )
        await SmtpMailer(settings).send(uuid.uuid4(), "ola@example.pl", "Przypomnienie: ACME",
                                        "Treść wiadomości\n")
    finally:
        sink.stop()
    [kept] = kept_messages(mail_dir(tmp_path))
    assert (kept.to, kept.subject) == ("ola@example.pl", "Przypomnienie: ACME")
    assert kept.body == "Treść wiadomości\n"

    listed = CliRunner().invoke(cli, ["mail", "--show"], env={"CRM_DATA_DIR": str(tmp_path)})
    assert listed.exit_code == 0, listed.output
    assert "to ola@example.pl  Przypomnienie: ACME" in listed.output
    assert "Treść wiadomości" in listed.output
    empty = CliRunner().invoke(cli, ["mail"], env={"CRM_DATA_DIR": str(tmp_path / "none")})
    assert "no mail yet" in empty.output
