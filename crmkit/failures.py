"""Which failures are the infrastructure's, not the request's or the event's.

A dependency that is down, overloaded or racing us (PostgreSQL unreachable or restarting, a
serialization failure, a deadlock, a timeout, the bus unreachable) says nothing about the
work itself: the same work succeeds once the dependency is back. Consumers wait and retry
such failures without counting them against an event (:mod:`crmkit.inbox`), and the API
answers them as a retryable ``SERVICE_UNAVAILABLE`` error (:mod:`crmkit.graphql`).
"""

from __future__ import annotations

import errno
import socket

from nats.errors import Error as NatsError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATE classes and codes that a retry of the same work can cure.
TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57P", "58")  # connection, resources, shutdown, IO
TRANSIENT_SQLSTATES = frozenset({
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57014",  # query_canceled (statement timeout)
})
NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EPIPE,
    errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN,
})


def is_transient(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is a failure of a dependency, not of the work."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_itself(current):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (
            current.__cause__ or current.__context__
        )
    return False


def _transient_itself(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror
                  | PoolTimeout | NatsError):
        return True
    if type(error) is OSError and (
        error.errno in NETWORK_ERRNOS
        # asyncio's connect to every address of a host failed, each for its own reason
        or (error.errno is None and str(error).startswith("Multiple exceptions"))
    ):
        return True
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(state, str) and (
        state in TRANSIENT_SQLSTATES or state.startswith(TRANSIENT_SQLSTATE_CLASSES)
    ):
        return True
    # asyncpg's own errors for a connection that died or is being closed under a query.
    module = type(error).__module__
    return module.startswith("asyncpg") and type(error).__name__ in {
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CannotConnectNowError",
        "TooManyConnectionsError",
    }


def is_bad_value(error: BaseException) -> bool:
    """True when the database refused a value the request carried (a date past year 9999, a
    number out of range, too many values for one statement): the request's fault, answered
    as bad input, never as the database's text."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state.startswith("22"):  # data exception
            return True
        if "number of query arguments cannot exceed" in str(current):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (
            current.__cause__ or current.__context__
        )
    return False
