"""Running a version statement on a connection, as cheaply as it can be seen.

A version query runs on every poll, so its overhead matters: when nothing
observes the engine (no ``before_cursor_execute`` or ``after_cursor_execute``
listener, no echo or INFO logging), the statement, compiled once per engine
after its first connection, runs on the DBAPI connection with SQLAlchemy's
own bind and result processors; otherwise it goes through the Connection, so
that query logging, APM tools and statement counting see it.
"""

from __future__ import annotations

import logging
import typing as t
import weakref
from collections.abc import Callable
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select


class CompiledQuery:
    """``statement`` compiled for ``dialect``, ready for a DBAPI cursor.

    :raises ValueError: if the statement needs per-execution compilation
        (expanding ``IN`` parameters); use the Connection path for it.
    """

    def __init__(self, statement: Select[t.Any], dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("The statement has parameters rendered per execution.")
        self.sql = compiled.string
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        self.names: list[str] = list(compiled.positiontup or binds)
        self.positional = bool(compiled.positional)
        self.defaults = {
            name: binds[name].value for name in self.names if not binds[name].required
        }
        self.bind_processors: dict[str, Callable[[t.Any], t.Any]] = {}
        for name in self.names:
            process = binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.bind_processors[name] = process
        #: ``(position, processor)`` of the result columns that need one.
        self.result_processors: list[tuple[int, Callable[[t.Any], t.Any]]] = []
        for position, column in enumerate(statement.selected_columns):
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                self.result_processors.append((position, convert))

    def parameters(self, params: Mapping[str, t.Any]) -> t.Any:
        values = {**self.defaults, **params}
        for name, process in self.bind_processors.items():
            values[name] = process(values[name])
        if self.positional:
            return tuple(map(values.__getitem__, self.names))
        return {name: values[name] for name in self.names}

    def row(self, raw: t.Any) -> tuple[t.Any, ...] | None:
        if raw is None:
            return None
        values = list(raw)
        for position, process in self.result_processors:
            value = values[position]
            if value is not None:
                values[position] = process(value)
        return tuple(values)


_compiled: weakref.WeakKeyDictionary[Select[t.Any], dict[Engine, CompiledQuery | None]]
_compiled = weakref.WeakKeyDictionary()


def observed(engine: Engine) -> bool:
    """Whether something watches this engine's statements."""
    dispatch = engine.dispatch
    return bool(
        dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or engine.echo
        or engine.logger.isEnabledFor(logging.INFO)
    )


def fetch_on(
    connection: Connection, statement: Select[t.Any], params: Mapping[str, t.Any]
) -> tuple[t.Any, ...] | None:
    """Run ``statement`` on ``connection``, in its transaction; return the first row."""
    engine = connection.engine
    query = None if observed(engine) else _compiled_for(statement, engine)
    if query is None:
        row = connection.execute(statement, params).first()
        return None if row is None else tuple(row)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(query.sql, query.parameters(params))
        return query.row(cursor.fetchone())
    finally:
        cursor.close()


def fetch_one(
    engine: Engine, statement: Select[t.Any], params: Mapping[str, t.Any]
) -> tuple[t.Any, ...] | None:
    """Run ``statement`` on a pooled connection and return its first row."""
    if observed(engine):
        with engine.connect() as connection:
            row = connection.execute(statement, params).first()
            return None if row is None else tuple(row)
    pooled = engine.raw_connection()  # connects first: the dialect is known
    query = _compiled_for(statement, engine)
    if query is None:
        pooled.close()
        with engine.connect() as through:
            row = through.execute(statement, params).first()
            return None if row is None else tuple(row)
    try:
        cursor = pooled.cursor()
        try:
            cursor.execute(query.sql, query.parameters(params))
            raw = cursor.fetchone()
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error as exc:
        if engine.dialect.is_disconnect(exc, pooled.dbapi_connection, None):
            pooled.invalidate(exc)
        pooled.close()
        raise
    pooled.close()  # back to the pool, which resets it
    return query.row(raw)


def _compiled_for(statement: Select[t.Any], engine: Engine) -> CompiledQuery | None:
    """``statement`` compiled for ``engine``, once; call after it has connected,
    so that dialect-specific SQL (SQLite's ``unixepoch``) is chosen right."""
    per_engine = _compiled.setdefault(statement, {})
    try:
        return per_engine[engine]
    except KeyError:
        pass
    try:
        query: CompiledQuery | None = CompiledQuery(statement, engine.dialect)
    except ValueError:
        query = None
    per_engine[engine] = query
    return query
