"""Versions of the rows a select returns, from one aggregate query per request."""

from __future__ import annotations

import contextlib
import typing as t
from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.sql import Select
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from ..core.preconditions import http_datetime
from .aggregate import Aggregate
from .aggregate import build_aggregate
from .aggregate import STRATEGIES
from .aggregate import UpdatedAt
from .execution import Bind
from .execution import can_see_new_commits
from .execution import request_cache_and_write
from .execution import run_version_query
from .snapshots import watch_transactions

Source = type | sa.Table | Select[t.Any] | Callable[..., Select[t.Any]]
Params = Callable[..., Mapping[str, t.Any]]


class CollectionVersion:
    """A version generator for the rows a select returns: one aggregate query.

    Use :func:`collection_version` to create one. Calling it with the view's
    keyword arguments returns a tuple of aggregates; :meth:`last_modified`
    returns the newest ``updated_at`` from the same query.
    """

    def __init__(
        self,
        source: Source,
        *,
        strategy: str = "composite",
        updated_at: UpdatedAt = "updated_at",
        params: Params | None = None,
        bind: Bind = None,
    ) -> None:
        watch_transactions()
        self.strategy = strategy
        self.source = source
        self.updated_at = updated_at
        self.params = params
        self.bind = bind
        self._built: Aggregate | None = None
        #: The view arguments it reads (checked against the URL rule): the
        #: select's bound parameters without a value, unless ``params`` fills them.
        self.required_arguments: tuple[str, ...] = ()
        if params is None and isinstance(source, Select):
            self.required_arguments = tuple(
                dict.fromkeys(
                    element.key
                    for element in visitors.iterate(source)
                    if isinstance(element, BindParameter) and element.required
                )
            )
        if strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown strategy {strategy!r}, must be one of:"
                f" {', '.join(STRATEGIES)}."
            )
        if isinstance(source, Select | type | sa.Table):
            # Built now, so that a select it cannot version fails at import
            # (unless its mappers cannot be configured yet).
            query = source if isinstance(source, Select) else sa.select(source)
            with contextlib.suppress(sa.exc.InvalidRequestError):
                self._built = build_aggregate(query, strategy, updated_at)
        elif not callable(source):
            raise TypeError(
                "collection_version() needs a mapped class, a Table, a select()"
                f" or a callable returning a select, not {source!r}."
            )

    def __repr__(self) -> str:
        return f"collection_version({_describe(self.source)}, {self.strategy!r})"

    def __call__(self, **kwargs: t.Any) -> tuple[t.Any, ...]:
        return tuple(self._row(kwargs))

    def wait_names(self, **kwargs: t.Any) -> tuple[str, ...] | None:
        """For a held poll: no registry names (it is re-checked), or ``None``
        when the view's snapshot could not see a change."""
        table = self._build(kwargs).table
        return () if can_see_new_commits(self.bind, table) else None

    def last_modified(self, **kwargs: t.Any) -> datetime | None:
        """The newest ``updated_at`` among the rows: a ``last_modified`` generator.

        Reuses the row that the ETag query of the same request fetched. With
        joined tables, the newest of all their timestamps. An ETag should
        always accompany it: deleting the newest row moves the maximum
        backwards, which If-Modified-Since cannot see.
        """
        row = self._row(kwargs)
        positions = self._build(kwargs).timestamps
        if not positions:
            raise TypeError(
                f"The {self.strategy!r} strategy reads no timestamp; use"
                " max_updated_at() or the 'composite' or 'updated_at' strategy."
            )
        found = [row[i] for i in positions if row[i] is not None]
        return max(found, default=None, key=_comparable)

    def _row(self, kwargs: dict[str, t.Any]) -> t.Any:
        """The aggregate row for these arguments, fetched once per request."""
        cache, write = request_cache_and_write()
        key = (self, tuple(sorted(kwargs.items())))
        if cache is not None and key in cache:
            return cache[key]
        aggregate = self._build(kwargs)
        params = kwargs if self.params is None else self.params(**kwargs)
        row = run_version_query(
            self.bind,
            aggregate.table,
            aggregate.statement,
            params,
            write=write,
            guard=tuple(table.fullname for table in aggregate.tables),
            timestamps=aggregate.stamps,
        )
        if cache is not None:
            cache[key] = row
        return row

    def _build(self, kwargs: dict[str, t.Any]) -> Aggregate:
        if self._built is not None:
            return self._built
        source = self.source
        if isinstance(source, Select | type | sa.Table):
            query = source if isinstance(source, Select) else sa.select(source)
            self._built = build_aggregate(query, self.strategy, self.updated_at)
            return self._built
        return build_aggregate(source(**kwargs), self.strategy, self.updated_at)


