"""The leads subgraph's own refusals and the result unions of its mutations: a domain error
becomes one typed member of the union (:class:`crmkit.results.ErrorUnion`)."""

from __future__ import annotations

from typing import TypeVar

import strawberry

from crmkit import errors
from crmkit.graphql import Forbidden, NotFound, ValidationError, VersionConflict
from crmkit.results import ErrorUnion
from services.leads import domain
from services.leads.schema.types import LeadStatus, gql_id, gql_id_or_none


@strawberry.type(description="The lead matches an existing one; nothing was created.")
class DuplicateLead:
    message: str
    existing_lead_id: strawberry.ID | None = strawberry.field(
        description="null when the existing lead is not one the caller may see."
    )
    matched_on: list[str]


@strawberry.type(description="The member's cap leaves room for `fits` leads; nothing changed.")
class CapExceeded:
    message: str
    member_id: strawberry.ID
    lead_cap: int
    active_leads: int
    requested: int
    fits: int


@strawberry.type(description="The lead's status or ownership does not allow this.")
class InvalidLeadState:
    message: str
    status: LeadStatus


E = TypeVar("E")


def own_error(error: errors.DomainError) -> DuplicateLead | CapExceeded | InvalidLeadState | None:
    if isinstance(error, domain.DuplicateLead):
        return DuplicateLead(message=error.message,
                             existing_lead_id=gql_id_or_none(error.existing_lead_id),
                             matched_on=error.matched_on)
    if isinstance(error, domain.CapExceeded):
        return CapExceeded(message=error.message, member_id=gql_id(error.member_id),
                           lead_cap=error.cap, active_leads=error.active,
                           requested=error.requested, fits=error.fits)
    if isinstance(error, domain.InvalidLeadState):
        return InvalidLeadState(message=error.message, status=domain.LeadStatus(error.status))
    return None


def errors_of(*members: type[E]) -> ErrorUnion[E]:
    """A result union's error members (ValidationError among them): the service's own
    errors the union holds as themselves, the kit's as theirs, anything else as
    ValidationError."""

    def own(error: errors.DomainError) -> E | None:
        mapped = own_error(error)
        return mapped if isinstance(mapped, members) else None

    return ErrorUnion(*members, own=own)


COMMON: ErrorUnion[ValidationError | NotFound | Forbidden] = errors_of(
    ValidationError, NotFound, Forbidden)
CREATE_LEAD: ErrorUnion[DuplicateLead | ValidationError | Forbidden] = errors_of(
    DuplicateLead, ValidationError, Forbidden)
LEAD: ErrorUnion[ValidationError | NotFound | Forbidden | VersionConflict | InvalidLeadState] = (
    errors_of(ValidationError, NotFound, Forbidden, VersionConflict, InvalidLeadState))
ERASE_LEAD: ErrorUnion[ValidationError | NotFound | Forbidden | VersionConflict] = errors_of(
    ValidationError, NotFound, Forbidden, VersionConflict)
CLAIM: ErrorUnion[CapExceeded | InvalidLeadState | ValidationError | NotFound | Forbidden] = (
    errors_of(CapExceeded, InvalidLeadState, ValidationError, NotFound, Forbidden))
CONVERT: ErrorUnion[InvalidLeadState | ValidationError | NotFound | Forbidden] = errors_of(
    InvalidLeadState, ValidationError, NotFound, Forbidden)
ACCOUNT: ErrorUnion[ValidationError | NotFound | Forbidden | VersionConflict] = errors_of(
    ValidationError, NotFound, Forbidden, VersionConflict)
ADMIN: ErrorUnion[ValidationError | Forbidden] = errors_of(ValidationError, Forbidden)
