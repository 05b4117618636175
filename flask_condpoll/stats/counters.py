"""The counters kept per endpoint and time bucket, in storage order."""

from __future__ import annotations

import bisect

#: Upper bounds, in microseconds, of the time histogram's buckets; a last
#: bucket holds everything slower.
TIME_BOUNDS = (
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
    100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000,
)  # fmt: skip

#: Every counter kept per endpoint and time bucket, in storage order.
COUNTERS = (
    "requests",  # every request a conditional view answered
    "reads",  # GET and HEAD requests
    "not_modified",  # 304s (and 204s to htmx 4 polls)
    "full",  # responses from the view
    "validated",  # ... that carried validators
    "precondition_failed",  # 412s (and 503s to unverifiable writes)
    "precondition_required",  # 428s
    "generator_failed",
    "bytes_sent",  # body bytes of every response of known size
    "full_bytes",  # body bytes of validated GET responses
    "full_sized",  # how many responses full_bytes adds up
    "time_304_us",
    "time_full_us",
    *(f"t304_{i}" for i in range(len(TIME_BOUNDS) + 1)),
    *(f"tfull_{i}" for i in range(len(TIME_BOUNDS) + 1)),
    "aborted",  # the view or a generator raised (abort(404), errors)
    # Counted under OVERFLOW only, once the store takes them:
    "store_errors",  # flushes that failed
    "batches_dropped",  # batches given up after CONDPOLL_STATS_MAX_PENDING
)
INDEX = {name: position for position, name in enumerate(COUNTERS)}

#: The endpoint under which the collection's own troubles are counted:
#: dropped requests (``requests``), ``store_errors`` and ``batches_dropped``.
OVERFLOW = "<overflow>"

Key = tuple[str, int]  # (endpoint, bucket start in seconds)
Batch = dict[Key, list[int]]
Series = dict[str, dict[int, list[int]]]  # endpoint -> bucket start -> counts


def time_bucket(elapsed: float) -> int:
    """The histogram bucket for ``elapsed`` seconds."""
    return bisect.bisect_left(TIME_BOUNDS, elapsed * 1_000_000)


def sum_by_endpoint(batch: Batch) -> dict[str, list[int]]:
    """The counts of ``batch`` added up per endpoint, over its buckets."""
    sums: dict[str, list[int]] = {}
    for (endpoint, _), counts in batch.items():
        into = sums.setdefault(endpoint, [0] * len(COUNTERS))
        for position, value in enumerate(counts):
            into[position] += value
    return sums


def settled_until(bucket_seconds: int, flush_interval: float, now: float) -> int:
    """The start of the oldest time bucket that may still grow.

    Buckets before it are complete: every process has flushed them. A view
    that shows only these changes once per bucket, not on every flush, so
    its own polls can be 304s.
    """
    return int((now - flush_interval) // bucket_seconds * bucket_seconds)
