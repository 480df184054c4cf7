"""Email out: the morning digests, and the sender that works through the queued emails.

An email is a row before it is a message (queued with the notification it tells of, or as the
member's digest of one day, each keyed by what it is), so it is never made twice. The sender
locks the rows it sends (another process skips them) and records each outcome in the same
transaction: sent; a temporary failure tried again later (1, 2, 4... minutes); a permanent one,
or the last try, failed with its reason, logged and shown to the member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from services.notifications import domain as d
from services.notifications.handlers.common import At, Work
from services.notifications.mail.compose import digest_email
from services.notifications.ports import Mailer, PermanentFailure, TemporaryFailure

log = logging.getLogger("crm.notifications.email")
BATCH = 20


@dataclass(frozen=True)
class Sent:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __bool__(self) -> bool:
        return bool(self.sent or self.retried or self.failed)


async def send_emails(at: At, mailer: Mailer, uow: Work) -> Sent:
    """Send the emails due at ``at.now`` (a batch; truthy when it did any)."""
    sent = retried = failed = 0
    async with uow:
        for email in await uow.repo.due_emails(at.now, BATCH):
            attempts = email.attempts + 1
            try:
                await mailer.send(email.id, email.to_address, email.subject, email.body)
            except TemporaryFailure as error:
                again = d.retry_at(attempts, at.now)
                if again is None:
                    failed += 1
                    log.error("email %s to member %s failed after %d tries: %s",
                              email.id, email.member_id, attempts, error)
                    done = replace(email, status="failed", attempts=attempts,
                                   last_error=str(error))
                else:
                    retried += 1
                    log.warning("email %s: %s; trying again at %s", email.id, error,
                                again.isoformat())
                    done = replace(email, attempts=attempts, next_attempt_at=again,
                                   last_error=str(error))
            except PermanentFailure as error:
                failed += 1
                log.error("email %s to member %s refused: %s", email.id, email.member_id,
                          error)
                done = replace(email, status="failed", attempts=attempts, last_error=str(error))
            else:
                sent += 1
                done = replace(email, status="sent", attempts=attempts, sent_at=at.now,
                               last_error=None)
            await uow.repo.email_done(done)
        await uow.commit()
    return Sent(sent, retried, failed)


async def queue_digests(at: At, uow: Work) -> int:
    """Queue the digest of every member whose digest hour it is in their time zone and who
    has none for their local day yet; an empty digest is not sent."""
    queued = 0
    async with uow:
        for prefs in await uow.repo.digest_members(at.now):
            day = d.digest_due(prefs, at.now)
            if day is None or prefs.email is None:
                continue
            start, end = d.local_day_bounds(day, prefs.zone)
            digest = replace(await uow.repo.digest(prefs, start, end, at.now), day=day)
            if digest.empty:
                continue
            subject, body = digest_email(digest, prefs, at.base_url)
            queued += await uow.repo.add_emails([d.Email(
                id=d.digest_id(prefs.org_id, prefs.member_id, day),
                org_id=prefs.org_id, member_id=prefs.member_id, kind=d.DIGEST,
                to_address=prefs.email, subject=subject, body=body, created_at=at.now,
                next_attempt_at=at.now,
            )])
        await uow.commit()
    return queued
