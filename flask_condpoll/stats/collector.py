"""Counting what conditional views do, per endpoint.

The views call the ``count_*`` methods of the collector that
``CONDPOLL_STATS_URL`` configures; any other collector counts from the
signals once connected. Counts add up in memory; a flusher merges them into
a store in batches: after ``CONDPOLL_STATS_FLUSH_COUNT`` requests, every
``CONDPOLL_STATS_FLUSH_INTERVAL`` seconds, and when the process exits. What
cannot be stored yet waits in an :class:`~.outbox.Outbox`.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util
import threading
import time
import typing as t

from .. import signals
from ..core.forks import reset_after_fork
from .counters import Batch
from .counters import COUNTERS
from .counters import INDEX
from .counters import time_bucket
from .outbox import Outbox

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
_READ_METHODS = frozenset(("GET", "HEAD"))


def _flush_when_finalized(collector: Collector) -> None:
    """In a ``multiprocessing`` child, which ends without running atexit."""
    multiprocessing.util.Finalize(collector, collector.flush_at_exit, exitpriority=10)


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
        self.after_fork()
        reset_after_fork(self)
        atexit.register(self.flush_at_exit)
        # A multiprocessing child ends without running atexit: this one, or
        # one forked from this process later.
        if multiprocessing.parent_process() is not None:
            _flush_when_finalized(self)
        multiprocessing.util.register_after_fork(self, _flush_when_finalized)

    def after_fork(self) -> None:
        """State that a forked child must not share with its parent."""
        self._outbox = Outbox(self.store, self.max_pending)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._current: Batch = {}
        self._count = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def connect(self, app: Flask) -> None:
        """Count what the :mod:`~flask_condpoll.signals` report for ``app``.

        The collector that ``CONDPOLL_STATS_URL`` configures needs no
        connecting: the views call its ``count_*`` methods directly, without
        a signal's round trip.
        """
        signals.not_modified_sent.connect(self._on_not_modified, app, weak=False)
        signals.full_response_sent.connect(self._on_full, app, weak=False)
        signals.precondition_failed_sent.connect(self._on_refused, app, weak=False)
        signals.generator_failed.connect(self._on_generator_failed, app, weak=False)
        signals.request_aborted.connect(self._on_aborted, app, weak=False)

    def _on_not_modified(self, sender: Flask, **kw: t.Any) -> None:
        self.count_not_modified(kw["endpoint"], kw["elapsed"])

    def _on_full(self, sender: Flask, **kw: t.Any) -> None:
        self.count_full(
            kw["endpoint"], kw["method"], kw["size"], kw["validated"], kw["elapsed"]
        )

    def _on_refused(self, sender: Flask, **kw: t.Any) -> None:
        self.count_refused(kw["endpoint"], kw["method"], kw["status"], kw["size"])

    def _on_aborted(self, sender: Flask, **kw: t.Any) -> None:
        self.count_aborted(kw["endpoint"], kw["method"])

    def _on_generator_failed(self, sender: Flask, **kw: t.Any) -> None:
        self.count_generator_failed(kw["endpoint"])

    # Each count updates one vector under the lock, nothing more: the 304's
    # is on the hot path.

    def count_not_modified(self, endpoint: str | None, elapsed: float) -> None:
        """A 304 (or 204) sent in ``elapsed`` seconds without running the view."""
        micros = int(elapsed * 1_000_000)
        with self._lock:
            counts = self._vector(endpoint)
            counts[_REQUESTS] += 1
            counts[_READS] += 1
            counts[_NOT_MODIFIED] += 1
            counts[_TIME_304] += micros
            counts[_T304 + time_bucket(elapsed)] += 1
            self._counted()

    def count_full(
        self,
        endpoint: str | None,
        method: str,
        size: int | None,
        validated: bool,
        elapsed: float,
    ) -> None:
        """A response from the view, of ``size`` body bytes (``None``: unknown)."""
        micros = int(elapsed * 1_000_000)
        with self._lock:
            counts = self._vector(endpoint)
            counts[_REQUESTS] += 1
            counts[_READS] += method in _READ_METHODS
            counts[_FULL] += 1
            if size is not None:
                counts[_BYTES_SENT] += size
            if validated:
                counts[_VALIDATED] += 1
                if method == "GET" and size is not None:
                    counts[_FULL_BYTES] += size
                    counts[_FULL_SIZED] += 1
            counts[_TIME_FULL] += micros
            counts[_TFULL + time_bucket(elapsed)] += 1
            self._counted()

    def count_refused(
        self, endpoint: str | None, method: str, status: int, size: int | None
    ) -> None:
        """A 412, 428 or 503 sent without running the view."""
        with self._lock:
            counts = self._vector(endpoint)
            counts[_REQUESTS] += 1
            counts[_READS] += method in _READ_METHODS
            counts[_REQUIRED if status == 428 else _FAILED] += 1
            counts[_BYTES_SENT] += size or 0
            self._counted()

    def count_aborted(self, endpoint: str | None, method: str) -> None:
        """The view, a generator or a mixin raised instead of returning."""
        with self._lock:
            counts = self._vector(endpoint)
            counts[_REQUESTS] += 1
            counts[_READS] += method in _READ_METHODS
            counts[_ABORTED] += 1
            self._counted()

    def count_generator_failed(self, endpoint: str | None) -> None:
        """A generator or mixin raised (the request is counted when answered)."""
        with self._lock:
            self._vector(endpoint)[_GENERATOR_FAILED] += 1

    def _vector(self, endpoint: str | None) -> list[int]:
        """The counts of ``endpoint`` in the current time bucket (lock held)."""
        width = self.bucket_seconds
        key = (endpoint or "<unknown>", int(time.time()) // width * width)
        counts = self._current.get(key)
        if counts is None:
            counts = self._current[key] = [0] * len(COUNTERS)
        return counts

    def _counted(self) -> None:
        """One more request counted (lock held)."""
        self._count += 1
        if self._count >= self.flush_count or self._thread is None:
            self._wake_flusher()

    def _wake_flusher(self) -> None:
        """Start this process's flusher thread, or wake it for a full batch."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._flusher, daemon=True)
            self._thread.start()
        if self._count >= self.flush_count:
            self._count = 0
            self._wake.set()

    def _flusher(self) -> None:
        """One thread per process: flush every interval, or when woken."""
        wake = self._wake
        while True:
            wake.wait(self.flush_interval)
            wake.clear()
            self.flush()

    def flush(self) -> None:
        """Store every batch counted so far; keep what could not be stored.

        When it returns, every count made before the call is stored, or kept
        to be retried by the next flush.
        """
        with self._flush_lock:
            with self._lock:
                batch, self._current, self._count = self._current, {}, 0
            self._outbox.put(batch)
            self._outbox.send()

    def flush_at_exit(self, attempts: int = 3) -> None:
        """Flush, trying again briefly on a passing failure; log what is lost."""
        for attempt in range(attempts):
            if attempt:
                time.sleep(0.1)
            self.flush()
            if not self._outbox:
                return
        lost = self._outbox.requests()
        if lost:
            logger.error(
                "The stats store is unreachable at exit: the counts of %d requests"
                " are lost.",
                lost,
            )
