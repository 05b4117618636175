"""Counting what conditional views do, per endpoint, from the signals.

Receivers add to counters in memory; a flusher merges them into a store in
batches: after ``CONDPOLL_STATS_FLUSH_COUNT`` requests, every
``CONDPOLL_STATS_FLUSH_INTERVAL`` seconds, and when the process exits. A
batch that cannot be stored is kept and retried; past
``CONDPOLL_STATS_MAX_PENDING`` kept batches the oldest is dropped and the
requests it held are counted as overflow.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import typing as t
import uuid

from .. import signals
from .counters import Batch
from .counters import COUNTERS
from .counters import INDEX
from .counters import OVERFLOW
from .counters import time_bucket

if t.TYPE_CHECKING:
    from flask import Flask

    from .stores import StatsStore

logger = logging.getLogger("flask_condpoll")

_REQUESTS, _READS, _NOT_MODIFIED, _FULL, _VALIDATED = range(5)
_FAILED, _REQUIRED, _GENERATOR_FAILED, _BYTES_SENT = range(5, 9)
_FULL_BYTES, _FULL_SIZED, _TIME_304, _TIME_FULL = range(9, 13)
_T304 = INDEX["t304_0"]
_TFULL = INDEX["tfull_0"]
_ABORTED = INDEX["aborted"]
_STORE_ERRORS = INDEX["store_errors"]
_BATCHES_DROPPED = INDEX["batches_dropped"]
_READ_METHODS = frozenset(("GET", "HEAD"))


class Collector:
    """Counts one application's conditional requests and flushes them.

    :param store: where batches go.
    :param bucket_seconds: width of a time bucket (for ``--since``).
    :param flush_count: flush after this many requests.
    :param flush_interval: flush at least this often, in seconds.
    :param max_pending: batches kept while the store is unreachable.
    """

    def __init__(
        self,
        store: StatsStore,
        *,
        bucket_seconds: int = 60,
        flush_count: int = 1000,
        flush_interval: float = 1.0,
        max_pending: int = 600,
    ) -> None:
        self.store = store
        self.bucket_seconds = bucket_seconds
        self.flush_count = flush_count
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        #: Requests, batches and failed flushes not stored yet: they go under
        #: OVERFLOW with the next batch the store takes.
        self.dropped = self.dropped_batches = self.store_errors = 0
        self._reset_process()
        atexit.register(self.flush)

    def _reset_process(self) -> None:
        """State that must not be shared with a forked child."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._current: Batch = {}
        self._count = 0
        self._pending: list[tuple[str, Batch]] = []
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._outage = False

    def connect(self, app: Flask) -> None:
        """Subscribe to ``app``'s signals."""
        signals.not_modified_sent.connect(self._not_modified, app, weak=False)
        signals.full_response_sent.connect(self._full, app, weak=False)
        signals.precondition_failed_sent.connect(self._refused, app, weak=False)
        signals.generator_failed.connect(self._generator_failed, app, weak=False)
        signals.request_aborted.connect(self._aborted, app, weak=False)

    # Receivers: each updates one vector under the lock, nothing more.

    def _not_modified(self, sender: Flask, **kw: t.Any) -> None:
        elapsed = kw["elapsed"]
        with self._add(kw["endpoint"]) as counts:
            counts[_REQUESTS] += 1
            counts[_READS] += 1
            counts[_NOT_MODIFIED] += 1
            counts[_TIME_304] += int(elapsed * 1_000_000)
            counts[_T304 + time_bucket(elapsed)] += 1

    def _full(self, sender: Flask, **kw: t.Any) -> None:
        elapsed, size = kw["elapsed"], kw["size"]
        with self._add(kw["endpoint"]) as counts:
            counts[_REQUESTS] += 1
            counts[_READS] += kw["method"] in _READ_METHODS
            counts[_FULL] += 1
            if size is not None:
                counts[_BYTES_SENT] += size
            if kw["validated"]:
                counts[_VALIDATED] += 1
                if kw["method"] == "GET" and size is not None:
                    counts[_FULL_BYTES] += size
                    counts[_FULL_SIZED] += 1
            counts[_TIME_FULL] += int(elapsed * 1_000_000)
            counts[_TFULL + time_bucket(elapsed)] += 1

    def _refused(self, sender: Flask, **kw: t.Any) -> None:
        with self._add(kw["endpoint"]) as counts:
            counts[_REQUESTS] += 1
            counts[_READS] += kw["method"] in _READ_METHODS
            counts[_REQUIRED if kw["status"] == 428 else _FAILED] += 1
            counts[_BYTES_SENT] += kw["size"] or 0

    def _aborted(self, sender: Flask, **kw: t.Any) -> None:
        with self._add(kw["endpoint"]) as counts:
            counts[_REQUESTS] += 1
            counts[_READS] += kw["method"] in _READ_METHODS
            counts[_ABORTED] += 1

    def _generator_failed(self, sender: Flask, **kw: t.Any) -> None:
        with self._add(kw["endpoint"], request=False) as counts:
            counts[_GENERATOR_FAILED] += 1

    def _add(self, endpoint: str | None, request: bool = True) -> _Adding:
        if self._pid != os.getpid():
            self._reset_process()
        return _Adding(self, endpoint or "<unknown>", request)

    def _vector(self, endpoint: str) -> list[int]:
        key = (endpoint, int(time.time()) // self.bucket_seconds * self.bucket_seconds)
        counts = self._current.get(key)
        if counts is None:
            counts = self._current[key] = [0] * len(COUNTERS)
        return counts

    def _after_request(self) -> None:
        """Called with the lock held, once per request."""
        self._count += 1
        if self._thread is None:
            self._thread = threading.Thread(target=self._flusher, daemon=True)
            self._thread.start()
        if self._count >= self.flush_count:
            self._count = 0
            self._wake.set()

    def _flusher(self) -> None:
        """One thread per process: flush every interval, or when woken."""
        pid, wake = os.getpid(), self._wake
        while self._pid == pid:
            wake.wait(self.flush_interval)
            wake.clear()
            self.flush()

    def flush(self) -> None:
        """Store every batch counted so far; keep what could not be stored."""
        if self._pid != os.getpid():
            return
        with self._lock:
            batch, self._current, self._count = self._current, {}, 0
        with self._flush_lock:
            if batch:
                self._pending.append((uuid.uuid4().hex, batch))
            while len(self._pending) > self.max_pending:
                _, lost = self._pending.pop(0)
                self._drop(lost)
            while self._pending:
                batch_id, batch = self._pending[0]
                if self.dropped or self.dropped_batches or self.store_errors:
                    overflow = [0] * len(COUNTERS)
                    overflow[_REQUESTS] = self.dropped
                    overflow[_BATCHES_DROPPED] = self.dropped_batches
                    overflow[_STORE_ERRORS] = self.store_errors
                    batch = {**batch, (OVERFLOW, 0): overflow}
                try:
                    self.store.add(batch_id, batch)
                except Exception as exc:
                    self.store_errors += 1
                    if not self._outage:
                        self._outage = True
                        logger.warning(
                            "The stats store is unreachable (%s): keeping counts"
                            " in memory and retrying.",
                            exc,
                        )
                    return
                self._pending.pop(0)
                self.dropped = self.dropped_batches = self.store_errors = 0
                if self._outage:
                    self._outage = False
                    logger.warning("The stats store is reachable again.")

    def _drop(self, batch: Batch) -> None:
        requests = sum(counts[_REQUESTS] for counts in batch.values())
        self.dropped += requests
        self.dropped_batches += 1
        logger.error(
            "The stats store has been unreachable too long: dropped the counts of"
            " %d requests (reported as overflow).",
            requests,
        )


class _Adding:
    """``with collector._add(endpoint) as counts``: the locked vector."""

    __slots__ = ("collector", "endpoint", "request")

    def __init__(self, collector: Collector, endpoint: str, request: bool) -> None:
        self.collector, self.endpoint, self.request = collector, endpoint, request

    def __enter__(self) -> list[int]:
        self.collector._lock.acquire()
        return self.collector._vector(self.endpoint)

    def __exit__(self, *exc: object) -> None:
        collector = self.collector
        if self.request:
            collector._after_request()
        collector._lock.release()
