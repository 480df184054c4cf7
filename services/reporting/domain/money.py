"""Money in reports: totals kept per currency, and converted to the org's base currency with
an admin's exchange rates when every currency involved has one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from crmkit.errors import ProblemCollector
from crmkit.values import Currency

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
MAX_RATE = Decimal("1000000000")


@dataclass(frozen=True, slots=True)
class CurrencyAmount:
    """A total of one currency (sums and weighted sums: more places than a price has)."""

    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MoneyTotals:
    """Totals kept per currency; ``converted`` only when every currency has a rate."""

    by_currency: tuple[CurrencyAmount, ...]
    converted: CurrencyAmount | None


@dataclass(frozen=True, slots=True)
class Rates:
    """Exchange rates of one org: one unit of ``currency`` is worth ``rate`` base units."""

    base_currency: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str) -> Decimal | None:
        if currency == self.base_currency:
            return Decimal(1)
        return self.rates.get(currency)


def money_totals(amounts: Mapping[str, Decimal], rates: Rates | None) -> MoneyTotals:
    by_currency = tuple(
        CurrencyAmount(currency, amount)
        for currency, amount in sorted(amounts.items())
        if amount != 0
    )
    converted: CurrencyAmount | None = None
    if rates is not None:
        total = ZERO
        for money in by_currency:
            rate = rates.rate(money.currency)
            if rate is None:
                break
            total += money.amount * rate
        else:
            converted = CurrencyAmount(rates.base_currency, total.quantize(CENT))
    return MoneyTotals(by_currency, converted)


def add_amount(amounts: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    amounts[currency] = amounts.get(currency, ZERO) + amount


def currency_of(code: str, path: str, problems: ProblemCollector) -> str | None:
    """The kit's currency rule, the one every service applies."""
    found = problems.value(path, lambda: Currency.of(code))
    return None if found is None else found.code


def check_rate(rate: Decimal, path: str, problems: ProblemCollector) -> None:
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        problems.add(path, "must be a positive number")
