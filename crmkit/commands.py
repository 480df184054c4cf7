"""What a use case is asked with: a command or query, a frozen dataclass whose first field is
the verified caller::

    class RenameFolder(Command):
        folder_id: uuid.UUID
        name: str

    await rename_folder(RenameFolder(caller, folder_id, "Offers 2026"), uow)

A subclass is a frozen dataclass without saying so (type checkers know it too: PEP 681).
Commands of no caller (a periodic pass, an event's effect) are plain frozen dataclasses.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast, dataclass_transform

from crmkit.auth import Caller
from crmkit.errors import ForbiddenError, NotFoundError

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
class _FrozenDataclass(type):
    """Every class made with it is a frozen dataclass."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]
    ) -> _FrozenDataclass:
        made = super().__new__(mcs, name, bases, namespace)
        return cast(_FrozenDataclass, dataclass(frozen=True)(made))


class Command(metaclass=_FrozenDataclass):
    """A use case's input, asked by a verified caller."""

    caller: Caller


class ById(Command):
    """The entities among ``ids`` the caller may see, by id: the batch read behind entity
    references (one query per type and request, :mod:`crmkit.references`)."""

    ids: Sequence[uuid.UUID]


# The refusals every service's use cases share, each one rule.
def require_admin(caller: Caller, message: str) -> None:
    """Forbidden (with ``message``) unless the caller is an admin."""
    if not caller.is_admin:
        raise ForbiddenError(message)


def require_manager(caller: Caller, message: str) -> None:
    """Forbidden (with ``message``) unless the caller is a manager or an admin."""
    if not caller.is_manager:
        raise ForbiddenError(message)


def must_exist(value: T | None, entity: str, entity_id: object) -> T:
    """``value``, which a read found; NotFound of ``entity`` ``entity_id`` when it found none."""
    if value is None:
        raise NotFoundError(entity, entity_id)
    return value
