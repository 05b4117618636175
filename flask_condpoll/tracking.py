"""Commit-driven versions: session events bump a registry after each commit,
and :func:`table_version` reads it without touching the database.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction

from .extension import CondPollState
from .registry import logger
from .registry import RegistryUnavailable
from .registry import VersionRegistry


def table_names(target: str | sa.Table | type) -> list[str]:
    """The registry names for a table name, a Table or a mapped class."""
    if isinstance(target, str):
        return [target]
    if isinstance(target, sa.Table):
        return [target.fullname]
    mapper: t.Any = sa.inspect(target)
    return [table.fullname for table in mapper.tables]


#: Registry name suffix bumped by changes whose partition is unknown (bulk
#: statements, ``touch``): every partitioned version reads it too.
ANY_PARTITION = "|*"

# Table name -> the columns some table_version() partitions it by.
_partitions: dict[str, set[str]] = {}


def partition_name(table: str, column: str, value: object) -> str:
    """The registry name of one partition of a table."""
    return f"{table}|{column}={value}"


class TableVersion:
    """A version generator reading the registry. See :func:`table_version`."""

    def __init__(
        self,
        names: tuple[str, ...],
        fallback: Callable[..., t.Any] | None,
        partition: tuple[str, Callable[..., t.Any]] | None = None,
    ) -> None:
        self.names = names
        self.fallback = fallback
        self.partition = partition

    def __repr__(self) -> str:
        by = "" if self.partition is None else f", by={self.partition[0]}"
        fallback = "" if self.fallback is None else f", fallback={self.fallback!r}"
        return f"table_version({', '.join(self.names)}{by}{fallback})"

    def __call__(self, **kwargs: t.Any) -> t.Any:
        state: CondPollState = current_app.extensions["condpoll"]
        names = self.names
        if self.partition is not None:
            column, key = self.partition
            table = names[0]
            names = (
                table + ANY_PARTITION,
                partition_name(table, column, key(**kwargs)),
            )
        try:
            return state.require_registry().get(names)
        except RegistryUnavailable:
            if self.fallback is None:
                raise
            return ("fallback", self.fallback(**kwargs))


def table_version(
    *targets: str | sa.Table | type,
    by: t.Any = None,
    key: Callable[..., t.Any] | None = None,
    fallback: Callable[..., t.Any] | None = None,
) -> TableVersion:
    """A version generator that reads the commit-driven registry: no query.

    The version changes after every commit that inserted, updated or deleted
    rows of the tables, as seen by :func:`track_commits`. The view's
    arguments and the mixins (the user) are in the tag already, so a 304
    costs no database work at all::

        @app.get("/notifications")
        @conditional(etag=table_version(Notification))
        def notifications(): ...

    A table-wide version changes for every user whenever anyone's row
    changes. Partition it by the column that selects what a view shows, and
    only changes to that partition (and bulk statements, whose rows are
    unknown) change it::

        table_version(Notification, by=Notification.user_id, key=current_user_id)

    :param targets: mapped classes, Tables or table names.
    :param by: a column (attribute) of the one table in ``targets``.
    :param key: called with the view's keyword arguments; returns the value
        of ``by`` that the view shows.
    :param fallback: a generator used while the registry is unreachable, such
        as a :func:`collection_version`; without one, requests render in full.
    :raises TypeError: if ``by`` and ``key`` do not come together, or ``by``
        is used with more than one table.
    """
    names = tuple(name for target in targets for name in table_names(target))
    if by is None and key is None:
        return TableVersion(names, fallback)
    if by is None or key is None:
        raise TypeError("table_version() needs both 'by' and 'key' to partition.")
    if len(names) != 1:
        raise TypeError("table_version(by=...) partitions exactly one table.")
    column = str(sa.inspect(by).key)
    _partitions.setdefault(names[0], set()).add(column)
    return TableVersion(names, fallback, (column, key))


_PENDING = "condpoll_changed_tables"


def track_commits(
    target: Session | type[Session] | t.Any, *, registry: VersionRegistry | None = None
) -> None:
    """Bump the registry for every table a commit changed.

    Listens to ``target`` (Flask-SQLAlchemy's ``db.session``, a
    ``sessionmaker``, a ``scoped_session``, a Session class or instance):
    flushed inserts, updates and deletes, and ORM-enabled bulk ``insert()``,
    ``update()`` and ``delete()``, are recorded and bumped **after** the
    transaction commits, never on rollback.

    Not seen: ``text()`` statements, Core statements on a Connection, other
    programs. Call :meth:`CondPoll.touch <flask_condpoll.CondPoll.touch>`
    after those.

    :param registry: the registry to bump; defaults to the current app's.
    """
    event.listen(target, "after_flush", _record_flush)
    event.listen(target, "do_orm_execute", _record_bulk)
    event.listen(target, "after_commit", lambda session: _bump(session, registry))
    event.listen(target, "after_transaction_end", _forget)


def _pending(session: Session) -> set[str]:
    return t.cast(set[str], session.info.setdefault(_PENDING, set()))


def _record_flush(session: Session, flush_context: t.Any) -> None:
    pending = _pending(session)
    for instances in (session.new, session.dirty, session.deleted):
        for instance in instances:
            for table in table_names(type(instance)):
                pending.add(table)
                for column in _partitions.get(table, ()):
                    pending.update(_partitions_of(instance, table, column))


def _partitions_of(instance: object, table: str, column: str) -> set[str]:
    """The partitions a changed row was in and is in now."""
    attribute = sa.inspect(instance).attrs[column]
    values = {attribute.value, *attribute.history.deleted}
    return {partition_name(table, column, value) for value in values}


def _record_bulk(state: ORMExecuteState) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        if isinstance(table, sa.Table):
            _pending(state.session).update(
                (table.fullname, table.fullname + ANY_PARTITION)
            )


def _bump(session: Session, registry: VersionRegistry | None) -> None:
    names = session.info.pop(_PENDING, None)
    if not names:
        return
    if registry is None:
        if not has_app_context():
            logger.warning(
                "A commit changed %s outside an app context: no registry to bump."
                " Pass registry= to track_commits().",
                sorted(names),
            )
            return
        state: CondPollState = current_app.extensions["condpoll"]
        registry = state.registry
    if registry is not None:
        registry.bump(sorted(names))


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Runs after after_commit: whatever is left was rolled back. A savepoint
    # ending leaves the outer transaction open, and its rows may still commit.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
