"""Where stats batches go: SQLite on one machine, Redis across many.

A store adds batches atomically and idempotently (a batch retried after an
uncertain failure is not counted twice) and sums them back per endpoint:
per time bucket for a window, or over its whole life for counters that
must never go down (Prometheus).
"""

from __future__ import annotations

import typing as t

from .counters import Batch
from .counters import Series


class StatsStoreError(Exception):
    """The stats store could not be read or written."""


class StatsStore(t.Protocol):
    """What a stats store provides."""

    #: Where the counts are, for messages.
    location: str

    def add(self, batch_id: str, batch: Batch) -> None:
        """Add ``batch`` once, atomically: adding the same id again does nothing."""

    def totals(
        self,
        since: float | None = None,
        endpoint: str | None = None,
        until: float | None = None,
    ) -> dict[str, list[int]]:
        """Counter vectors summed per endpoint, over the time buckets from
        ``since`` and before ``until`` (timestamps). Nothing stored yet is
        ``{}``; a store that cannot be read raises
        :class:`StatsStoreError`."""

    def series(
        self,
        since: float | None = None,
        endpoint: str | None = None,
        until: float | None = None,
    ) -> Series:
        """The same, per endpoint and time bucket (its start in seconds)."""

    def lifetime(self) -> dict[str, list[int]]:
        """Counter vectors per endpoint since the last :meth:`reset`, never
        pruned: they only grow."""

    def reset(self) -> None:
        """Delete every count."""
