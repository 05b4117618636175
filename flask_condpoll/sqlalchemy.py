"""SQLAlchemy version generators (the ``sqlalchemy`` extra).

Two ways to version data behind a view:

* **One aggregate query** per request: :func:`collection_version`,
  :func:`row_version`, :func:`max_updated_at`. Always correct for writes made
  by anyone, one cheap query.
* **The commit-driven registry**: :func:`track_commits` bumps a version per
  table after every commit, and :func:`table_version` reads it without
  touching the database.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask import g
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from .sql_execution import fetch_one
from .tracking import ANY_PARTITION
from .tracking import partition_name
from .tracking import table_names
from .tracking import table_version
from .tracking import TableVersion
from .tracking import track_commits

__all__ = [
    "ANY_PARTITION",
    "STRATEGIES",
    "CollectionVersion",
    "RowVersion",
    "TableVersion",
    "build_aggregate",
    "collection_version",
    "max_updated_at",
    "partition_name",
    "row_version",
    "table_names",
    "table_version",
    "timestamp_checksum",
    "track_commits",
]

Source = type | sa.Table | Select[t.Any] | Callable[..., Select[t.Any]]
Bind = Engine | Callable[[], Engine | Connection | Session] | None
Params = Callable[..., Mapping[str, t.Any]]

#: The collection strategies and the aggregates each one reads.
STRATEGIES = ("composite", "max_id", "updated_at", "count")

_MODULUS = 2147483647  # a prime below 2**31: sums stay far from overflow


class timestamp_checksum(FunctionElement[int]):
    """A timestamp as microseconds since 1970, modulo a prime, on any dialect.

    Summed over rows, it changes when any row's timestamp changes, forwards or
    backwards, which ``MAX`` misses.
    """

    type = sa.BigInteger()
    inherit_cache = True
    name = "timestamp_checksum"


@compiles(timestamp_checksum)
def _checksum_default(
    element: timestamp_checksum, compiler: SQLCompiler, **kw: t.Any
) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"MOD(CAST(EXTRACT(EPOCH FROM {arg}) * 1000000 AS BIGINT), {_MODULUS})"


@compiles(timestamp_checksum, "sqlite")
def _checksum_sqlite(
    element: timestamp_checksum, compiler: SQLCompiler, **kw: t.Any
) -> str:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff": seconds, then microseconds.
    # unixepoch() (SQLite 3.38+) gives the same seconds as strftime('%s'), faster.
    arg = compiler.process(element.clauses, **kw)
    version = compiler.dialect.server_version_info or (0,)
    seconds = (
        f"unixepoch({arg})"
        if version >= (3, 38)
        else f"CAST(strftime('%s', {arg}) AS INTEGER)"
    )
    return (
        f"(({seconds} * 1000000 + CAST(substr({arg}, 21, 6) AS INTEGER)) % {_MODULUS})"
    )


@compiles(timestamp_checksum, "mysql")
@compiles(timestamp_checksum, "mariadb")
def _checksum_mysql(
    element: timestamp_checksum, compiler: SQLCompiler, **kw: t.Any
) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"MOD(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {arg}), {_MODULUS})"


class _Columns(t.NamedTuple):
    """The columns of a selected entity that versions are computed from."""

    pk: sa.ColumnElement[t.Any] | None
    updated_at: sa.ColumnElement[t.Any] | None
    version: sa.ColumnElement[t.Any] | None
    table: sa.Table


def _columns(
    target: type | sa.Table, updated_at: str | sa.ColumnElement[t.Any] | None
) -> _Columns:
    mapper: t.Any = None if isinstance(target, sa.Table) else sa.inspect(target)
    if mapper is None:
        table = t.cast(sa.Table, target)
        keys = list(table.primary_key.columns)
        timestamp = (
            table.c.get(updated_at) if isinstance(updated_at, str) else updated_at
        )
    else:
        table = mapper.local_table
        keys = list(mapper.primary_key)
        timestamp = (
            getattr(target, updated_at, None)
            if isinstance(updated_at, str)
            else updated_at
        )
    return _Columns(
        pk=keys[0] if len(keys) == 1 else None,
        updated_at=None if timestamp is None else sa.inspect(timestamp).expression,
        version=None if mapper is None else mapper.version_id_col,
        table=table,
    )


def _entity(query: Select[t.Any]) -> type | sa.Table:
    description = query.column_descriptions[0]
    entity = description.get("entity")
    if entity is not None:
        return t.cast(type, entity)
    froms = query.get_final_froms()
    if len(froms) == 1 and isinstance(froms[0], sa.Table):
        return froms[0]
    raise TypeError(
        f"Cannot tell which table {query} selects from: select a mapped class"
        " or one Table."
    )


def _describe(source: Source) -> str:
    if isinstance(source, type):
        return source.__name__
    if isinstance(source, sa.Table):
        return source.name
    if isinstance(source, Select):
        return f"select({_entity_name(source)})"
    return getattr(source, "__qualname__", repr(source))


def _entity_name(query: Select[t.Any]) -> str:
    entity = _entity(query)
    return entity.name if isinstance(entity, sa.Table) else entity.__name__


def _bind_key(table: sa.Table) -> str | None:
    return t.cast(str | None, table.metadata.info.get("bind_key"))


def _execute(
    bind: Bind, table: sa.Table, statement: t.Any, params: Mapping[str, t.Any]
) -> tuple[t.Any, ...] | None:
    """Run ``statement`` and return its one row or None."""
    if bind is None:
        try:
            db = current_app.extensions["sqlalchemy"]
        except KeyError:
            raise RuntimeError(
                "No 'bind' was given and the app has no Flask-SQLAlchemy"
                " extension: pass bind=engine or bind=lambda: session."
            ) from None
        target: Engine | Connection | Session = db.engines[_bind_key(table)]
    elif isinstance(bind, Engine):
        target = bind
    else:
        target = bind()
    if isinstance(target, Engine):
        return fetch_one(target, statement, params)
    row = target.execute(statement, params).first()
    return None if row is None else tuple(row)


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
        updated_at: str | sa.ColumnElement[t.Any] | None = "updated_at",
        params: Params | None = None,
        bind: Bind = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown strategy {strategy!r}, must be one of:"
                f" {', '.join(STRATEGIES)}."
            )
        self.strategy = strategy
        self.source = source
        self.updated_at = updated_at
        self.params = params
        self.bind = bind
        self._built: tuple[Select[t.Any], sa.Table, int | None] | None = None

    def __repr__(self) -> str:
        return f"collection_version({_describe(self.source)}, {self.strategy!r})"

    def __call__(self, **kwargs: t.Any) -> tuple[t.Any, ...]:
        row = self._row(kwargs)
        return tuple(row)

    def last_modified(self, **kwargs: t.Any) -> datetime | None:
        """The newest ``updated_at`` among the rows: a ``last_modified`` generator.

        Reuses the row that the ETag query of the same request fetched. An
        ETag should always accompany it: deleting the newest row moves the
        maximum backwards, which If-Modified-Since cannot see.
        """
        row = self._row(kwargs)
        index = self._build(kwargs)[2]
        if index is None:
            raise TypeError(
                f"The {self.strategy!r} strategy reads no timestamp; use"
                " max_updated_at() or the 'composite' or 'updated_at' strategy."
            )
        return t.cast(datetime | None, row[index])

    def _row(self, kwargs: dict[str, t.Any]) -> t.Any:
        """The aggregate row for these arguments, fetched once per request."""
        cache: dict[tuple[int, tuple[t.Any, ...]], t.Any] = g.setdefault(
            "_condpoll_rows", {}
        )
        key = (id(self), tuple(sorted(kwargs.items())))
        try:
            return cache[key]
        except KeyError:
            pass
        statement, table, _ = self._build(kwargs)
        params = kwargs if self.params is None else self.params(**kwargs)
        row = cache[key] = _execute(self.bind, table, statement, params)
        return row

    def _build(
        self, kwargs: dict[str, t.Any]
    ) -> tuple[Select[t.Any], sa.Table, int | None]:
        if self._built is not None:
            return self._built
        source = self.source
        if isinstance(source, Select):
            query, static = source, True
        elif isinstance(source, type | sa.Table):
            query, static = sa.select(source), True
        else:
            query, static = source(**kwargs), False
        built = build_aggregate(query, self.strategy, self.updated_at)
        if static:
            self._built = built
        return built


def build_aggregate(
    query: Select[t.Any],
    strategy: str = "composite",
    updated_at: str | sa.ColumnElement[t.Any] | None = "updated_at",
) -> tuple[Select[t.Any], sa.Table, int | None]:
    """Build the one aggregate statement for ``strategy`` over ``query``'s rows.

    Returns the statement, the table it reads, and the position of
    ``MAX(updated_at)`` in its row (``None`` when it has none).

    :raises TypeError: when the strategy needs a column the entity lacks.
    """
    columns = _columns(_entity(query), updated_at)
    labelled = [
        column.label(name)
        for name, column in (
            ("pk", columns.pk),
            ("ts", columns.updated_at),
            ("ver", columns.version),
        )
        if column is not None
    ]
    inner = query.with_only_columns(*labelled, maintain_column_froms=True)
    if inner._limit_clause is None and inner._offset_clause is None:
        inner = inner.order_by(None)
    rows = inner.subquery("condpoll_rows")
    pk, ts, ver = (rows.c.get(name) for name in ("pk", "ts", "ver"))

    def need(column: t.Any, what: str) -> t.Any:
        if column is None:
            raise TypeError(
                f"The {strategy!r} strategy needs {what} on {columns.table.name!r};"
                " pass updated_at= or pick another strategy."
            )
        return column

    aggregates: list[t.Any] = []
    index = None
    if strategy == "max_id":
        aggregates.append(sa.func.max(need(pk, "a single-column primary key")))
    elif strategy == "count":
        aggregates.append(sa.func.count())
    elif strategy == "updated_at":
        index = 0
        aggregates.append(sa.func.max(need(ts, "an updated_at column")))
    else:
        aggregates.append(sa.func.count())
        if pk is not None:
            aggregates += [sa.func.max(pk), sa.func.sum(pk)]
        if ts is not None:
            index = len(aggregates)
            aggregates += [sa.func.max(ts), sa.func.sum(timestamp_checksum(ts))]
        if ver is not None:
            aggregates.append(sa.func.sum(ver))
    return sa.select(*aggregates).select_from(rows), columns.table, index


def collection_version(
    source: Source,
    strategy: str = "composite",
    *,
    updated_at: str | sa.ColumnElement[t.Any] | None = "updated_at",
    params: Params | None = None,
    bind: Bind = None,
) -> CollectionVersion:
    """A version generator for a collection, computed by one aggregate query.

    ::

        newest = (
            select(Notification)
            .where(Notification.user_id == bindparam("user_id"))
            .order_by(Notification.id.desc())
            .limit(50)
        )
        version = collection_version(newest, params=lambda: {"user_id": uid()})

        @app.get("/notifications")
        @conditional(etag=version, last_modified=version.last_modified)
        def notifications(): ...

    The aggregates run over exactly the rows the select returns (a subquery
    keeps its ORDER BY, LIMIT and OFFSET), and no ORM object is loaded.

    :param source: a mapped class, a Table, a ``select()`` (built once; use
        :func:`~sqlalchemy.sql.expression.bindparam` for per-request values),
        or a callable of the view's keyword arguments that returns a select
        (built on every request: flexible, slower).
    :param strategy: ``"composite"`` (the default: catches inserts, updates and
        deletes), ``"max_id"``, ``"updated_at"`` or ``"count"``. See
        :doc:`/sqlalchemy` for what each one misses.
    :param updated_at: the timestamp column or its attribute name.
    :param params: returns the bound parameters from the view's keyword
        arguments. Defaults to the keyword arguments themselves.
    :param bind: an Engine, or a callable returning an Engine, Connection or
        Session. Defaults to Flask-SQLAlchemy's engine for the table.
    """
    return CollectionVersion(
        source, strategy=strategy, updated_at=updated_at, params=params, bind=bind
    )


def max_updated_at(
    source: Source,
    *,
    updated_at: str | sa.ColumnElement[t.Any] | None = "updated_at",
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


class RowVersion:
    """A version generator for one row. Use :func:`row_version` to create one."""

    def __init__(
        self,
        model: type | sa.Table,
        *,
        arg: str | None,
        updated_at: str | sa.ColumnElement[t.Any] | None,
        bind: Bind,
    ) -> None:
        columns = _columns(model, updated_at)
        if columns.pk is None:
            raise TypeError(
                f"row_version() needs a single-column primary key on {model!r}."
            )
        parts = [c for c in (columns.updated_at, columns.version) if c is not None]
        if not parts:
            raise TypeError(
                f"row_version() needs an updated_at column or a version_id_col on"
                f" {model!r}: without one, updates are invisible."
            )
        self.arg: str = arg or str(columns.pk.key)
        self.bind = bind
        self.table = columns.table
        self.statement = sa.select(*parts).where(columns.pk == sa.bindparam(self.arg))

    def __repr__(self) -> str:
        return f"row_version({self.table.name}, arg={self.arg!r})"

    def __call__(self, **kwargs: t.Any) -> tuple[t.Any, ...] | None:
        key = kwargs[self.arg]
        row = _execute(self.bind, self.table, self.statement, {self.arg: key})
        return None if row is None else (key, *row)


def row_version(
    model: type | sa.Table,
    *,
    arg: str | None = None,
    updated_at: str | sa.ColumnElement[t.Any] | None = "updated_at",
    bind: Bind = None,
) -> RowVersion:
    """A version generator for one row: its key with its ``updated_at`` and
    ``version_id_col``. A missing row gives ``None`` (no representation).

    ::

        @app.route("/items/<int:item_id>", methods=["GET", "PUT"])
        @conditional(etag=row_version(Item, arg="item_id"), weak=False)
        def item(item_id): ...

    :param model: a mapped class or Table with a single-column primary key.
    :param arg: the view argument holding the key; defaults to the key's name.
    :param updated_at: the timestamp column or its attribute name.
    :param bind: as for :func:`collection_version`.
    """
    return RowVersion(model, arg=arg, updated_at=updated_at, bind=bind)
