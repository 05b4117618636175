"""Running a version query where it cannot describe newer data than the view.

If the view's session already has a transaction open (a ``before_request``
loaded the user, say), the query runs on that session's connection: under
REPEATABLE READ and SERIALIZABLE it then reads the view's own snapshot. Else
it runs on a pooled connection of its own, before the view's snapshot
begins, so the view can only see the same data or newer. Writes always use
the session's transaction, and lock what they check until the write commits
(``FOR UPDATE`` for a row, and see :mod:`.guards`). How a statement runs on
a connection is :mod:`.fetching`'s.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..core.preconditions import SAFE_METHODS
from ..running import current_flask_app
from ..running import current_request
from ..validators import request_cache
from .fetching import fetch_on
from .fetching import fetch_one
from .guards import ChangedWhileChecking
from .guards import guarded
from .guards import is_conflict
from .guards import lock
from .precision import check_precision
from .snapshots import holds_snapshot
from .snapshots import reload_before_view
from .snapshots import request_session
from .snapshots import snapshot_began

#: What a version query runs on: an Engine, or a callable returning an Engine,
#: a Connection, a Session or a ``scoped_session``; ``None`` is
#: Flask-SQLAlchemy's session. An Engine, returned or not, reads in
#: Flask-SQLAlchemy's session when it uses that engine for the table.
Bind = Engine | Session | scoped_session[t.Any] | Callable[[], t.Any] | None


def request_cache_and_write() -> tuple[dict[object, t.Any] | None, bool]:
    """This request's cache and whether it is a write; ``(None, False)``
    outside a request (a generator called from a CLI command or a test)."""
    current = current_request()
    if current is None:
        return None, False
    return request_cache(current[1]), current[0] not in SAFE_METHODS


def can_see_new_commits(bind: Bind, table: sa.Table) -> bool:
    """Whether a version query run now could see commits made from now on: a
    held poll re-runs it; an open REPEATABLE READ snapshot never would."""
    session, _ = _resolve(bind, table, False)
    return session is None or snapshot_began(session) is None


def run_version_query(
    bind: Bind,
    table: sa.Table,
    statement: Select[t.Any],
    params: Mapping[str, t.Any],
    *,
    write: bool = False,
    locked: Select[t.Any] | None = None,
    guard: t.Sequence[str] = (),
    timestamps: t.Sequence[t.Any] = (),
) -> tuple[t.Any, ...] | None:
    """Run a version query where the invariant holds (see the module docs).

    :param bind: see :data:`Bind`.
    :param table: the table it reads, to pick Flask-SQLAlchemy's engine.
    :param write: the request is a write: run in the session's transaction.
    :param locked: the statement's ``FOR UPDATE`` form, used for writes.
    :param guard: what the version describes, locked for a write with a
        precondition (see :mod:`.guards`).
    :param timestamps: its ``updated_at`` columns, checked for whole seconds
        (see :mod:`.precision`).
    :raises ChangedWhileChecking: (412) when the data changed while a guarded
        write's version was being read.
    """
    session, target = _resolve(bind, table, write)
    check_precision(statement, target.dialect, timestamps)
    reload_before_view(session)
    if session is not None and (write or session.in_transaction()):
        connection = session.connection(bind_arguments={"clause": table})
        if write:
            names = guard if guard and guarded(guard) else ()
            return read_for_write(connection, table, statement, locked, params, names)
        return fetch_on(connection, statement, params)
    if isinstance(target, Connection):
        return fetch_on(target, statement, params)
    return fetch_one(target, statement, params)


def _resolve(
    bind: Bind, table: sa.Table, write: bool
) -> tuple[Session | None, Engine | Connection]:
    """The view's session (if one exists already, or for a write) and what to
    query otherwise."""
    if bind is None:
        db = current_flask_app().extensions.get("sqlalchemy")
        if db is None:
            raise RuntimeError(
                "No 'bind' was given and the app has no Flask-SQLAlchemy"
                " extension: pass bind=engine or bind=lambda: session."
            )
        engine: Engine = db.engines[table.metadata.info.get("bind_key")]
        return request_session(create=write), engine
    if isinstance(bind, Engine):
        flask_sqlalchemy = "sqlalchemy" in current_flask_app().extensions
        session = request_session(create=write) if flask_sqlalchemy else None
        if session is not None and session.get_bind(clause=table) is not bind:
            session = None
        return session, bind
    target = bind if isinstance(bind, Session | scoped_session) else bind()
    if isinstance(target, Engine):
        return _resolve(target, table, write)
    if isinstance(target, Session | scoped_session):
        session = request_session(target, create=write)
        engine = t.cast(Engine, target.get_bind(clause=table))
        if isinstance(engine, Connection):
            return None, engine
        if session is None and isinstance(target, scoped_session):
            return None, engine
        return session, engine
    if isinstance(target, Connection):
        return None, target
    raise TypeError(
        f"bind returned {target!r}: return an Engine, a Connection or a Session."
    )


def read_for_write(
    connection: Connection,
    table: sa.Table,
    statement: Select[t.Any],
    locked: Select[t.Any] | None,
    params: Mapping[str, t.Any],
    names: t.Sequence[str],
) -> tuple[t.Any, ...] | None:
    """Read a write's version in its transaction, locked until it commits;
    for a guarded write (``names``), also check that it is still current."""
    try:
        lock(connection, table, names)
        row = fetch_on(connection, statement if locked is None else locked, params)
        # The snapshot may predate the lock: compare with the latest commit.
        if (
            names
            and connection.dialect.name != "sqlite"
            and holds_snapshot(connection)
            and fetch_latest(connection.engine, statement, params) != row
        ):
            raise ChangedWhileChecking()
    except Exception as exc:
        if names and is_conflict(exc):
            raise ChangedWhileChecking() from exc
        raise
    return row


def fetch_latest(
    engine: Engine, statement: Select[t.Any], params: Mapping[str, t.Any]
) -> tuple[t.Any, ...] | None:
    """The first row as last committed, read without locks: at READ COMMITTED,
    where MariaDB's SERIALIZABLE would wait for this very write's locks."""
    with engine.connect() as connection:
        connection.execution_options(isolation_level="READ COMMITTED")
        row = connection.execute(statement, params).first()
        return None if row is None else tuple(row)
