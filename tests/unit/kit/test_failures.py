"""Which failures pause a consumer (and answer SERVICE_UNAVAILABLE) and which are the work's."""

from __future__ import annotations

import asyncpg
import pytest
from nats.errors import ConnectionClosedError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from crmkit.failures import is_transient


def wrapped(orig: BaseException, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(),
        OSError("Multiple exceptions: [Errno 111] ..., [Errno 99] ..."),
        TimeoutError(),
        ConnectionClosedError(),
        wrapped(asyncpg.SerializationError("could not serialize access")),
        wrapped(asyncpg.DeadlockDetectedError("deadlock detected")),
        wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
        wrapped(asyncpg.AdminShutdownError("terminating connection")),
        wrapped(asyncpg.QueryCanceledError("canceling statement due to statement timeout")),
        wrapped(asyncpg.TooManyConnectionsError("too many clients")),
        wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed")),
        wrapped(RuntimeError("any"), invalidated=True),
        OperationalError("x", {}, ConnectionRefusedError(111, "refused")),
    ],
    ids=repr,
)
def test_a_dependency_failure_is_transient(error: BaseException) -> None:
    assert is_transient(error)


def test_a_cause_is_looked_through() -> None:
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError as cause:
            raise RuntimeError("while projecting") from cause
    except RuntimeError as error:
        assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("projection exploded"),
        ValueError("bad amount"),
        KeyError("Opportunity"),
        FileNotFoundError(2, "missing"),
        IntegrityError("INSERT", {}, asyncpg.UniqueViolationError("duplicate key")),
        wrapped(asyncpg.CharacterNotInRepertoireError("invalid byte sequence: 0x00")),
        wrapped(asyncpg.DatetimeFieldOverflowError("date value out of range")),
        # asyncpg refuses a statement of too many arguments itself: the request's fault.
        wrapped(asyncpg.InterfaceError("the number of query arguments cannot exceed 32767")),
    ],
    ids=repr,
)
def test_an_error_of_the_work_itself_is_not(error: BaseException) -> None:
    assert not is_transient(error)
