"""Bumps for a session that joined a transaction begun outside it.

A session bound to a connection that has a transaction open
(``Session(bind=connection)``: a transaction per request or per test) only
ends its part when it commits; the data is committed with the connection's
own transaction, later. Its bumps wait for that commit, and are forgotten if
the connection rolls back.
"""

from __future__ import annotations

import logging
import typing as t
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..registry import VersionRegistry

logger = logging.getLogger("flask_condpoll")

#: In a session's info: weak references to the connections it began on.
BOUND = "condpoll_bound_connections"
#: In a connection's info: bumps waiting for it to commit, then the same
#: bumps repeated once it has (see :func:`defer`).
_DEFERRED = "condpoll_deferred_bumps"
_REPEAT = "condpoll_repeated_bumps"
_listened: weakref.WeakSet[Engine] = weakref.WeakSet()


def open_outer_transactions(session: Session) -> list[Connection]:
    """The connections whose transaction is still open after the session
    committed: it joined a transaction begun outside it
    (``Session(bind=connection)``), which commits later, or never."""
    connections = (reference() for reference in session.info.get(BOUND, ()))
    return [
        connection
        for connection in connections
        if connection is not None
        and not connection.closed
        and connection.in_transaction()
    ]


def defer(connection: Connection, registry: VersionRegistry, names: list[str]) -> None:
    """Bump ``names`` when ``connection``'s own transaction commits.

    SQLAlchemy tells of a commit just before it happens, not after: the bump
    goes out then, and once more when the connection is next used or
    returned to its pool, after the commit. A poll that read the data in
    between gets a tag the second bump makes stale.
    """
    connection.info.setdefault(_DEFERRED, []).append((registry, names))
    engine = connection.engine
    if engine not in _listened:
        _listened.add(engine)
        event.listen(engine, "commit", _outer_committing)
        event.listen(engine, "rollback", _outer_rolled_back)
        event.listen(engine, "begin", _outer_committed)
        event.listen(engine.pool, "checkin", _checked_in)


def _outer_committing(connection: Connection) -> None:
    deferred = connection.info.pop(_DEFERRED, None)
    if deferred:
        _bump_all(deferred)
        connection.info.setdefault(_REPEAT, []).extend(deferred)


def _outer_rolled_back(connection: Connection) -> None:
    connection.info.pop(_DEFERRED, None)


def _outer_committed(connection: Connection) -> None:
    """``begin`` of the next transaction: the previous one has committed."""
    _bump_all(connection.info.pop(_REPEAT, ()))


def _checked_in(dbapi_connection: t.Any, record: t.Any) -> None:
    _bump_all(record.info.pop(_REPEAT, ()))


def _bump_all(deferred: t.Iterable[tuple[VersionRegistry, list[str]]]) -> None:
    for registry, names in deferred:
        try:
            registry.bump(names)
        except Exception:  # never fail the user's commit or checkin
            logger.exception("Could not bump %s.", names)
