"""The pipeline's limits and value rules shared by its concepts: names, free text, money."""

from __future__ import annotations

from decimal import Decimal

from crmkit.errors import ProblemCollector
from crmkit.values import SEARCH_MAX, InvalidValue, Money, clean_text

NAME_MAX = 200
STAGE_NAME_MAX = 80
TEXT_MAX = 10_000
SUBJECT_MAX = 300
REASON_LABEL_MAX = 120
MAX_STAGES = 30


def check_name(value: str, path: str, problems: ProblemCollector, limit: int = NAME_MAX) -> None:
    problems.value(path, lambda: clean_text(value, max_length=limit))


def check_money(
    amount: Decimal, currency: str, problems: ProblemCollector, amount_path: str,
    currency_path: str,
) -> None:
    """The kit's money rule (ISO 4217 code, non-negative, the currency's decimal places)."""
    try:
        Money.of(amount, currency)
    except InvalidValue as error:
        for part, message in error.problems:
            problems.add(amount_path if part == "amount" else currency_path, message)


def money(value: Decimal) -> Decimal:
    """Amounts are kept with exactly two decimal places, as stored."""
    return value.quantize(Decimal("0.01"))


def check_text(value: str | None, path: str, problems: ProblemCollector) -> None:
    if value is not None and len(value) > TEXT_MAX:
        problems.add(path, f"must be at most {TEXT_MAX} characters")



TEXT_SEARCH_MAX = SEARCH_MAX
