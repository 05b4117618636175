"""The Redis version registry: shared versions, epochs, outages, two processes."""

from __future__ import annotations

import logging
import multiprocessing
import time
import typing as t
import urllib.request
from urllib.error import HTTPError

import pytest

redis = pytest.importorskip("redis")
pytest.importorskip("sqlalchemy")

from flask import Flask  # noqa: E402

from flask_condpoll import conditional  # noqa: E402
from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.registry import RedisRegistry  # noqa: E402
from flask_condpoll.registry import registry_from_url  # noqa: E402
from flask_condpoll.registry import RegistryUnavailable  # noqa: E402
from flask_condpoll.sqlalchemy import table_version  # noqa: E402

from .redis_server import PrivateRedis  # noqa: E402
from .services import redis_client  # noqa: E402
from .services import REDIS_URL  # noqa: E402
from .services import unique  # noqa: E402


@pytest.fixture
def prefix() -> t.Iterator[str]:
    client = redis_client()
    prefix = unique("condpoll") + ":"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def test_versions_are_shared_between_instances(prefix):
    one, two = (
        RedisRegistry(REDIS_URL, prefix=prefix),
        RedisRegistry(REDIS_URL, prefix=prefix),
    )
    epoch, version = one.get(["items"])
    assert version == 0
    one.bump(["items", "users"])
    assert two.get(["items", "users"]) == (epoch, 1, 1)


def test_lost_keys_start_a_new_epoch(prefix):
    registry = RedisRegistry(REDIS_URL, prefix=prefix)
    registry.bump(["items"])
    before = registry.get(["items"])
    client = redis_client()
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    after = registry.get(["items"])
    assert after[1] == 0
    assert after[0] != before[0]


def test_versions_going_backwards_start_a_new_epoch(prefix, caplog):
    registry = RedisRegistry(REDIS_URL, prefix=prefix)
    registry.bump(["items"])
    registry.bump(["items"])
    epoch, _ = registry.get(["items"])
    redis_client().set(registry.key("items"), 1)  # an old snapshot restored
    with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
        renewed, version = registry.get(["items"])
    assert version == 1
    assert renewed != epoch
    assert "went backwards" in caplog.text


def test_registry_from_url():
    assert type(registry_from_url("memory://")).__name__ == "MemoryRegistry"
    assert registry_from_url(None) is None
    assert isinstance(registry_from_url(REDIS_URL), RedisRegistry)
    with pytest.raises(ValueError, match="Unsupported CONDPOLL_REGISTRY_URL"):
        registry_from_url("memcached://x")


def registry_app(url: str, prefix: str = "condpoll:") -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="s",
        CONDPOLL_REGISTRY_URL=url,
        CONDPOLL_REGISTRY_PREFIX=prefix,
        CONDPOLL_REGISTRY_TIMEOUT=0.2,
    )
    app.extensions.pop("condpoll", None)
    condpoll = CondPoll(app)
    app.extensions["condpoll"].registry.retry_interval = 0.2

    @app.get("/items")
    @conditional(etag=table_version("items"))
    def items():
        return "items"

    @app.post("/items")
    def change():
        condpoll.touch("items")
        return "", 204

    return app


def test_redis_restart_never_gives_a_stale_304(tmp_path, caplog):
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        app = registry_app(server.url)
        client = app.test_client()
        assert client.post("/items").status_code == 204  # version 1
        tag = client.get("/items").headers["ETag"]
        assert client.get("/items", headers={"If-None-Match": tag}).status_code == 304

        server.kill()
        with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
            for _ in range(20):  # over several retry intervals
                response = client.get("/items", headers={"If-None-Match": tag})
                assert response.status_code == 200
                assert "ETag" not in response.headers
                time.sleep(0.05)
        unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(unreachable) == 1

        server.start()  # same port, no data: versions restart from zero
        time.sleep(0.3)
        assert client.post("/items").status_code == 204  # version 1 again
        response = client.get("/items", headers={"If-None-Match": tag})
        assert response.status_code == 200
        new_tag = response.headers["ETag"]
        assert new_tag != tag
        assert (
            client.get("/items", headers={"If-None-Match": new_tag}).status_code == 304
        )
    finally:
        server.kill()


def test_unresponsive_redis_times_out_and_the_bump_lands_later(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        registry = RedisRegistry(server.url, timeout=0.2, retry_interval=0.2)
        before = registry.get(["items"])
        server.freeze()
        started = time.monotonic()
        registry.bump(["items"])  # a commit while Redis hangs: kept, not raised
        with pytest.raises(RegistryUnavailable):
            registry.get(["items"])
        assert time.monotonic() - started < 5  # bounded by the timeout, not hung
        server.thaw()
        time.sleep(0.3)
        after = registry.get(["items"])
        assert after[0] == before[0]  # data survived: same epoch
        assert after[1] >= 1  # and the bump made while frozen landed
    finally:
        server.thaw()
        server.kill()


def test_bump_made_while_down_lands_without_more_traffic(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        writer = RedisRegistry(server.url, timeout=0.2, retry_interval=0.2)
        reader = RedisRegistry(server.url, timeout=0.2)  # another process
        server.freeze()
        writer.bump(["items"])
        server.thaw()
        deadline = time.monotonic() + 5
        while reader.get(["items"])[1] == 0:
            assert time.monotonic() < deadline, "the pending bump never landed"
            time.sleep(0.05)
    finally:
        server.thaw()
        server.kill()


def test_pending_bumps_land_before_the_next_read(tmp_path):
    """Even if the retry timer has not run yet, a read never skips a bump."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        registry = RedisRegistry(server.url, timeout=0.2, retry_interval=0.2)
        server.freeze()
        registry.bump(["items"])
        registry._timer.cancel()
        server.thaw()
        time.sleep(0.3)  # past the retry interval
        assert registry.get(["items"])[1] == 1
    finally:
        server.thaw()
        server.kill()


def test_dead_port_fails_open(tmp_path):
    from .redis_server import free_port

    app = registry_app(f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    for _ in range(3):
        response = client.get("/items", headers={"If-None-Match": "*"})
        assert response.status_code == 200
        assert response.data == b"items"


def get(url: str, tag: str | None = None) -> tuple[int, str | None]:
    request = urllib.request.Request(url)
    if tag:
        request.add_header("If-None-Match", tag)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("ETag")
    except HTTPError as error:
        return error.code, error.headers.get("ETag")


def test_two_worker_processes_share_versions(tmp_path, prefix):
    from .apps.shared import create_app
    from .apps.shared import serve

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    database = f"sqlite:///{tmp_path}/shared.db"
    create_app(database, REDIS_URL, prefix)  # the schema, before two workers race
    workers = [
        context.Process(
            target=serve, args=(ports, database, REDIS_URL, prefix), daemon=True
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        one, two = (f"http://127.0.0.1:{ports.get(timeout=30)}" for _ in workers)
        status, tag = get(f"{two}/items")
        assert status == 200
        assert get(f"{one}/items", tag) == (304, tag)  # same tag in both processes
        request = urllib.request.Request(f"{one}/items", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        status, new_tag = get(f"{two}/items", tag)
        assert status == 200
        assert new_tag != tag
    finally:
        for worker in workers:
            worker.kill()
            worker.join()
