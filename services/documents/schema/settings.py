"""The org's offer settings in GraphQL: read by every member, set by admins. Thin: resolvers
call the handlers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import CommonError
from crmkit.results import answer_mutation
from services.documents import domain as d
from services.documents import merge as m
from services.documents.handlers import settings as h
from services.documents.schema.context import Info, caller, uow


@strawberry.type(description="What the org's offers are made with.")
class OfferSettings:
    validity_days: int = strawberry.field(
        description="Days a new offer is valid unless the rep sets the date (1 to 365).")
    locale: str = strawberry.field(
        description="The locale money, numbers and dates of offers are formatted in (the "
                    "org's language, announced by the pipeline; en until it is, as everywhere).")

    @classmethod
    def of(cls, settings: d.OfferSettings) -> OfferSettings:
        return cls(validity_days=settings.validity_days,
                   locale=settings.locale or m.DEFAULT_LOCALE)


@strawberry.type
class SetOfferSettingsPayload:
    settings: OfferSettings


SetOfferSettingsResult = Annotated[
    SetOfferSettingsPayload | CommonError, strawberry.union("SetOfferSettingsResult")
]


@strawberry.type
class SettingsQuery:
    @strawberry.field(description="The org's offer settings.")  # type: ignore[untyped-decorator]
    async def offer_settings(self, info: Info) -> OfferSettings:
        return OfferSettings.of(await h.offer_settings(h.OfferSettingsQuery(caller(info)),
                                                       uow(info)))


@strawberry.type
class SettingsMutation:
    @strawberry.mutation(description="Admins: how many days a new offer is valid (1 to 365).")  # type: ignore[untyped-decorator]
    async def set_offer_settings(self, info: Info, validity_days: int) -> SetOfferSettingsResult:
        async def run() -> SetOfferSettingsPayload:
            found = await h.set_offer_settings(
                h.SetOfferSettings(caller(info), validity_days), uow(info))
            return SetOfferSettingsPayload(settings=OfferSettings.of(found))

        return await answer_mutation(run())
