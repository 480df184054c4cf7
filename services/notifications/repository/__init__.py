"""The notifications repository on PostgreSQL (:class:`services.notifications.ports.
NotificationsRepository`), one module per concept: notifications and preferences
(:mod:`.notifications`), emails and digests (:mod:`.emails`), calendar feeds (:mod:`.feeds`),
webhooks (:mod:`.webhooks`), the read models of other services' events (:mod:`.projections`)
and the reminder passes' reads over them (:mod:`.reminders`). Every method filters on the org
id it is given."""

from __future__ import annotations

from services.notifications.repository.emails import SqlEmails
from services.notifications.repository.feeds import SqlFeeds
from services.notifications.repository.notifications import SqlNotifications
from services.notifications.repository.projections import SqlProjections
from services.notifications.repository.reminders import SqlReminders
from services.notifications.repository.webhooks import SqlWebhooks

__all__ = ["SqlNotificationsRepository"]


class SqlNotificationsRepository(
    SqlNotifications, SqlProjections, SqlReminders, SqlFeeds, SqlWebhooks, SqlEmails
):
    """Over one unit of work's session."""
