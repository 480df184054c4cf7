"""Money in the reports' answers: totals per currency, converted when rates allow."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from services.reporting.domain.money import CurrencyAmount, MoneyTotals


@strawberry.type(name="ReportMoney")
class ReportMoney:
    currency: str
    amount: Decimal

    @staticmethod
    def of(money: CurrencyAmount) -> ReportMoney:
        return ReportMoney(currency=money.currency, amount=money.amount)


@strawberry.type(
    name="ReportMoneyTotals",
    description="Totals per currency; `converted` is their sum in the org's base currency, "
    "given only when every currency has an exchange rate.",
)
class ReportMoneyTotals:
    by_currency: list[ReportMoney]
    converted: ReportMoney | None

    @staticmethod
    def of(totals: MoneyTotals) -> ReportMoneyTotals:
        return ReportMoneyTotals(
            by_currency=[ReportMoney.of(m) for m in totals.by_currency],
            converted=ReportMoney.of(totals.converted) if totals.converted else None,
        )
