"""The org's base currency and exchange rates: what converted totals are given in."""

from __future__ import annotations

from decimal import Decimal

from crmkit.commands import Command, require_admin
from crmkit.errors import ProblemCollector
from services.reporting.domain.money import Rates, check_rate, currency_of
from services.reporting.handlers.common import Work, now


class GetExchangeRates(Command):
    default_base: str


async def exchange_rates(query: GetExchangeRates, uow: Work) -> Rates:
    async with uow:
        return await uow.repo.rates(query.caller.org_id, query.default_base)


class SetExchangeRate(Command):
    currency: str
    rate: Decimal
    default_base: str


async def set_exchange_rate(cmd: SetExchangeRate, uow: Work) -> Rates:
    """One unit of ``currency`` is worth ``rate`` units of the base currency; the org's rates
    after the change."""
    require_admin(cmd.caller, "only an admin sets exchange rates")
    problems = ProblemCollector()
    currency = currency_of(cmd.currency, "currency", problems)
    check_rate(cmd.rate, "rate", problems)
    problems.raise_if_any()
    assert currency is not None
    async with uow:
        await uow.repo.set_exchange_rate(
            cmd.caller.org_id, currency, cmd.rate, cmd.caller.member_id, now()
        )
        rates = await uow.repo.rates(cmd.caller.org_id, cmd.default_base)
        await uow.commit()
    return rates


class SetBaseCurrency(Command):
    currency: str
    default_base: str


async def set_base_currency(cmd: SetBaseCurrency, uow: Work) -> Rates:
    """Rates are relative to the base currency, so changing it clears them; the org's rates
    after the change."""
    require_admin(cmd.caller, "only an admin sets the base currency")
    problems = ProblemCollector()
    currency = currency_of(cmd.currency, "currency", problems)
    problems.raise_if_any()
    assert currency is not None
    org = cmd.caller.org_id
    async with uow:
        if (await uow.repo.base_currency(org) or cmd.default_base) != currency:
            await uow.repo.set_base_currency(org, currency, now())
        rates = await uow.repo.rates(org, cmd.default_base)
        await uow.commit()
    return rates
