from __future__ import annotations

import typing as t

import pytest

from flask_condpoll.stats.redis_store import RedisStatsStore
from flask_condpoll.stats.sqlite_store import SQLiteStatsStore

from ..services import redis_client
from ..services import REDIS_URL
from ..services import unique
from .workers import FLUSH_INTERVAL


@pytest.fixture(params=["sqlite", "redis"])
def stats_target(request, tmp_path) -> t.Iterator[tuple[dict[str, str], t.Any]]:
    """The environment of a served stats app, and the store it writes to."""
    env = {"STATS_APP_INSTANCE": str(tmp_path), "STATS_APP_FLUSH": str(FLUSH_INTERVAL)}
    if request.param == "sqlite":
        env["STATS_APP_URL"] = "sqlite:///stats.db"
        yield env, SQLiteStatsStore(str(tmp_path / "stats.db"))
        return
    client = redis_client()
    prefix = unique("condpoll") + ":"
    env |= {"STATS_APP_URL": REDIS_URL, "STATS_APP_PREFIX": prefix}
    yield env, RedisStatsStore(REDIS_URL, prefix=prefix)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
