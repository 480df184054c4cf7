"""Event contracts shared by producers and consumers.

Every event travels in an :class:`Envelope`; its ``type`` is also its NATS subject,
``crm.<service>.<entity>.<verb-in-past-tense>``. Changes are additive; a breaking change is a
new ``VERSION`` of the event.

Fields use the kit's value types (:mod:`crmkit.values`): a producer cannot build an event its
consumers would refuse, because both validate it with the same rules.
"""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crmkit.values import Money

E = TypeVar("E", bound="Event")

Team = Annotated[str, StringConstraints(max_length=100)]
"""A team's name, as every service keeps it."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def _strings(values: Iterable[object]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, BaseModel):
            yield from _strings(value.__dict__.values())
        elif isinstance(value, dict):
            yield from _strings(value.keys())
            yield from _strings(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            yield from _strings(value)

REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """The payload of one contract event; subclasses set ``TYPE`` (and ``VERSION``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    MONEY: ClassVar[tuple[tuple[str, str], ...]] = ()
    """``(amount field, currency field)`` pairs checked together as :class:`Money` (both may
    be None together)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("TYPE")
        if event_type is not None:
            REGISTRY[event_type] = cls

    @model_validator(mode="after")
    def _money(self) -> Self:
        for amount_field, currency_field in self.MONEY:
            Money.optional(getattr(self, amount_field), getattr(self, currency_field))
        return self

    @model_validator(mode="after")
    def _storable_text(self) -> Self:
        """No text of an event holds NUL or a lone surrogate: no consumer could store it
        (PostgreSQL refuses both), so no producer may publish it."""
        for value in _strings(self.__dict__.values()):
            if "\x00" in value or (not value.isascii() and _SURROGATE.search(value)):
                raise ValueError("text must not contain NUL characters or lone surrogates")
        return self


class Envelope(BaseModel):
    """The wire form of every event on the bus."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    org_id: uuid.UUID
    actor_id: uuid.UUID | None = None
    aggregate_id: uuid.UUID
    aggregate_version: int = 0
    payload: dict[str, Any]

    @property
    def subject(self) -> str:
        return self.type

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        org_id: uuid.UUID,
        aggregate_id: uuid.UUID,
        aggregate_version: int = 0,
        actor_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        return cls(
            id=event_id or uuid.uuid4(),
            type=event.TYPE,
            version=event.VERSION,
            occurred_at=occurred_at or datetime.now(UTC),
            org_id=org_id,
            actor_id=actor_id,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            payload=event.model_dump(mode="json"),
        )

    def parse(self, event_cls: builtins.type[E]) -> E:
        """The typed payload; raises ``ValueError`` on a type mismatch."""
        if self.type != event_cls.TYPE:
            raise ValueError(f"envelope of type {self.type} is not {event_cls.TYPE}")
        return event_cls.model_validate(self.payload)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Envelope:
        return cls.model_validate_json(data)


def subject_service(subject: str) -> str:
    """``crm.pipeline.opportunity.won`` -> ``pipeline``."""
    parts = subject.split(".")
    if len(parts) < 4 or parts[0] != "crm":
        raise ValueError(f"not a CRM event subject: {subject}")
    return parts[1]
