"""Commit-driven versions: what a session's transaction writes is recorded, and
the registry is bumped once the outermost transaction has committed.

Recorded: ORM flushes (with the partitions of the rows they touch), ORM bulk
statements, the legacy bulk methods (``bulk_save_objects`` and friends),
association tables written through relationships, Core ``insert()``,
``update()`` and ``delete()`` run through the session or its connection, and
the tables a delete reaches through ``ON DELETE CASCADE`` foreign keys. A
savepoint's release publishes nothing; a rollback of the outer transaction
forgets everything. Listeners never raise: a row whose partition cannot be
told bumps its whole table.
"""

from __future__ import annotations

import logging
import typing as t
import weakref

import sqlalchemy as sa
from flask import current_app
from flask import Flask
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.sql.dml import UpdateBase

from ..registry import VersionRegistry
from ..state import get_state
from .names import cascades
from .names import partition_name
from .names import partition_value
from .names import partitions
from .names import whole_table
from .outer import BOUND
from .outer import defer
from .outer import open_outer_transactions
from .snapshots import watch_transactions

logger = logging.getLogger("flask_condpoll")

_PENDING = "condpoll_changed_tables"
_BUMPED = "condpoll_bumped_registries"
_CONNECTIONS = "condpoll_connections"
_SESSION = "condpoll_session"
_FLUSHING = "condpoll_flushing"
_listened: weakref.WeakSet[Engine] = weakref.WeakSet()


def track_commits(
    target: Session | type[Session] | t.Any,
    *,
    registry: VersionRegistry | None = None,
    app: Flask | None = None,
) -> None:
    """Bump the registry for every table a commit changed.

    Listens to ``target`` (Flask-SQLAlchemy's ``db.session``, a
    ``sessionmaker``, a ``scoped_session``, a Session class or instance).
    Everything the session writes is recorded (see the module docs) and
    bumped **after** the outermost transaction commits: never at a
    savepoint's release, never on rollback.

    Not seen: ``text()`` statements, Core statements on a connection the
    session does not use, triggers, other programs. Call
    :meth:`CondPoll.touch <flask_condpoll.CondPoll.touch>` after those.

    :param registry: the registry to bump; defaults to the app's.
    :param app: the app whose registry a commit bumps when it happens
        outside an app context (a background thread, a worker script);
        defaults to the app whose context is active when this is called.
        Inside an app context, that app's registry is bumped.
    """
    if app is None and has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    owner = None if app is None else weakref.ref(app)
    watch_transactions()
    event.listen(target, "after_begin", _began)
    event.listen(target, "before_flush", _flush_begins)
    event.listen(target, "after_flush", _record_flush)
    event.listen(target, "do_orm_execute", _record_orm_statement)
    event.listen(
        target, "after_commit", lambda session: _publish(session, registry, owner)
    )
    event.listen(target, "after_transaction_end", _ended)


def _pending(session: Session) -> set[str]:
    return t.cast(set[str], session.info.setdefault(_PENDING, set()))


