"""The SQLite and Redis stats stores: atomic, idempotent, shared by processes."""

from __future__ import annotations

import multiprocessing
import time
import typing as t

import pytest

from flask_condpoll.stats import COUNTERS
from flask_condpoll.stats import StatsStoreError
from flask_condpoll.stats import store_from_url
from flask_condpoll.stats.redis_store import RedisStatsStore
from flask_condpoll.stats.sqlite_store import SQLiteStatsStore

from ..services import redis_client
from ..services import REDIS_URL
from ..services import unique


def vector(requests: int, **others: int) -> list[int]:
    counts = [0] * len(COUNTERS)
    counts[0] = requests
    for name, value in others.items():
        counts[COUNTERS.index(name)] = value
    return counts


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request, tmp_path) -> t.Iterator[t.Callable[[], t.Any]]:
    if request.param == "sqlite":
        path = str(tmp_path / "stats.db")
        yield lambda: SQLiteStatsStore(path)
        return
    client = redis_client()
    prefix = unique("condpoll") + ":"
    yield lambda: RedisStatsStore(REDIS_URL, prefix=prefix)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def test_add_and_sum(make_store):
    store = make_store()
    now = int(time.time()) // 60 * 60
    store.add(
        "a", {("items", now - 3600): vector(2), ("items", now): vector(3, reads=3)}
    )
    store.add("b", {("badge", now): vector(5, not_modified=4)})
    totals = store.totals()
    assert totals["items"][:2] == [5, 3]
    assert totals["badge"][0] == 5
    assert totals["badge"][COUNTERS.index("not_modified")] == 4


def test_a_retried_batch_counts_once(make_store):
    store = make_store()
    now = int(time.time())
    store.add("same", {("items", now): vector(7)})
    store.add("same", {("items", now): vector(7)})
    assert store.totals()["items"][0] == 7


def test_since_and_endpoint(make_store):
    store = make_store()
    now = int(time.time()) // 60 * 60
    store.add("a", {("items", now - 7200): vector(1), ("items", now): vector(2)})
    store.add("b", {("badge", now): vector(4)})
    assert store.totals(since=now - 60)["items"][0] == 2
    assert set(store.totals(endpoint="badge")) == {"badge"}


def test_until_and_series(make_store):
    store = make_store()
    now = int(time.time()) // 60 * 60
    store.add("a", {("items", now - 120): vector(1), ("items", now - 60): vector(2)})
    store.add("b", {("items", now): vector(4), ("badge", now - 60): vector(8)})
    store.add("c", {("items", now - 60): vector(16)})
    assert store.totals(since=now - 60, until=now)["items"][0] == 18
    assert store.series(since=now - 120, until=now) == {
        "items": {now - 120: vector(1), now - 60: vector(18)},
        "badge": {now - 60: vector(8)},
    }
    assert list(store.series(endpoint="badge")) == ["badge"]
    assert store.series(since=now + 60) == {}


def test_lifetime_outlives_retention(make_store):
    """Prometheus counters never go down: pruning old buckets leaves the
    lifetime totals alone."""
    store = make_store()
    store.retention = 3600
    now = int(time.time()) // 60 * 60
    old = now - 2 * 86400
    store.add("a", {("items", old): vector(5), ("items", now): vector(1)})
    store.add("b", {("items", now): vector(2, not_modified=2)})
    store.add("b", {("items", now): vector(2, not_modified=2)})  # a retry
    if isinstance(store, SQLiteStatsStore):
        store._pruned = 0.0
        store.add("prune", {})
    assert store.totals(since=now - 3600)["items"][0] == 3
    assert store.lifetime()["items"][:3] == [8, 0, 2]


def test_reset(make_store):
    store = make_store()
    store.add("a", {("items", int(time.time())): vector(1)})
    store.reset()
    assert store.totals() == {}
    assert store.lifetime() == {}
    assert store.series() == {}


