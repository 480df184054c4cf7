"""Exchange rates: the org's base currency and the rates of other currencies to it."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Annotated

import strawberry

from crmkit.graphql import Forbidden, ValidationError
from crmkit.results import ErrorUnion, answer_query
from services.reporting.domain.money import Rates
from services.reporting.handlers import rates as h
from services.reporting.schema.context import Info, caller, default_base, read_uow, uow


@strawberry.type
class ExchangeRate:
    currency: str
    rate: Decimal


@strawberry.type
class ExchangeRates:
    base_currency: str
    rates: list[ExchangeRate]

    @staticmethod
    def of(rates: Rates) -> ExchangeRates:
        return ExchangeRates(
            base_currency=rates.base_currency,
            rates=[ExchangeRate(currency=c, rate=r) for c, r in sorted(rates.rates.items())],
        )


ExchangeRatesResult = Annotated[
    ExchangeRates | ValidationError | Forbidden, strawberry.union("ExchangeRatesResult")
]
RATES_ERRORS: ErrorUnion[ValidationError | Forbidden] = ErrorUnion(ValidationError, Forbidden)


@strawberry.type
class RatesQuery:
    @strawberry.field
    async def exchange_rates(self, info: Info) -> ExchangeRates:
        rates = h.exchange_rates(h.GetExchangeRates(caller(info), default_base(info)),
                                 read_uow(info))
        return ExchangeRates.of(await answer_query(rates))


@strawberry.type
class RatesMutation:
    @strawberry.mutation(description="Admin: one unit of `currency` is worth `rate` units of "  # type: ignore[untyped-decorator]
                                     "the org's base currency.")
    async def set_exchange_rate(
        self, info: Info, currency: str, rate: Decimal
    ) -> ExchangeRatesResult:
        change = h.set_exchange_rate(
            h.SetExchangeRate(caller(info), currency, rate, default_base(info)), uow(info)
        )
        return await RATES_ERRORS.answer(_rates(change))

    @strawberry.mutation(description="Admin: the currency converted totals are given in; "  # type: ignore[untyped-decorator]
                                     "changing it clears the exchange rates.")
    async def set_base_currency(self, info: Info, currency: str) -> ExchangeRatesResult:
        change = h.set_base_currency(
            h.SetBaseCurrency(caller(info), currency, default_base(info)), uow(info)
        )
        return await RATES_ERRORS.answer(_rates(change))


async def _rates(change: Awaitable[Rates]) -> ExchangeRates:
    return ExchangeRates.of(await change)
