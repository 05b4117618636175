"""Running a version query on a pooled connection, as cheaply as possible.

A version query runs on every poll, so its overhead matters more than the
query itself: SQLAlchemy's Connection costs more than the SQL. When nothing
observes the engine (no ``before_cursor_execute`` or ``after_cursor_execute``
listener, no echo or INFO logging), the statement, compiled once per engine,
runs on a pooled DBAPI connection with SQLAlchemy's own bind and result
processors; otherwise it goes through a Connection, so that query logging,
APM tools and statement counting see it.
"""

from __future__ import annotations

import logging
import typing as t
import weakref
from collections.abc import Callable
from collections.abc import Mapping

from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

Processor = Callable[[t.Any], t.Any] | None


class CompiledQuery:
    """``statement`` compiled for ``engine``'s dialect, ready for a DBAPI cursor.

    :raises ValueError: if the statement needs per-execution compilation
        (expanding ``IN`` parameters); use the Connection path for it.
    """

    def __init__(self, statement: Select[t.Any], engine: Engine) -> None:
        dialect = engine.dialect
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
        self.result_processors: list[Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]

    def parameters(self, params: Mapping[str, t.Any]) -> t.Any:
        values = {**self.defaults, **params}
        for name, process in self.bind_processors.items():
            values[name] = process(values[name])
        if self.positional:
            return tuple(values[name] for name in self.names)
        return {name: values[name] for name in self.names}

    def row(self, raw: t.Any) -> tuple[t.Any, ...] | None:
        if raw is None:
            return None
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(raw, self.result_processors, strict=True)
        )


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


def fetch_one(
    engine: Engine, statement: Select[t.Any], params: Mapping[str, t.Any]
) -> tuple[t.Any, ...] | None:
    """Run ``statement`` on a pooled connection and return its first row."""
    if not observed(engine):
        per_engine = _compiled.setdefault(statement, {})
        if engine not in per_engine:
            try:
                per_engine[engine] = CompiledQuery(statement, engine)
            except ValueError:
                per_engine[engine] = None
        query = per_engine[engine]
        if query is not None:
            return _fetch_raw(engine, query, params)
    with engine.connect() as connection:
        row = connection.execute(statement, params).first()
        return None if row is None else tuple(row)


def _fetch_raw(
    engine: Engine, query: CompiledQuery, params: Mapping[str, t.Any]
) -> tuple[t.Any, ...] | None:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(query.sql, query.parameters(params))
            raw = cursor.fetchone()
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error as exc:
        if engine.dialect.is_disconnect(exc, connection.dbapi_connection, None):
            connection.invalidate(exc)
        connection.close()
        raise
    connection.close()  # back to the pool, which resets it
    return query.row(raw)
