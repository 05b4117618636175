"""Which session a request's view reads through, and whether it already holds
a database snapshot.

The invariant: a tag never describes newer data than the body sent with it.
A query version read in the view's own transaction shares its snapshot; one
read before the view's snapshot begins can only be older than the body. A
registry version, read outside the database, is only trusted when the view's
session holds no snapshot yet, reads at READ COMMITTED, or began its
snapshot after the version was last bumped.
"""

from __future__ import annotations

import time
import typing as t
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction

from ..running import current_flask_app
from ..running import current_request
from ..validators import before_view

#: Where a session keeps when each of its database transactions began, with
#: its connection: one per bind (Flask-SQLAlchemy's binds, a sessionmaker's).
BEGAN = "condpoll_snapshot_began"

#: Where a database connection keeps when its current transaction began, for
#: a session that joins a transaction begun before it (``Session(bind=conn)``).
CONNECTION_BEGAN = "condpoll_transaction_began"

#: Isolation levels at which every statement sees every commit before it.
STATEMENT_LEVELS = frozenset({"READ COMMITTED", "READ UNCOMMITTED", "AUTOCOMMIT"})

SessionSource = Session | scoped_session[t.Any] | Callable[[], Session] | None


def watch_transactions() -> None:
    """Have every Engine's connections and every Session note when each
    transaction begins (a dictionary write per transaction), whether or not
    :func:`~flask_condpoll.sqlalchemy.track_commits` listens to the session:
    a registry version is checked against the view's snapshot either way,
    and a session joining a transaction begun earlier knows how old it is.

    Called when a generator that needs it is declared, and by
    ``track_commits``."""
    if not event.contains(Engine, "begin", _connection_began):
        event.listen(Engine, "begin", _connection_began)
    if not event.contains(Session, "after_begin", record_begin):
        event.listen(Session, "after_begin", record_begin)
        event.listen(Session, "after_transaction_end", forget_begin)


def _connection_began(connection: Connection) -> None:
    connection.info[CONNECTION_BEGAN] = time.time()


def record_begin(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    """``after_begin`` listener: remember when the transaction on this
    connection began: now, or earlier if the session joined one already
    under way (a moment it cannot know counts as long ago)."""
    began = connection.info.get(CONNECTION_BEGAN, 0.0)
    session.info.setdefault(BEGAN, []).append((min(began, time.time()), connection))


def forget_begin(session: Session, transaction: SessionTransaction) -> None:
    """``after_transaction_end`` listener."""
    if transaction.parent is None:
        session.info.pop(BEGAN, None)


def request_session(
    source: SessionSource = None, *, create: bool = False
) -> Session | None:
    """The session the current request's view reads through, if it exists yet.

    :param source: a session, a ``scoped_session`` or a callable returning a
        session; ``None`` means Flask-SQLAlchemy's ``db.session``. A scoped
        session that was not used in this scope yet gives ``None`` (it holds
        no snapshot), unless ``create`` is true.
    """
    if source is None:
        db = current_flask_app().extensions.get("sqlalchemy")
        if db is None:
            return None
        source = db.session
    if isinstance(source, scoped_session):
        return source() if create or source.registry.has() else None
    if isinstance(source, Session):
        return source
    return source()


def snapshot_began(session: Session | None) -> float | None:
    """When the oldest database snapshot ``session`` holds may have begun
    (wall clock), or ``None`` if every statement it runs next, on any of its
    binds, sees every commit so far."""
    if session is None:
        return None
    entries = list(session.info.get(BEGAN, ()))
    # A session bound to a connection shares its transaction before it uses it.
    for bind in (session.bind, *session.binds.values()):
        if isinstance(bind, Connection) and bind.in_transaction():
            entries.append((bind.info.get(CONNECTION_BEGAN, 0.0), bind))
    held = [began for began, connection in entries if holds_snapshot(connection)]
    return min(held, default=None)


def holds_snapshot(connection: Connection) -> bool:
    """Whether ``connection``'s next statement may miss commits made so far."""
    if connection.closed or isolation_level(connection) in STATEMENT_LEVELS:
        return False
    if connection.dialect.name == "sqlite":
        # pysqlite runs reads outside a transaction until the first write.
        dbapi = connection.connection.dbapi_connection
        return bool(getattr(dbapi, "in_transaction", True))
    return True


def isolation_level(connection: Connection) -> str:
    """The connection's isolation level, read once per database connection."""
    level = connection.get_execution_options().get("isolation_level")
    if level:
        return str(level).upper()
    info = connection.connection.info
    level = info.get("condpoll_isolation")
    if level is None:
        level = info["condpoll_isolation"] = str(connection.get_isolation_level())
    return t.cast(str, level).upper()


def reload_before_view(session: Session | None) -> None:
    """Have the view reload what ``session`` loaded before the version was read.

    The version may describe newer data than an object already in the
    session (a ``before_request`` loaded the user, then a commit landed):
    the ORM would hand the view that object as it was, under the new tag. So
    once the view is going to run, every object loaded is expired, but for
    those with changes not flushed yet, and the view reads it again.
    """
    if session is None or not session.identity_map:
        return
    current = current_request()
    if current is not None:
        before_view(current[1], (reload_before_view, session), lambda: _expire(session))


def _expire(session: Session) -> None:
    changed = session.dirty | session.deleted
    for instance in list(session.identity_map.values()):
        if instance not in changed:
            session.expire(instance)
