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
import bisect
import logging
import os
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass

from . import signals

if t.TYPE_CHECKING:
    from flask import Flask

    from .stats_store import StatsStore

logger = logging.getLogger("flask_condpoll")

#: Upper bounds, in microseconds, of the time histogram's buckets; a last
#: bucket holds everything slower.
TIME_BOUNDS = (
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
    100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000,
)  # fmt: skip

#: Every counter kept per endpoint and time bucket, in storage order.
COUNTERS = (
    "requests",  # every conditional request
    "reads",  # GET and HEAD requests
    "not_modified",  # 304s
    "full",  # responses from the view
    "validated",  # ... that carried validators
    "precondition_failed",  # 412s
    "precondition_required",  # 428s
    "generator_failed",
    "bytes_sent",  # body bytes of every response
    "full_bytes",  # body bytes of validated GET responses
    "full_sized",  # how many responses full_bytes adds up
    "time_304_us",
    "time_full_us",
    *(f"t304_{i}" for i in range(len(TIME_BOUNDS) + 1)),
    *(f"tfull_{i}" for i in range(len(TIME_BOUNDS) + 1)),
)
INDEX = {name: position for position, name in enumerate(COUNTERS)}
_REQUESTS, _READS, _NOT_MODIFIED, _FULL, _VALIDATED = range(5)
_FAILED, _REQUIRED, _GENERATOR_FAILED, _BYTES_SENT = range(5, 9)
_FULL_BYTES, _FULL_SIZED, _TIME_304, _TIME_FULL = range(9, 13)
_T304 = INDEX["t304_0"]
_TFULL = INDEX["tfull_0"]

#: The endpoint under which dropped requests are counted (``requests``).
OVERFLOW = "<overflow>"

Key = tuple[str, int]  # (endpoint, bucket start in seconds)
Batch = dict[Key, list[int]]


def time_bucket(elapsed: float) -> int:
    """The histogram bucket for ``elapsed`` seconds."""
    return bisect.bisect_left(TIME_BOUNDS, elapsed * 1_000_000)


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
        self.dropped = 0
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
        read = kw["method"] in ("GET", "HEAD")
        with self._add(kw["endpoint"]) as counts:
            counts[_REQUESTS] += 1
            counts[_READS] += read
            counts[_FULL] += 1
            counts[_BYTES_SENT] += size
            if kw["validated"]:
                counts[_VALIDATED] += 1
                if kw["method"] == "GET":
                    counts[_FULL_BYTES] += size
                    counts[_FULL_SIZED] += 1
            counts[_TIME_FULL] += int(elapsed * 1_000_000)
            counts[_TFULL + time_bucket(elapsed)] += 1

    def _refused(self, sender: Flask, **kw: t.Any) -> None:
        with self._add(kw["endpoint"]) as counts:
            counts[_REQUESTS] += 1
            counts[_READS] += kw["method"] in ("GET", "HEAD")
            counts[_FAILED if kw["status"] == 412 else _REQUIRED] += 1
            counts[_BYTES_SENT] += kw["size"]

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
                if self.dropped:
                    batch = dict(batch)
                    overflow = batch.setdefault((OVERFLOW, 0), [0] * len(COUNTERS))
                    overflow[_REQUESTS] += self.dropped
                try:
                    self.store.add(batch_id, batch)
                except Exception as exc:
                    if not self._outage:
                        self._outage = True
                        logger.warning(
                            "The stats store is unreachable (%s): keeping counts"
                            " in memory and retrying.",
                            exc,
                        )
                    return
                self._pending.pop(0)
                self.dropped = 0
                if self._outage:
                    self._outage = False
                    logger.warning("The stats store is reachable again.")

    def _drop(self, batch: Batch) -> None:
        requests = sum(counts[_REQUESTS] for counts in batch.values())
        self.dropped += requests
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


@dataclass(frozen=True)
class EndpointStats:
    """The numbers for one endpoint, as the ``stats`` command shows them."""

    endpoint: str
    counts: dict[str, int]

    def __getattr__(self, name: str) -> int:
        try:
            return self.counts[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def ratio(self) -> float | None:
        """304s per GET or HEAD request."""
        reads = self.counts["reads"]
        return self.counts["not_modified"] / reads if reads else None

    @property
    def mean_full_bytes(self) -> float:
        sized = self.counts["full_sized"]
        return self.counts["full_bytes"] / sized if sized else 0.0

    @property
    def bytes_saved(self) -> int:
        """304s times the mean size of a full response."""
        return round(self.counts["not_modified"] * self.mean_full_bytes)

    def mean_ms(self, path: str) -> float | None:
        """Mean milliseconds on the ``"304"`` or ``"full"`` path."""
        count = self.counts["not_modified" if path == "304" else "full"]
        total = self.counts[f"time_{path}_us"]
        return total / count / 1000 if count else None

    def p95_ms(self, path: str) -> float | None:
        """The 95th percentile on a path: the upper bound of its bucket."""
        prefix = "t304" if path == "304" else "tfull"
        buckets = [self.counts[f"{prefix}_{i}"] for i in range(len(TIME_BOUNDS) + 1)]
        total = sum(buckets)
        if not total:
            return None
        running = 0
        for index, count in enumerate(buckets):
            running += count
            if running >= 0.95 * total:
                bound = TIME_BOUNDS[min(index, len(TIME_BOUNDS) - 1)]
                return bound / 1000
        return None  # pragma: no cover

    @property
    def time_saved_ms(self) -> float:
        """304s times the difference of the mean times."""
        full, short = self.mean_ms("full"), self.mean_ms("304")
        if full is None or short is None:
            return 0.0
        return self.counts["not_modified"] * max(full - short, 0.0)

    @property
    def verdict(self) -> str:
        """Whether polling with validators pays off here."""
        ratio = self.ratio
        if ratio is None or self.counts["reads"] < 20:
            return "too few requests to tell"
        if ratio >= 0.7:
            return "working: most polls cost a 304"
        if ratio < 0.3:
            return "changes too often: consider SSE or a longer interval"
        return "mixed: check what changes the version"


def summarize(totals: dict[str, list[int]]) -> list[EndpointStats]:
    """Turn stored counter vectors into :class:`EndpointStats`, by endpoint."""
    return [
        EndpointStats(endpoint, dict(zip(COUNTERS, counts, strict=True)))
        for endpoint, counts in sorted(totals.items())
    ]