def _began(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    info = connection.info  # the database connection's: outlives this Connection
    info[_SESSION] = weakref.ref(session)
    session.info.setdefault(_CONNECTIONS, []).append(info)
    session.info.setdefault(BOUND, []).append(weakref.ref(connection))
    engine = connection.engine
    if engine not in _listened:
        _listened.add(engine)
        event.listen(engine, "after_execute", _record_statement)


def _flush_begins(session: Session, flush_context: t.Any, instances: t.Any) -> None:
    session.info[_FLUSHING] = True


def _record_flush(session: Session, flush_context: t.Any) -> None:
    session.info.pop(_FLUSHING, None)
    pending = _pending(session)
    for instances, kind in (
        (session.new, "new"),
        (session.dirty, "dirty"),
        (session.deleted, "deleted"),
    ):
        for instance in instances:
            state: t.Any = sa.inspect(instance)
            for table in state.mapper.tables:
                name = table.fullname
                pending.add(name)
                try:
                    if kind == "deleted":
                        for child in cascades(table):
                            pending.update(whole_table(child))
                    for column, type_ in partitions.get(name, {}).items():
                        pending.update(_partitions_of(state, name, column, type_, kind))
                except Exception:  # never fail the user's commit
                    logger.exception("Could not tell which rows of %s changed.", name)
                    pending.update(whole_table(name))


def _partitions_of(
    state: t.Any, table: str, column: str, type_: t.Any, kind: str
) -> set[str]:
    """The partitions a changed row was in and is in now, read without loading
    anything; the whole table when either is unknown."""
    known = state.dict
    history = state.attrs[column].history
    values: list[object] = []
    if kind == "deleted":
        committed = state.committed_state
        if column in committed:
            values.append(committed[column])
        elif column in known:
            values.append(known[column])
        else:
            return set(whole_table(table))
    elif history.has_changes():
        values.extend(history.added)
        if history.deleted:
            values.extend(history.deleted)
        elif kind == "dirty":
            return set(whole_table(table))  # the old value was never loaded
    elif column in known:
        values.append(known[column])
    else:
        return set(whole_table(table))
    return {
        partition_name(table, column, partition_value(type_, value)) for value in values
    }


def _record_orm_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if isinstance(table, sa.Table):
            changes_keys = state.is_delete or state.is_update
            _record_table(
                _pending(state.session), table, bulk=True, delete=changes_keys
            )


def _record_statement(
    connection: Connection, statement: t.Any, *args: t.Any, **kwargs: t.Any
) -> None:
    """Core ``after_execute``: DML run on a connection a tracked session uses."""
    if not isinstance(statement, UpdateBase):
        return
    reference = connection.info.get(_SESSION)
    session = None if reference is None else reference()
    table = getattr(statement, "table", None)
    if session is None or not isinstance(table, sa.Table):
        return
    # Inside a flush, after_flush knows the rows and their partitions.
    flushing = _FLUSHING in session.info
    _record_table(_pending(session), table, bulk=not flushing, delete=not flushing)


def _record_table(
    pending: set[str], table: sa.Table, *, bulk: bool, delete: bool
) -> None:
    if bulk:
        pending.update(whole_table(table.fullname))
    else:
        pending.add(table.fullname)
    if delete:
        for child in cascades(table):
            pending.update(whole_table(child))


def _publish(
    session: Session,
    registry: VersionRegistry | None,
    owner: weakref.ref[Flask] | None,
) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the outer transaction may still roll back
    # Every track_commits() listening to this session publishes (to its own
    # app's registry, outside an app context); each registry is bumped once.
    names = session.info.get(_PENDING)
    if not names:
        return
    if registry is None:
        app = current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]
        app = app or (None if owner is None else owner())
        if app is None:
            if session.info.get(_BUMPED):
                return  # another track_commits() of this session knew its app
            logger.warning(
                "A commit changed %s outside an app context: no registry to bump."
                " Call track_commits() inside an app context, or pass it app=.",
                sorted(names),
            )
            return
        registry = get_state(app).registry
    bumped: list[VersionRegistry] = session.info.setdefault(_BUMPED, [])
    if registry is not None and not any(r is registry for r in bumped):
        bumped.append(registry)
        outer = open_outer_transactions(session)
        if outer:
            for connection in outer:
                defer(connection, registry, sorted(names))
        else:
            registry.bump(sorted(names))


def _ended(session: Session, transaction: SessionTransaction) -> None:
    # Runs after after_commit: what was committed is published by now, and
    # whatever is left was rolled back. A savepoint
    # ending leaves the outer transaction open, and its rows may still commit.
    if transaction.parent is not None:
        return
    session.info.pop(_PENDING, None)
    session.info.pop(_BUMPED, None)
    session.info.pop(_FLUSHING, None)  # a flush that failed
    session.info.pop(BOUND, None)
    for info in session.info.pop(_CONNECTIONS, ()):
        info.pop(_SESSION, None)
