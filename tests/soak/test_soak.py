"""Load and faults across the whole stack: gunicorn with 4 workers serving the
example app to 300 pollers while a writer commits notifications.

Every scenario checks, from the pollers' own logs: no 5xx, no stale 304, and
that the stats add up (exactly, or within the documented loss window).
"""

from __future__ import annotations

import os
import signal
import time
import typing as t

import pytest

pytest.importorskip("flask_sqlalchemy")
pytest.importorskip("redis")

from flask_condpoll.stats.redis_store import RedisStatsStore
from flask_condpoll.stats.sqlite_store import SQLiteStatsStore

from ..redis_server import PrivateRedis
from ..services import POSTGRESQL_URL
from ..services import sql_engine
from ..services import unique
from .harness import load
from .harness import Run
from .harness import start

FLUSH = 0.5  # CONDPOLL_STATS_FLUSH_INTERVAL in these runs


def counted(store: t.Any) -> int:
    return store.totals().get("monitor.badge", [0])[0]


def check(
    run: Run, *, allow_failures: t.Callable[[float], bool] = lambda _: False
) -> None:
    polls = run.polls
    assert len(polls) > 1000, f"only {len(polls)} polls"
    assert len(run.writer.writes) > 20
    bad = [
        p for p in polls if p.status not in (200, 304) and not allow_failures(p.started)
    ]
    assert not bad, f"{len(bad)} failed polls, first: {bad[0]}"
    assert run.stale() == []
    assert sum(p.status == 304 for p in polls) > len(polls) / 2  # polling pays


@pytest.fixture
def redis_pair(tmp_path) -> t.Iterator[tuple[PrivateRedis, PrivateRedis]]:
    registry, stats = PrivateRedis(tmp_path / "r"), PrivateRedis(tmp_path / "s")
    for server in (registry, stats):
        server.dir.mkdir()
        server.start()
    yield registry, stats
    for server in (registry, stats):
        if server.process is not None:
            server.thaw()
        server.kill()


def redis_env(tmp_path, registry: PrivateRedis, stats: PrivateRedis) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path}/soak.db",
        "CONDPOLL_REGISTRY_URL": registry.url,
        "CONDPOLL_STATS_URL": stats.url,
        "CONDPOLL_STATS_FLUSH_INTERVAL": str(FLUSH),
    }


def test_redis_registry_and_stats(tmp_path, redis_pair):
    registry, stats = redis_pair
    server = start(redis_env(tmp_path, registry, stats))
    try:
        run = load(server)
    finally:
        server.stop()
    check(run)
    assert counted(RedisStatsStore(stats.url)) == len(run.polls)


def test_sqlite_defaults_on_one_host(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/soak.db",
        "CONDPOLL_STATS_URL": f"sqlite:///{tmp_path}/stats.db",
        "CONDPOLL_STATS_FLUSH_INTERVAL": str(FLUSH),
    }
    server = start(env)
    try:
        run = load(server)
    finally:
        server.stop()
    check(run)
    assert counted(SQLiteStatsStore(str(tmp_path / "stats.db"))) == len(run.polls)


def test_redis_restarted_and_stats_store_frozen(tmp_path, redis_pair):
    """The registry's Redis dies and comes back empty; the stats Redis hangs."""
    registry, stats = redis_pair
    server = start(redis_env(tmp_path, registry, stats))

    def faults() -> None:
        time.sleep(3)
        registry.kill()
        stats.freeze()
        time.sleep(3)
        registry.start()
        stats.thaw()

    try:
        run = load(server, seconds=14, during=faults)
    finally:
        server.stop()
    check(run)
    assert counted(RedisStatsStore(stats.url)) == len(run.polls)


def test_worker_killed_loses_at_most_the_flush_window(tmp_path, redis_pair):
    registry, stats = redis_pair
    server = start(redis_env(tmp_path, registry, stats))
    killed: list[float] = []

    def kill_a_worker() -> None:
        time.sleep(5)
        os.kill(server.workers()[0], signal.SIGKILL)
        killed.append(time.monotonic())

    try:
        run = load(server, during=kill_a_worker)
    finally:
        server.stop()
    moment = killed[0]
    check(run, allow_failures=lambda started: moment - 1 < started < moment + 1)
    answered = [p for p in run.polls if p.status]
    window = [p for p in answered if moment - FLUSH - 0.25 < p.ended <= moment]
    stored = counted(RedisStatsStore(stats.url))
    assert len(answered) - len(window) <= stored <= len(run.polls)


def test_postgresql_connections_killed(tmp_path, redis_pair):
    """Every database connection is terminated mid-run: failures are the app's
    own (as without the extension), and polling recovers at once."""
    import sqlalchemy as sa

    admin = sql_engine("PostgreSQL", POSTGRESQL_URL)
    database = unique("condpoll_soak")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    url = POSTGRESQL_URL.rsplit("/", 1)[0] + f"/{database}"
    registry, stats = redis_pair
    env = redis_env(tmp_path, registry, stats) | {"DATABASE_URL": url}
    server = start(env)
    killed: list[float] = []

    def terminate() -> None:
        time.sleep(4)
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )
            connection.commit()
        killed.append(time.monotonic())

    try:
        run = load(server, during=terminate)
    finally:
        server.stop()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
    moment = killed[0]
    # Failing requests are allowed only right after the kill, one interval.
    check(run, allow_failures=lambda started: moment - 0.5 < started < moment + 1.0)
    late = [p for p in run.polls if p.started > moment + 1.0]
    assert late and all(p.status in (200, 304) for p in late)


def test_mariadb_repeatable_read_with_a_user_loader(tmp_path, redis_pair):
    """MariaDB's default isolation (REPEATABLE READ), a ``before_request`` that
    reads the database before any version is read, and a writer committing
    through a savepoint with a bulk method: still no stale 304."""
    import sqlalchemy as sa

    from ..services import MARIADB_URL

    admin = sql_engine("MariaDB", MARIADB_URL)
    database = unique("condpoll_soak")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE `{database}`"))
    url = MARIADB_URL.rsplit("/", 1)[0] + f"/{database}"
    registry, stats = redis_pair
    env = redis_env(tmp_path, registry, stats) | {"DATABASE_URL": url}
    try:
        server = start(env, app="tests.soak.loaded_app:create_app()")
        try:
            run = load(server, write_path="/soak/notify")
        finally:
            server.stop()
        check(run)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE `{database}`"))
        admin.dispose()
