"""A member's notification settings in GraphQL."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import CommonError
from crmkit.results import answer_mutation
from crmkit.rows import build
from services.notifications import domain as d
from services.notifications.handlers import preferences as h
from services.notifications.schema.context import Info, caller, uow


@strawberry.type
class NotificationChannels:
    kind: d.NotificationKind
    in_app: bool
    email: bool


@strawberry.type(description="How the caller wants to be told.")
class NotificationSettings:
    email: str | None = strawberry.field(description="Where email reminders go (none: none).")
    language: str = strawberry.field(description="`en` or `pl`: emails are written in it.")
    time_zone: str = strawberry.field(description="IANA name, e.g. Europe/Warsaw.")
    digest_hour: int | None = strawberry.field(
        description="Local hour of the morning digest (0-23); null: no digest."
    )
    lead_minutes: int = strawberry.field(
        description="How long before a call or meeting its reminder comes."
    )
    channels: list[NotificationChannels]
    version: int

    @classmethod
    def of(cls, prefs: d.MemberPreferences) -> NotificationSettings:
        return build(cls, prefs, channels=[
            NotificationChannels(kind=k, in_app=prefs.channels_of(k).in_app,
                                 email=prefs.channels_of(k).email)
            for k in d.NotificationKind
        ])


@strawberry.input
class NotificationChannelsInput:
    kind: d.NotificationKind
    in_app: bool
    email: bool


@strawberry.input(description="What to change; a field left out stays as it is.")
class NotificationSettingsInput:
    email: str | None = strawberry.field(default=strawberry.UNSET,
                                         description="null: no email")
    language: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    digest_hour: int | None = strawberry.field(default=strawberry.UNSET,
                                               description="null: no digest")
    lead_minutes: int | None = strawberry.UNSET
    channels: list[NotificationChannelsInput] | None = strawberry.UNSET

    def change(self) -> d.PreferencesChange:
        def given(value: object) -> bool:
            return value is not strawberry.UNSET

        channels = None
        if given(self.channels) and self.channels is not None:
            channels = {c.kind: d.Channels(in_app=c.in_app, email=c.email) for c in self.channels}
        return d.PreferencesChange(
            email=self.email if given(self.email) else None,
            clear_email=given(self.email) and self.email is None,
            language=self.language if given(self.language) else None,
            time_zone=self.time_zone if given(self.time_zone) else None,
            digest_hour=self.digest_hour if given(self.digest_hour) else None,
            no_digest=given(self.digest_hour) and self.digest_hour is None,
            lead_minutes=self.lead_minutes if given(self.lead_minutes) else None,
            channels=channels,
        )


@strawberry.type
class UpdateMyNotificationSettingsPayload:
    settings: NotificationSettings


UpdateMyNotificationSettingsResult = Annotated[
    UpdateMyNotificationSettingsPayload | CommonError,
    strawberry.union("UpdateMyNotificationSettingsResult"),
]


@strawberry.type
class PreferencesQuery:
    @strawberry.field
    async def my_notification_settings(self, info: Info) -> NotificationSettings:
        return NotificationSettings.of(await h.my_preferences(caller(info), uow(info)))


@strawberry.type
class PreferencesMutation:
    @strawberry.mutation
    async def update_my_notification_settings(
        self, info: Info, input: NotificationSettingsInput
    ) -> UpdateMyNotificationSettingsResult:
        async def run() -> UpdateMyNotificationSettingsPayload:
            cmd = h.UpdatePreferences(caller(info), input.change())
            return UpdateMyNotificationSettingsPayload(
                settings=NotificationSettings.of(await h.update_preferences(cmd, uow(info)))
            )

        return await answer_mutation(run())
