"""Counting requests from the signals, and keeping counts through store outages."""

from __future__ import annotations

import os
import signal
import time

import pytest
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.stats import Collector
from flask_condpoll.stats import COUNTERS
from flask_condpoll.stats import EndpointStats
from flask_condpoll.stats import OVERFLOW
from flask_condpoll.stats import StatsStoreError
from flask_condpoll.stats import summarize
from flask_condpoll.stats import time_bucket


class MemoryStore:
    """A store that can be made to fail, recording every batch id it took."""

    def __init__(self) -> None:
        self.batches: dict[str, dict] = {}
        self.failing = False

    def add(self, batch_id, batch):
        if self.failing:
            raise StatsStoreError("down")
        self.batches.setdefault(batch_id, batch)

    def totals(self, since=None, endpoint=None):
        totals: dict[str, list[int]] = {}
        for batch in self.batches.values():
            for (name, bucket), counts in batch.items():
                if since is not None and bucket < since and name != OVERFLOW:
                    continue
                if endpoint is not None and name != endpoint:
                    continue
                into = totals.setdefault(name, [0] * len(COUNTERS))
                for i, value in enumerate(counts):
                    into[i] += value
        return totals

    def reset(self):
        self.batches.clear()


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture(params=["configured", "connected"])
def app(request, store):
    """The collector as CONDPOLL_STATS_URL builds it (called by the views
    directly), or one connected to the signals."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    CondPoll(app)
    collector = Collector(store, flush_interval=3600, flush_count=10**9, max_pending=3)
    if request.param == "configured":
        app.extensions["condpoll"].stats = collector
    else:
        collector.connect(app)
    app.collector = collector
    app.version = 1

    @app.route("/item", methods=["GET", "PUT"])
    @conditional(etag=lambda: app.version, weak=False, require_precondition=True)
    def item():
        return "x" * 100

    @app.get("/broken")
    @conditional(etag=lambda: 1 / 0)
    def broken():
        return "y" * 10

    return app


def stats_of(app, store, endpoint="item") -> EndpointStats:
    app.collector.flush()
    return {row.endpoint: row for row in summarize(store.totals())}[endpoint]


def test_counts_every_outcome(app, store):
    client = app.test_client()
    tag = client.get("/item").headers["ETag"]
    for _ in range(3):
        client.get("/item", headers={"If-None-Match": tag})
    client.head("/item")
    client.put("/item", headers={"If-Match": '"stale"'})
    client.put("/item")
    client.put("/item", headers={"If-Match": tag})
    row = stats_of(app, store)
    assert row.requests == 8
    assert row.reads == 5
    assert row.not_modified == 3
    assert row.full == 3
    assert row.validated == 2  # the GET and the HEAD
    assert row.precondition_failed == 1
    assert row.precondition_required == 1
    assert row.full_sized == 1  # only the GET has a body to average
    assert row.full_bytes == 100
    assert row.bytes_saved == 300
    assert row.bytes_sent > 200  # two bodies of 100 and the 412/428 pages
    assert row.ratio == 3 / 5
    assert row.mean_ms("304") is not None and row.p95_ms("304") is not None


def test_every_answer_is_counted_once_including_aborts(app, store):
    """abort() in the view or in a generator, and an exception that becomes
    a 500, are answers too: none may be missing from the ratio."""
    from flask import abort

    app.testing = False  # an unhandled exception is a 500, not a raise

    def guard(n):
        if n % 5 == 0:
            abort(404)
        return n

    @app.get("/pages/<int:n>")
    @conditional(etag=guard)
    def pages(n):
        if n % 5 == 1:
            abort(403)
        if n % 5 == 2:
            raise LookupError("bug")
        return "page"

    client = app.test_client()
    statuses = [client.get(f"/pages/{n}").status_code for n in range(10)]
    assert sorted(statuses) == sorted([404, 403, 500, 200, 200] * 2)
    row = stats_of(app, store, "pages")
    assert row.requests == 10
    assert row.reads == 10
    assert row.aborted == 6
    assert row.full == 4


def test_generator_failures(app, store):
    client = app.test_client()
    client.get("/broken")
    client.get("/broken")
    row = stats_of(app, store, "broken")
    assert row.generator_failed == 2
    assert row.requests == 2
    assert row.validated == 0


def test_counts_survive_a_store_outage(app, store):
    client = app.test_client()
    store.failing = True
    for _ in range(2):
        client.get("/item")
        app.collector.flush()
    assert store.batches == {}
    store.failing = False
    client.get("/item")
    assert stats_of(app, store).requests == 3


def test_overflow_is_counted_and_reported(app, store, caplog):
    client = app.test_client()
    store.failing = True
    for _ in range(5):  # five batches, room for three
        client.get("/item")
        app.collector.flush()
    assert "dropped the counts of 1 requests" in caplog.text
    store.failing = False
    app.collector.flush()
    totals = store.totals()
    assert totals["item"][0] == 3
    overflow = dict(zip(COUNTERS, totals[OVERFLOW], strict=True))
    assert overflow["requests"] == 2
    assert overflow["batches_dropped"] == 2
    assert overflow["store_errors"] == 5  # every failed flush, stored once
    app.collector.flush()
    assert store.totals()[OVERFLOW] == totals[OVERFLOW]  # and only once


def test_flushes_after_flush_count(store):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    CondPoll(app)
    Collector(store, flush_count=5, flush_interval=3600).connect(app)

    @app.get("/")
    @conditional(etag=lambda: 1)
    def index():
        return "x"

    client = app.test_client()
    for _ in range(5):
        client.get("/")
    deadline = time.monotonic() + 5
    while not store.batches:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert store.totals()["index"][0] == 5


def test_flushes_on_an_interval(store):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    CondPoll(app)
    Collector(store, flush_interval=0.05).connect(app)

    @app.get("/")
    @conditional(etag=lambda: 1)
    def index():
        return "x"

    app.test_client().get("/")
    deadline = time.monotonic() + 5
    while not store.batches:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_time_buckets():
    assert time_bucket(0.00005) == 0
    assert time_bucket(0.0001) == 0
    assert time_bucket(0.00015) == 1
    assert time_bucket(10) == 15


@pytest.mark.parametrize(
    ("reads", "not_modified", "verdict"),
    [
        (100, 80, "working"),
        (100, 10, "changes too often"),
        (100, 50, "mixed"),
        (5, 5, "too few requests"),
    ],
)
def test_verdicts(reads, not_modified, verdict):
    counts = dict.fromkeys(COUNTERS, 0) | {"reads": reads, "not_modified": not_modified}
    assert EndpointStats("e", counts).verdict.startswith(verdict)


def test_config_builds_the_collector(tmp_path):
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL="sqlite:///stats.db")
    CondPoll(app)
    state = app.extensions["condpoll"]
    assert state.stats is not None
    assert state.stats_store.path == str(tmp_path / "stats.db")


def test_stats_off():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
    CondPoll(app)
    assert app.extensions["condpoll"].stats is None


def test_one_flusher_thread_however_busy():
    import threading

    from flask_condpoll import signals

    class SlowStore(MemoryStore):
        def add(self, batch_id, batch):
            import time

            time.sleep(0.01)
            super().add(batch_id, batch)

    app = Flask(__name__)
    store = SlowStore()
    Collector(store, flush_interval=3600, flush_count=100).connect(app)
    before = threading.active_count()
    peak = before
    for _ in range(3000):
        signals.not_modified_sent.send(
            app, endpoint="e", method="GET", status=304, size=0, elapsed=0.0001
        )
        peak = max(peak, threading.active_count())
    assert peak <= before + 1


def configured_app(instance_path: str, **config: object) -> Flask:
    """An app whose collector CONDPOLL_STATS_URL builds (SQLite, in the
    instance folder), flushing only when asked or at exit, with one view."""
    app = Flask(__name__, instance_path=instance_path)
    app.config.update(
        SECRET_KEY="s",
        CONDPOLL_STATS_URL="sqlite:///stats.sqlite3",
        CONDPOLL_STATS_FLUSH_INTERVAL=3600,
        **config,
    )
    CondPoll(app)

    @app.get("/")
    @conditional(etag=lambda: 1)
    def index():
        return "x"

    return app


def test_the_configured_collector_needs_no_signal(tmp_path):
    from flask_condpoll import signals

    app = configured_app(str(tmp_path))
    client = app.test_client()
    tag = client.get("/").headers["ETag"]
    assert client.get("/", headers={"If-None-Match": tag}).status_code == 304
    for sent in (signals.not_modified_sent, signals.full_response_sent):
        assert not list(sent.receivers_for(app))
    state = app.extensions["condpoll"]
    state.stats.flush()
    (row,) = summarize(state.stats_store.totals())
    assert (row.requests, row.not_modified, row.full) == (2, 1, 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_with_no_counts_and_a_free_lock(app, store):
    client = app.test_client()
    client.get("/item")
    collector = app.collector
    collector._lock.acquire()  # held by another thread when the process forks
    try:
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only if it counts its own request alone
            try:
                client.get("/item")
                collector.flush()
                os._exit(0 if store.totals()["item"][0] == 1 else 1)
            except BaseException:
                os._exit(2)
    finally:
        collector._lock.release()
    deadline = time.monotonic() + 10
    while not (ended := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if not ended[0]:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the child hung on the lock its parent held")
    assert os.waitstatus_to_exitcode(ended[1]) == 0
    assert stats_of(app, store).requests == 1  # the parent's own request


class LandsThenFails(MemoryStore):
    """A store whose next write lands but reports a failure (a timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.uncertain = 0

    def add(self, batch_id, batch):
        super().add(batch_id, batch)
        if self.uncertain:
            self.uncertain -= 1
            raise StatsStoreError("timed out")


def test_a_write_that_landed_but_failed_is_counted_once_as_an_error():
    store = LandsThenFails()
    collector = Collector(store, flush_interval=3600, flush_count=10**9)
    for _ in range(3):
        collector.count_not_modified("e", 0.001)
    store.uncertain = 1
    collector.flush()  # lands, reported as failed
    collector.count_not_modified("e", 0.001)
    collector.flush()
    collector.flush()
    totals = store.totals()
    assert totals["e"][0] == 4  # not counted twice
    overflow = dict(zip(COUNTERS, totals[OVERFLOW], strict=True))
    assert overflow["store_errors"] == 1


def test_overflow_is_stored_once_even_when_its_own_write_fails_after_landing():
    store = LandsThenFails()
    collector = Collector(store, flush_interval=3600, flush_count=10**9)
    store.failing = True
    collector.count_not_modified("e", 0.001)
    collector.flush()  # one store error
    store.failing = False
    store.uncertain = 1  # the overflow batch lands, then "fails"
    collector.flush()
    collector.flush()
    overflow = dict(zip(COUNTERS, store.totals()[OVERFLOW], strict=True))
    assert overflow["store_errors"] == 2  # the outage and the uncertain write
    assert store.totals()["e"][0] == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_during_an_outage_does_not_repeat_its_parents_overflow():
    store = MemoryStore()
    collector = Collector(store, flush_interval=3600, flush_count=10**9, max_pending=1)
    store.failing = True
    for requests in (2, 3):
        for _ in range(requests):
            collector.count_not_modified("e", 0.001)
        collector.flush()  # the second flush drops the first batch
    pid = os.fork()
    if pid == 0:  # the child starts with nothing of its parent's to store
        store.failing = False
        collector.flush()
        os._exit(0 if store.totals() == {} else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    store.failing = False
    collector.flush()
    overflow = dict(zip(COUNTERS, store.totals()[OVERFLOW], strict=True))
    assert (overflow["requests"], overflow["batches_dropped"]) == (2, 1)
    assert overflow["store_errors"] == 2


def _build_and_count_five(instance_path: str) -> None:
    _count_five(configured_app(instance_path))


def _count_five(app: Flask) -> None:
    for _ in range(5):
        app.test_client().get("/")


def test_a_multiprocessing_child_flushes_when_it_ends(tmp_path):
    """multiprocessing ends its children without running atexit."""
    import multiprocessing

    from flask_condpoll.stats.sqlite_store import SQLiteStatsStore

    child = multiprocessing.get_context("fork").Process(
        target=_build_and_count_five, args=(str(tmp_path),)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    store = SQLiteStatsStore(str(tmp_path / "stats.sqlite3"))
    assert store.totals()["index"][0] == 5


def test_a_multiprocessing_child_of_a_preloaded_app_flushes_when_it_ends(tmp_path):
    import multiprocessing

    app = configured_app(str(tmp_path))
    child = multiprocessing.get_context("fork").Process(target=_count_five, args=(app,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert app.extensions["condpoll"].stats_store.totals()["index"][0] == 5
