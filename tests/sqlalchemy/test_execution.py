"""The fast path for version queries: same rows as SQLAlchemy, one statement,
and a dead connection never poisons the pool."""

from __future__ import annotations

import typing as t
from datetime import datetime

import pytest

sa = pytest.importorskip("sqlalchemy")

from flask_condpoll.sqlalchemy import build_aggregate  # noqa: E402
from flask_condpoll.sqlalchemy import row_version  # noqa: E402
from flask_condpoll.sqlalchemy.fetching import fetch_one  # noqa: E402
from flask_condpoll.sqlalchemy.fetching import observed  # noqa: E402

from .models import BACKENDS  # noqa: E402
from .models import create_schema  # noqa: E402
from .models import engine_for  # noqa: E402
from .models import Schema  # noqa: E402


@pytest.fixture(params=BACKENDS)
def schema(request, tmp_path) -> t.Iterator[Schema]:
    schema = create_schema(engine_for(request.param, tmp_path))
    with schema.Session() as session:
        session.add_all(
            schema.Notification(user_id=1, updated_at=datetime(2024, 5, 1, 12, 0, n))
            for n in range(5)
        )
        session.add(schema.Document(id=1, body="d"))
        session.commit()
    yield schema
    schema.drop()


def newest(schema):
    N = schema.Notification
    query = sa.select(N).where(N.user_id == sa.bindparam("user_id"))
    return query.order_by(N.id.desc()).limit(3)


@pytest.mark.parametrize("strategy", ["composite", "max_id", "updated_at", "count"])
def test_same_row_as_through_a_connection(schema, strategy):
    statement = build_aggregate(newest(schema), strategy)[0]
    engine = schema.engine
    assert not observed(engine)
    fast = fetch_one(engine, statement, {"user_id": 1})
    with engine.connect() as connection:
        slow = tuple(connection.execute(statement, {"user_id": 1}).one())
    assert fast == slow
    assert [type(v) for v in fast] == [type(v) for v in slow]


def test_row_version_same_both_ways(schema):
    statement = row_version(schema.Document, bind=schema.engine).statement
    fast = fetch_one(schema.engine, statement, {"id": 1})
    with schema.engine.connect() as connection:
        slow = tuple(connection.execute(statement, {"id": 1}).one())
    assert fast == slow
    assert fetch_one(schema.engine, statement, {"id": 99}) is None


def test_observed_engines_take_the_connection_path(schema):
    seen: list[str] = []
    sa.event.listen(
        schema.engine, "before_cursor_execute", lambda *a: seen.append(a[2])
    )
    assert observed(schema.engine)
    fetch_one(schema.engine, build_aggregate(newest(schema))[0], {"user_id": 1})
    assert len(seen) == 1


def test_fast_path_sends_exactly_one_statement(tmp_path):
    """Counted by SQLite itself, below SQLAlchemy: no BEGIN, no extra query."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/count.db")
    schema = create_schema(engine)
    sent: list[str] = []

    @sa.event.listens_for(engine, "connect")
    def trace(dbapi_connection, record):
        dbapi_connection.set_trace_callback(sent.append)

    engine.dispose()  # new connections get the trace
    statement = build_aggregate(newest(schema))[0]
    fetch_one(engine, statement, {"user_id": 1})
    sent.clear()
    fetch_one(engine, statement, {"user_id": 1})
    assert len(sent) == 1
    assert sent[0].startswith("SELECT count(*)")
    schema.drop()


def test_terminated_connection_is_invalidated(tmp_path, caplog):
    """PostgreSQL kills the pooled connection (no pre-ping): the next query
    fails once, the dead connection leaves the pool, and then it recovers."""
    engine_for("postgresql", tmp_path).dispose()  # skip or fail if unreachable
    from ..services import POSTGRESQL_URL

    engine = sa.create_engine(POSTGRESQL_URL, pool_size=1)
    schema = create_schema(engine)
    try:
        statement = build_aggregate(newest(schema))[0]
        fetch_one(engine, statement, {"user_id": 1})
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        killer = sa.create_engine(POSTGRESQL_URL, poolclass=sa.pool.NullPool)
        with killer.begin() as connection:
            connection.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
            )
        killer.dispose()
        with pytest.raises(engine.dialect.loaded_dbapi.Error):
            fetch_one(engine, statement, {"user_id": 1})
        assert fetch_one(engine, statement, {"user_id": 1})[0] == 0
        # Invalidated on purpose, not discarded by a failing reset.
        assert not [r for r in caplog.records if r.name.startswith("sqlalchemy.pool")]
    finally:
        schema.drop()


def test_sqlite_checksum_is_the_same_with_or_without_unixepoch(tmp_path):
    """Hosts with older SQLite (no unixepoch) compute the same versions."""
    from flask_condpoll.sqlalchemy import timestamp_checksum

    engine = sa.create_engine(f"sqlite:///{tmp_path}/v.db")
    schema = create_schema(engine)
    with schema.Session() as session:
        session.add(
            schema.Notification(
                user_id=1, updated_at=datetime(2024, 5, 1, 12, 0, 0, 750000)
            )
        )
        session.commit()
    column = schema.Notification.updated_at
    query = sa.select(timestamp_checksum(column))
    with engine.connect() as connection:
        assert engine.dialect.server_version_info >= (3, 38)
        modern = connection.execute(query).scalar()
        engine.dialect.server_version_info = (3, 37, 0)
        older = connection.execute(query.where(sa.true())).scalar()
    assert modern == older == (1714564800750000 % 2147483647)
    schema.drop()
