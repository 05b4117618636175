"""The Redis version registry: shared versions, epochs, outages, two processes."""

from __future__ import annotations

import contextlib
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

from ..redis_server import PrivateRedis  # noqa: E402
from ..services import redis_client  # noqa: E402
from ..services import REDIS_URL  # noqa: E402
from ..services import unique  # noqa: E402


@pytest.fixture
def prefix() -> t.Iterator[str]:
    client = redis_client()
    prefix = unique("condpoll") + ":"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def read_once_settled(registry: RedisRegistry) -> t.Any:
    """Read ``items`` once Redis is back and the bumps kept meanwhile landed."""
    deadline = time.monotonic() + 10
    while True:
        with contextlib.suppress(RegistryUnavailable):
            return registry.read(["items"]).versions
        assert time.monotonic() < deadline, "the registry never settled"
        time.sleep(0.05)


def test_versions_are_shared_between_instances(prefix):
    one, two = (
        RedisRegistry(REDIS_URL, prefix=prefix),
        RedisRegistry(REDIS_URL, prefix=prefix),
    )
    epoch, items, users = one.read(["items", "users"]).versions
    assert two.read(["items", "users"]).versions == (epoch, items, users)
    one.bump(["items", "users"])
    assert two.read(["items", "users"]).versions == (epoch, items + 1, users + 1)


def test_bump_times_are_read_back(prefix):
    registry = RedisRegistry(REDIS_URL, prefix=prefix)
    before = time.time()
    registry.bump(["items"])
    assert before <= registry.read(["items"]).bumped_at <= time.time()


def test_flushed_redis_starts_a_new_epoch(prefix):
    registry = RedisRegistry(REDIS_URL, prefix=prefix)
    registry.bump(["items"])
    before = registry.read(["items"]).versions
    client = redis_client()
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    after = registry.read(["items"]).versions
    assert after[0] != before[0]


@pytest.mark.parametrize("lost_by", ["DEL", "eviction"])
def test_a_lost_version_key_never_reproduces_an_old_version(prefix, lost_by):
    """The epoch survives, the counter does not: it must not count 1, 2, ...
    again, or an old tag would match after as many commits."""
    registry = RedisRegistry(REDIS_URL, prefix=prefix)
    client = redis_client()
    seen = set()
    for _ in range(3):
        registry.bump(["items"])
        seen.add(registry.read(["items"]).versions)
    if lost_by == "DEL":
        client.delete(registry.key("items"))
    else:  # what allkeys-lru does to a cold key
        client.unlink(registry.key("items"))
    other = RedisRegistry(REDIS_URL, prefix=prefix)  # a process that saw nothing
    for _ in range(3):
        other.bump(["items"])
        assert other.read(["items"]).versions not in seen
        assert registry.read(["items"]).versions not in seen


def test_versions_going_backwards_start_a_new_epoch(prefix, caplog):
    registry = RedisRegistry(REDIS_URL, prefix=prefix)
    registry.bump(["items"])
    old = redis_client().get(registry.key("items"))
    registry.bump(["items"])
    epoch, version = registry.read(["items"]).versions
    redis_client().set(registry.key("items"), old)  # an old snapshot restored
    with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
        renewed, restored = registry.read(["items"]).versions
    assert restored == version - 1
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
        with app.app_context():  # and the bumps kept meanwhile had time to land
            read_once_settled(app.extensions["condpoll"].registry)
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


