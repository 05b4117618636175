"""Versions read from the commit-driven registry: no query on a 304."""

from __future__ import annotations

import typing as t
from collections.abc import Callable

import sqlalchemy as sa

from ..registry import RegistryUnavailable
from ..running import current_state
from ..validators import NoValidators
from .guards import guarded_write
from .names import ANY_PARTITION
from .names import partition_name
from .names import partition_value
from .names import partitions
from .names import table_names
from .snapshots import reload_before_view
from .snapshots import request_session
from .snapshots import SessionSource
from .snapshots import snapshot_began
from .snapshots import watch_transactions


class SnapshotTooOld(RegistryUnavailable, NoValidators):
    """The view's database snapshot began before the latest bump of a version
    it reads could be trusted: the version may describe data the view
    cannot see."""


class TableVersion:
    """A version generator reading the registry. See :func:`table_version`."""

    #: Why it cannot check a write's precondition (read by the first-request
    #: checks for views that require one).
    cannot_guard_writes = (
        "table_version() cannot check a write's precondition: its version is"
        " bumped after the commit, so a second write with the same If-Match"
        " could pass before the first one's bump lands, and its change would"
        " be lost. Check writes with row_version() (one row) or"
        " collection_version() (the rows the write changes): they lock what"
        " they read until the write commits."
    )

    def __init__(
        self,
        names: tuple[str, ...],
        fallback: Callable[..., t.Any] | None,
        partition: tuple[str, t.Any, Callable[..., t.Any]] | None = None,
        session: SessionSource = None,
    ) -> None:
        watch_transactions()
        self.names = names
        self.fallback = fallback
        self.partition = partition
        self.session = session

    def __repr__(self) -> str:
        by = "" if self.partition is None else f", by={self.partition[0]}"
        fallback = "" if self.fallback is None else f", fallback={self.fallback!r}"
        return f"table_version({', '.join(self.names)}{by}{fallback})"

    def read_names(self, **kwargs: t.Any) -> tuple[str, ...]:
        """The registry names this version reads for these view arguments."""
        if self.partition is None:
            return self.names
        column, type_, key = self.partition
        table = self.names[0]
        value = partition_value(type_, key(**kwargs))
        return table + ANY_PARTITION, partition_name(table, column, value)

    def wait_names(self, **kwargs: t.Any) -> tuple[str, ...] | None:
        """For a held poll: the names whose bumps wake it, or ``None`` when
        the view's session holds a snapshot that could not see a change."""
        if snapshot_began(request_session(self.session)) is not None:
            return None
        return self.read_names(**kwargs)

    def __call__(self, **kwargs: t.Any) -> t.Any:
        if guarded_write():
            raise TypeError(self.cannot_guard_writes)
        state = current_state()
        names = self.read_names(**kwargs)
        try:
            reading = state.require_registry().read(names)
            session = request_session(self.session)
            began = snapshot_began(session)
            skew = state.settings.registry_clock_skew
            if began is not None and reading.bumped_at > began - skew:
                raise SnapshotTooOld(
                    f"{', '.join(names)} changed after this request's database"
                    " snapshot may have begun."
                )
        except RegistryUnavailable:
            if self.fallback is None:
                raise
            return ("fallback", self.fallback(**kwargs))
        reload_before_view(session)
        return reading.versions


def table_version(
    *targets: str | sa.Table | type,
    by: t.Any = None,
    key: Callable[..., t.Any] | None = None,
    fallback: Callable[..., t.Any] | None = None,
    session: SessionSource = None,
) -> TableVersion:
    """A version generator that reads the commit-driven registry: no query.

    The version changes after every commit that inserted, updated or deleted
    rows of the tables, as seen by :func:`track_commits`. The view's
    arguments and the mixins (the user) are in the tag already, so a 304
    costs no database work at all.

    A table-wide version, ``table_version(Notification)``, changes for every
    user whenever anyone's row changes. Partition it by the column that
    selects what a view shows, and only changes to that partition (and
    changes whose rows are unknown) change it::

        badge_version = table_version(
            Notification, by=Notification.user_id, key=current_user_id
        )

    A version is only used if it cannot describe data newer than the view's
    snapshot: when the view's session already holds a REPEATABLE READ or
    SERIALIZABLE snapshot that began before the version's latest bump (within
    ``CONDPOLL_REGISTRY_CLOCK_SKEW``), the ``fallback`` answers instead, or,
    without one, the request is answered in full without validators.

    :param targets: mapped classes, Tables or table names.
    :param by: a column (attribute) of the one table in ``targets``.
    :param key: called with the view's keyword arguments; returns the value
        of ``by`` that the view shows.
    :param fallback: a generator used while the registry is unreachable or
        not trusted, such as a
        :func:`~flask_condpoll.sqlalchemy.collection_version`; without one,
        such requests render in full.
    :param session: the view's session, if not Flask-SQLAlchemy's: a
        session, a ``scoped_session`` or a callable returning one.
    :raises TypeError: if ``by`` and ``key`` do not come together, or ``by``
        is used with more than one table.
    """
    names = tuple(name for target in targets for name in table_names(target))
    if not names:
        raise TypeError("table_version() needs at least one table.")
    if by is None and key is None:
        return TableVersion(names, fallback, session=session)
    if by is None or key is None:
        raise TypeError("table_version() needs both 'by' and 'key' to partition.")
    if len(names) != 1:
        raise TypeError("table_version(by=...) partitions exactly one table.")
    inspected = sa.inspect(by)
    column, type_ = str(inspected.key), inspected.expression.type
    partitions.setdefault(names[0], {})[column] = type_
    return TableVersion(names, fallback, (column, type_, key), session)
