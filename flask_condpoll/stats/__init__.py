"""Stats: what conditional views do, counted per endpoint from the signals,
stored across processes, and summarised by ``flask condpoll stats``, the
stats page and (with the ``metrics`` extra) Prometheus metrics."""

from __future__ import annotations

from .collector import Collector
from .counters import COUNTERS
from .counters import INDEX
from .counters import OVERFLOW
from .counters import settled_until
from .counters import TIME_BOUNDS
from .counters import time_bucket
from .factory import store_from_url
from .page import stats_page
from .stores import StatsStore
from .stores import StatsStoreError
from .summary import EndpointStats
from .summary import summarize

__all__ = [
    "COUNTERS",
    "INDEX",
    "OVERFLOW",
    "TIME_BOUNDS",
    "Collector",
    "EndpointStats",
    "StatsStore",
    "StatsStoreError",
    "settled_until",
    "stats_page",
    "store_from_url",
    "summarize",
    "time_bucket",
]