def test_a_server_restarted_from_an_old_copy_changes_the_epoch(tmp_path, caplog):
    """Redis restarted from a backup (or from a save older than its last
    writes): a process started afterwards has never seen the newer versions,
    yet the tags handed out before the restore must not match."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        registry = RedisRegistry(server.url, prefix="r:")
        registry.bump(["items"])
        registry.read(["items"])  # the epoch exists
        backup = redis.Redis.from_url(server.url)
        saved = {key: backup.get(key) for key in backup.keys("r:*")}
        registry.bump(["items"])
        handed_out = registry.read(["items"]).versions
        server.kill()
        server.start()  # a new server run, loading the old copy
        restored = redis.Redis.from_url(server.url)
        for key, value in saved.items():
            restored.set(key, value)
        fresh = RedisRegistry(server.url, prefix="r:")  # a worker started now
        with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
            epoch, version = fresh.read(["items"]).versions
        assert version < handed_out[1]  # the data went back...
        assert epoch != handed_out[0]  # ...so no tag handed out matches
        assert "server of the version registry changed" in caplog.text
        registry.bump(["items"])  # the old process, reconnecting, agrees
        assert registry.read(["items"]).versions[0] == fresh.read(["items"]).versions[0]
    finally:
        server.kill()


def test_new_connections_to_the_same_server_keep_the_epoch(prefix):
    first = RedisRegistry(REDIS_URL, prefix=prefix)
    epoch = first.read(["items"]).versions[0]
    for _ in range(3):
        assert (
            RedisRegistry(REDIS_URL, prefix=prefix).read(["items"]).versions[0] == epoch
        )


def test_unresponsive_redis_times_out_and_the_bump_lands_later(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        registry = RedisRegistry(server.url, timeout=0.2, retry_interval=0.2)
        before = registry.read(["items"]).versions
        server.freeze()
        started = time.monotonic()
        registry.bump(["items"])  # a commit while Redis hangs: kept, not raised
        with pytest.raises(RegistryUnavailable):
            registry.read(["items"])
        assert time.monotonic() - started < 5  # bounded by the timeout, not hung
        server.thaw()
        after = read_once_settled(registry)
        assert after[0] == before[0]  # data survived: same epoch
        # The bump made while frozen landed (the one sent to the frozen server
        # too, maybe, once it resumed: versions only need to move forward).
        assert after[1] > before[1]
    finally:
        server.thaw()
        server.kill()


def test_bump_made_while_down_lands_without_more_traffic(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        writer = RedisRegistry(server.url, timeout=0.2, retry_interval=0.2)
        reader = RedisRegistry(server.url, timeout=0.2)  # another process
        before = reader.read(["items"]).versions
        server.freeze()
        writer.bump(["items"])
        server.thaw()
        deadline = time.monotonic() + 5
        while reader.read(["items"]).versions == before:
            assert time.monotonic() < deadline, "the pending bump never landed"
            time.sleep(0.05)
    finally:
        server.thaw()
        server.kill()


def test_an_outage_of_several_seconds_without_traffic(tmp_path):
    """The writer commits during a long outage and then stays idle: its bump
    is retried (with back-off) until Redis answers, and lands."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        writer = RedisRegistry(server.url, timeout=0.2, retry_interval=0.2)
        reader = RedisRegistry(server.url, timeout=0.2)
        before = reader.read(["items"]).versions
        server.kill()
        writer.bump(["items"])
        time.sleep(3)  # many failed retries, no other traffic
        server.start()  # empty: a new epoch
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(RegistryUnavailable):
                if reader.read(["items"]).versions[0] != before[0]:
                    break
            assert time.monotonic() < deadline, "the pending bump never landed"
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while redis.Redis.from_url(server.url).get(writer.key("items")) is None:
            assert time.monotonic() < deadline, "the retried bump never landed"
            time.sleep(0.1)
    finally:
        server.kill()


def test_a_process_that_saw_the_outage_waits_for_the_others_bumps(tmp_path):
    """A commit in another process during the outage is bumped only when that
    process retries. Until then, Redis holds the old version: a process that
    saw Redis fail does not trust it for max_retry_interval + timeout after
    it is back, which covers the other's next retry."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        # Both may wait max_retry_interval between retries; the writer does.
        writer = RedisRegistry(server.url, timeout=0.2, retry_interval=1.0)
        reader = RedisRegistry(server.url, timeout=0.2, retry_interval=0.2)
        assert writer.max_retry_interval == reader.max_retry_interval
        before = reader.read(["items"]).versions
        server.freeze()
        writer.bump(["items"])  # kept, retried from a thread
        with pytest.raises(RegistryUnavailable):
            reader.read(["items"])  # this process sees the outage too
        server.thaw()
        seen = []
        deadline = time.monotonic() + 5
        while not seen or seen[-1] == before:
            assert time.monotonic() < deadline, "the kept bump never landed"
            with contextlib.suppress(RegistryUnavailable):
                seen.append(reader.read(["items"]).versions)
            time.sleep(0.02)
        assert before not in seen, "the old version was trusted after the outage"
    finally:
        server.thaw()
        server.kill()


def test_pending_bumps_land_before_the_next_read(tmp_path):
    """A read in the writing process never skips its own pending bump."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        registry = RedisRegistry(server.url, timeout=0.2, retry_interval=30)
        before = registry.read(["items"]).versions
        server.freeze()
        registry.bump(["items"])
        server.thaw()
        registry._outage.down_until = 0  # the next read may try Redis at once
        assert read_once_settled(registry)[1] == before[1] + 1
    finally:
        server.thaw()
        server.kill()


def test_too_many_lost_bumps_renew_the_epoch(tmp_path, caplog):
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        registry = RedisRegistry(
            server.url, timeout=0.2, retry_interval=0.2, max_pending=2
        )
        epoch = registry.read(["a"]).versions[0]
        server.freeze()
        with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
            registry.bump(["a", "b", "c"])
        assert "dropped" in caplog.text
        server.thaw()
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(RegistryUnavailable):
                if registry.read(["a"]).versions[0] != epoch:
                    break
            assert time.monotonic() < deadline, "the epoch was never renewed"
            time.sleep(0.1)
    finally:
        server.thaw()
        server.kill()


def test_dead_port_fails_open(tmp_path):
    from ..redis_server import free_port

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
    from ..apps.shared import create_app
    from ..apps.shared import serve

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
