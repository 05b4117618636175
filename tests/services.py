"""Reaching the real services, with the skip rule: skip locally, fail under CI."""

from __future__ import annotations

import os
import typing as t
import uuid

import pytest

POSTGRESQL_URL = os.environ.get(
    "CONDPOLL_TEST_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get(
    "CONDPOLL_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test"
)
REDIS_URL = os.environ.get("CONDPOLL_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unavailable(what: str, reason: object) -> t.NoReturn:
    """Skip a test whose service is down, or fail it when ``CI=true``."""
    message = f"{what} is unreachable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (service tests may not skip under CI=true)")
    pytest.skip(message)


def unique(prefix: str) -> str:
    """A name no other test uses, for tables and key prefixes."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def redis_client(url: str = REDIS_URL) -> t.Any:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    return client


def sql_engine(name: str, url: str) -> t.Any:
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # any driver's connection error
        engine.dispose()
        unavailable(name, exc)
    return engine
