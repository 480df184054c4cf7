"""Errors a use case can answer with; the GraphQL layer turns them into typed results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from crmkit.values import InvalidValue

T = TypeVar("T")


class DomainError(Exception):
    """A rule refused the request; nothing was changed. ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldProblem:
    path: tuple[str, ...]
    message: str


class InvalidInput(DomainError):
    def __init__(self, problems: list[FieldProblem] | FieldProblem) -> None:
        self.problems = [problems] if isinstance(problems, FieldProblem) else list(problems)
        text = "; ".join(f"{'.'.join(p.path)}: {p.message}" for p in self.problems)
        super().__init__(f"invalid input: {text}")

    @classmethod
    def field(cls, path: str, message: str) -> InvalidInput:
        return cls(FieldProblem(tuple(path.split(".")), message))


class NotFoundError(DomainError):
    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"{entity} {entity_id} not found")
        self.entity = entity
        self.entity_id = str(entity_id)


class ForbiddenError(DomainError):
    pass


class VersionConflictError(DomainError):
    def __init__(self, entity: str, expected: int, current: int) -> None:
        super().__init__(
            f"{entity} was changed by someone else: expected version {expected}, "
            f"current version {current}"
        )
        self.expected = expected
        self.current = current


@dataclass
class ProblemCollector:
    """Gathers every problem of an input before refusing it, so the caller sees all at once."""

    problems: list[FieldProblem] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.problems.append(FieldProblem(tuple(path.split(".")), message))

    def value(self, path: str, make: Callable[[], T]) -> T | None:
        """``make()``, or None with its :class:`~crmkit.values.InvalidValue` problems noted
        under ``path`` (a part such as ``amount`` is appended: ``opportunity.amount``)."""
        try:
            return make()
        except InvalidValue as error:
            for part, message in error.problems:
                self.add(".".join(p for p in (path, part) if p), message)
            return None

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)
