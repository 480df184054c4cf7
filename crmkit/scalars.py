"""``Date`` and ``DateTime`` as every subgraph parses them: strawberry's, accepting the same
texts, but a text they refuse is answered with what is expected instead of the parser's own
words (``invalid literal for int() with base 10: b'sqla'``)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper


def _plainly_refused(definition: ScalarDefinition, expected: str) -> ScalarDefinition:
    parse = definition.parse_value
    assert parse is not None

    def parse_value(value: object) -> object:
        try:
            return parse(value)
        except StrawberryInputCoercionError:
            raise StrawberryInputCoercionError(
                f'Value cannot represent a {definition.name}: "{value}". Expected {expected}.'
            ) from None

    return dataclasses.replace(definition, parse_value=parse_value)


SCALARS: dict[object, type | ScalarWrapper | ScalarDefinition] = {
    date: _plainly_refused(DateDefinition, "a date such as 2026-12-07"),
    datetime: _plainly_refused(
        DateTimeDefinition, "a date and time with its offset such as 2026-12-07T09:30:00+01:00"),
}
"""For a schema's ``scalar_overrides``."""
