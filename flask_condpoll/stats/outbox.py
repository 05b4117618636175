"""Batches of counts on their way to a stats store, each stored exactly once.

A batch that cannot be stored is kept and retried with the same id, so a
write that failed after it landed is not counted twice. Past ``max_pending``
kept batches the oldest is dropped and the requests it held are counted as
overflow, along with the failed writes; the overflow travels as a batch of
its own, under :data:`~.counters.OVERFLOW`, with an id of its own.
"""

from __future__ import annotations

import logging
import typing as t
import uuid

from .counters import Batch
from .counters import COUNTERS
from .counters import INDEX
from .counters import OVERFLOW

if t.TYPE_CHECKING:
    from .stores import StatsStore

logger = logging.getLogger("flask_condpoll")

_REQUESTS = INDEX["requests"]
_STORE_ERRORS = INDEX["store_errors"]
_BATCHES_DROPPED = INDEX["batches_dropped"]


class Outbox:
    """The batches one process has not stored yet. Not thread-safe: the
    collector sends under its flush lock.

    :param store: where batches go.
    :param max_pending: batches kept while the store is unreachable.
    """

    def __init__(self, store: StatsStore, max_pending: int) -> None:
        self.store = store
        self.max_pending = max_pending
        #: Requests, batches and failed writes not stored yet (the overflow).
        self.dropped = self.dropped_batches = self.store_errors = 0
        self._pending: list[tuple[str, Batch]] = []
        self._overflow: tuple[str, Batch] | None = None
        self._outage = False

    def __bool__(self) -> bool:
        """Whether anything is waiting to be stored."""
        return bool(self._pending or self._overflow) or self._has_overflow()

    def put(self, batch: Batch) -> None:
        """Queue ``batch`` under a new id, dropping the oldest past the limit."""
        if batch:
            self._pending.append((uuid.uuid4().hex, batch))
        while len(self._pending) > self.max_pending:
            _, lost = self._pending.pop(0)
            self._drop(lost)

    def send(self) -> None:
        """Store the overflow, then each batch in order, until the store fails."""
        while True:
            if self._overflow is None and self._has_overflow():
                self._overflow = self._take_overflow()
            head = self._overflow or (self._pending[0] if self._pending else None)
            if head is None or not self._store(*head):
                return
            if self._overflow is not None:
                self._overflow = None
            else:
                self._pending.pop(0)

    def requests(self) -> int:
        """The requests counted in the batches waiting."""
        return sum(
            counts[_REQUESTS] for _, batch in self._pending for counts in batch.values()
        )

    def _store(self, batch_id: str, batch: Batch) -> bool:
        """Add one batch to the store; log when an outage starts and ends."""
        try:
            self.store.add(batch_id, batch)
        except Exception as exc:
            self.store_errors += 1
            if not self._outage:
                self._outage = True
                logger.warning(
                    "The stats store is unreachable (%s): keeping counts in memory"
                    " and retrying.",
                    exc,
                )
            return False
        if self._outage:
            self._outage = False
            logger.warning("The stats store is reachable again.")
        return True

    def _has_overflow(self) -> bool:
        return bool(self.dropped or self.dropped_batches or self.store_errors)

    def _take_overflow(self) -> tuple[str, Batch]:
        """The overflow so far as a batch of its own; its id stays until stored."""
        overflow = [0] * len(COUNTERS)
        overflow[_REQUESTS] = self.dropped
        overflow[_BATCHES_DROPPED] = self.dropped_batches
        overflow[_STORE_ERRORS] = self.store_errors
        self.dropped = self.dropped_batches = self.store_errors = 0
        return uuid.uuid4().hex, {(OVERFLOW, 0): overflow}

    def _drop(self, batch: Batch) -> None:
        requests = sum(counts[_REQUESTS] for counts in batch.values())
        self.dropped += requests
        self.dropped_batches += 1
        logger.error(
            "The stats store has been unreachable too long: dropped the counts of"
            " %d requests (reported as overflow).",
            requests,
        )
