"""Bus subscribers of the notifications service: thin adapters over the handlers, and the
periodic reminder pass."""

from __future__ import annotations

from crmkit.contracts import Envelope
from crmkit.runtime import ServiceRuntime
from crmkit.uow import UnitOfWork
from services.notifications import events
from services.notifications.domain import Clock
from services.notifications.handlers.projections import apply_event
from services.notifications.handlers.reminders import RemindersDone, remind
from services.notifications.ports import NotificationsRepository
from services.notifications.settings import NotificationsSettings


def register(
    runtime: ServiceRuntime[NotificationsRepository],
    settings: NotificationsSettings,
    clock: Clock,
) -> None:
    async def on_event(envelope: Envelope, uow: UnitOfWork[NotificationsRepository]) -> None:
        await apply_event(envelope, clock(), uow)

    runtime.subscribe(events.PIPELINE_CONSUMER, events.PIPELINE_SUBJECT, on_event)
    runtime.subscribe(events.LEADS_CONSUMER, events.LEADS_SUBJECT, on_event)
    runtime.subscribe(events.OFFERS_CONSUMER, events.OFFERS_SUBJECT, on_event)

    async def reminders() -> RemindersDone:
        return await remind(clock(), runtime.uow())

    runtime.every(
        "reminders", reminders, interval=settings.notifications_tick_seconds, busy_interval=0.5
    )
