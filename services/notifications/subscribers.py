"""Bus subscribers of the notifications service: thin adapters over the handlers, and its
periodic work (the reminder pass, the morning digests, the email sender)."""

from __future__ import annotations

import asyncio

from crmkit.contracts import Envelope
from crmkit.runtime import ServiceRuntime
from crmkit.uow import UnitOfWork
from services.notifications import events
from services.notifications.domain import Clock
from services.notifications.handlers.common import At
from services.notifications.handlers.email import Sent, queue_digests, send_emails
from services.notifications.handlers.projections import apply_event
from services.notifications.handlers.reminders import RemindersDone, remind
from services.notifications.handlers.webhooks import Delivered, send_webhooks
from services.notifications.ports import Mailer, NotificationsRepository
from services.notifications.settings import NotificationsSettings
from services.notifications.webhook_http import HttpWebhookSender


def register(
    runtime: ServiceRuntime[NotificationsRepository],
    settings: NotificationsSettings,
    clock: Clock,
    mailer: Mailer | None,
    sender: HttpWebhookSender,
) -> None:
    def at() -> At:
        return At(clock(), settings.links_url)

    async def on_event(envelope: Envelope, uow: UnitOfWork[NotificationsRepository]) -> None:
        await apply_event(envelope, at(), uow)

    for consumer, subject in events.SUBSCRIPTIONS:
        runtime.subscribe(consumer, subject, on_event)

    async def reminders() -> RemindersDone:
        return await remind(at(), runtime.uow())

    tick = settings.notifications_tick_seconds
    runtime.every("reminders", reminders, interval=tick, busy_interval=0.5)

    async def webhooks() -> Delivered:
        return await send_webhooks(at(), sender, runtime.uow())

    runtime.every("webhooks", webhooks, interval=max(0.5, tick / 20), busy_interval=0.0)

    async def close_sender(stop: asyncio.Event) -> None:
        await stop.wait()
        await sender.close()

    runtime.spawn(close_sender)
    if mailer is None:
        return  # no mail server configured: in-app notifications only

    async def digests() -> int:
        return await queue_digests(at(), runtime.uow())

    async def emails() -> Sent:
        return await send_emails(at(), mailer, runtime.uow())

    runtime.every("digests", digests, interval=max(tick, 30.0), busy_interval=1.0)
    runtime.every("emails", emails, interval=max(1.0, tick / 4), busy_interval=0.2)