def _comparable(value: datetime) -> datetime:
    """Naive timestamps are UTC: make mixed ones comparable."""
    return http_datetime(value)


def _describe(source: Source) -> str:
    if isinstance(source, type):
        return source.__name__
    if isinstance(source, sa.Table):
        return source.name
    if isinstance(source, Select):
        return "select(...)"
    return getattr(source, "__qualname__", repr(source))


def collection_version(
    source: Source,
    strategy: str = "composite",
    *,
    updated_at: UpdatedAt = "updated_at",
    params: Params | None = None,
    bind: Bind = None,
) -> CollectionVersion:
    """A version generator for a collection, computed by one aggregate query.

    ::

        # The 50 newest notifications of the current user, built once.
        newest = (
            db.select(Notification)
            .where(Notification.user_id == bindparam("user_id"))
            .order_by(Notification.id.desc())
            .limit(50)
        )
        newest_version = collection_version(
            newest, params=lambda: {"user_id": session.get("user_id")}
        )

    The view declares both validators; they cost one query together::

        @app.get("/notifications")
        @conditional(etag=newest_version, last_modified=newest_version.last_modified)
        def notifications():
            rows = db.session.execute(newest, {"user_id": session.get("user_id")})
            return [n.text for n in rows.scalars()]

    The aggregates run over exactly the rows the select returns (a subquery
    keeps its ORDER BY, LIMIT and OFFSET), for every table it reads, and no
    ORM object is loaded. The query reads the view's own snapshot when its
    session has a transaction open (see :doc:`/sqlalchemy`).

    :param source: a mapped class, a Table, a ``select()`` (built once; use
        :func:`~sqlalchemy.sql.expression.bindparam` for per-request values),
        or a callable of the view's keyword arguments that returns a select
        (built on every request: flexible, slower).
    :param strategy: ``"composite"`` (the default: catches inserts, updates and
        deletes, in every table the select reads), ``"max_id"``,
        ``"updated_at"`` or ``"count"``. See :doc:`/sqlalchemy` for what each
        one misses.
    :param updated_at: the timestamp attribute or column name, a column, or
        a mapping from mapped class, Table or table name to a name (``None``
        for a joined table whose updates may be missed).
    :param params: returns the bound parameters from the view's keyword
        arguments. Defaults to the keyword arguments themselves.
    :param bind: an Engine, a Session or ``scoped_session``, or a callable
        returning an Engine, Connection or Session. Defaults to
        Flask-SQLAlchemy's session and engine for the table.
    :raises TypeError: at once, for a select it cannot version.
    """
    return CollectionVersion(
        source, strategy=strategy, updated_at=updated_at, params=params, bind=bind
    )


def max_updated_at(
    source: Source,
    *,
    updated_at: UpdatedAt = "updated_at",
    params: Params | None = None,
    bind: Bind = None,
) -> Callable[..., datetime | None]:
    """A ``last_modified`` generator: ``MAX(updated_at)`` over the rows.

    Naive values are taken as UTC (store UTC). Always pair it with an ETag:
    deleting the newest row moves the maximum backwards, and a client that
    only sends If-Modified-Since would then get a stale 304.
    """
    return CollectionVersion(
        source, strategy="updated_at", updated_at=updated_at, params=params, bind=bind
    ).last_modified