def _hammer(store_factory: t.Callable[[], t.Any], worker: int, batches: int) -> None:
    store = store_factory()
    now = int(time.time()) // 60 * 60
    for i in range(batches):
        store.add(
            f"{worker}-{i}", {("items", now): vector(3), ("badge", now): vector(1)}
        )


def test_concurrent_processes_add_up_exactly(make_store):
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_hammer, args=(make_store, worker, 50))
        for worker in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    totals = make_store().totals()
    assert totals["items"][0] == 4 * 50 * 3
    assert totals["badge"][0] == 4 * 50


def test_unreachable_redis_raises_store_error():
    from ..redis_server import free_port

    store = RedisStatsStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    with pytest.raises(StatsStoreError):
        store.add("a", {("items", 0): vector(1)})
    with pytest.raises(StatsStoreError):
        store.totals()


def test_unwritable_sqlite_raises_store_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    store = SQLiteStatsStore(str(tmp_path / "dir.db"))
    with pytest.raises(StatsStoreError):
        store.add("a", {("items", 0): vector(1)})
    with pytest.raises(StatsStoreError):
        store.totals()


def test_a_missing_sqlite_file_is_no_counts_yet(tmp_path):
    store = SQLiteStatsStore(str(tmp_path / "new" / "stats.db"))
    assert (store.totals(), store.series(), store.lifetime()) == ({}, {}, {})
    assert not (tmp_path / "new").exists()  # reading creates nothing


@pytest.mark.parametrize(
    ("make", "path", "error"),
    [
        (lambda tmp: (tmp / "file").write_text("x"), "file/stats.db", "not a writable"),
        (lambda tmp: (tmp / "s.db").write_text("x" * 200), "s.db", "not a database"),
        (lambda tmp: (tmp / "d.db").mkdir(), "d.db", "unable to open"),
    ],
)
def test_an_sqlite_file_that_cannot_be_read(tmp_path, make, path, error):
    make(tmp_path)
    with pytest.raises(StatsStoreError, match=error):
        SQLiteStatsStore(str(tmp_path / path)).totals()


def test_store_from_url(tmp_path):
    assert store_from_url(None, instance_path=str(tmp_path)) is None
    relative = store_from_url("sqlite:///s.db", instance_path=str(tmp_path))
    assert relative.path == str(tmp_path / "s.db")
    absolute = store_from_url("sqlite:////tmp/abs.db", instance_path=str(tmp_path))
    assert absolute.path == "/tmp/abs.db"
    assert isinstance(store_from_url(REDIS_URL, instance_path=""), RedisStatsStore)
    with pytest.raises(ValueError, match="Unsupported CONDPOLL_STATS_URL"):
        store_from_url("postgresql://x", instance_path="")


def test_sqlite_file_removed_while_running(tmp_path):
    store = SQLiteStatsStore(str(tmp_path / "stats.db"))
    store.add("a", {("items", 0): vector(1)})
    for name in ("stats.db", "stats.db-wal", "stats.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    with pytest.raises(StatsStoreError):
        store.add("b", {("items", 0): vector(2)})
    store.add("b", {("items", 0): vector(2)})  # the retry sets the file up again
    assert store.totals()["items"][0] == 2


def _first_add(path: str, worker: int, start: t.Any) -> None:
    store = SQLiteStatsStore(path)
    start.wait(10)
    store.add(f"first-{worker}", {("items", 0): vector(1)})


@pytest.mark.parametrize("trial", range(5))
def test_processes_creating_a_new_sqlite_file_at_once(tmp_path, trial):
    """Workers of a fresh deployment all open the new file at the same moment
    (gunicorn --preload, a graceful stop flushing at once): none may fail."""
    context = multiprocessing.get_context("fork")
    start = context.Event()
    path = str(tmp_path / "new" / "stats.sqlite3")
    workers = [
        context.Process(target=_first_add, args=(path, worker, start))
        for worker in range(6)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0] * 6
    assert SQLiteStatsStore(path).totals()["items"][0] == 6
