"""Redis failing and coming back, as one process sees it.

After a failure, Redis is not tried again for ``retry_interval`` seconds, so
a dead Redis costs nothing per request; the outage is logged once when it
begins and once when it ends. When it ends, the versions are not trusted for
``settle`` seconds more: the bumps that other processes kept during the
outage are retried on their own schedule, and until they land, Redis holds
versions older than the data.
"""

from __future__ import annotations

import logging
import time

from .base import RegistryUnavailable

logger = logging.getLogger("flask_condpoll")


class Outage:
    """One process's view of a Redis registry's outages.

    :param retry_interval: seconds not to try Redis after a failure.
    :param settle: seconds not to trust its versions after it is back.
    """

    def __init__(self, retry_interval: float, settle: float) -> None:
        self.retry_interval = retry_interval
        self.settle = settle
        #: ``time.monotonic()`` before which Redis is not tried (0: try it).
        self.down_until = 0.0
        self._down = False
        self._settled_at = 0.0

    def waiting(self) -> bool:
        """Whether Redis failed less than ``retry_interval`` seconds ago."""
        return bool(self.down_until) and time.monotonic() < self.down_until

    def check(self) -> None:
        """Raise while the versions cannot be trusted: Redis just failed, or
        it is back and other processes' bumps may not have landed yet."""
        if self.waiting():
            raise RegistryUnavailable("Redis is unreachable; retrying shortly.")
        if self._settled_at and time.monotonic() < self._settled_at:
            raise RegistryUnavailable(
                "Redis is back; bumps kept by other processes during the"
                " outage may not have landed yet."
            )

    def failed(self, exc: Exception) -> None:
        self.down_until = time.monotonic() + self.retry_interval
        if not self._down:
            self._down = True
            logger.warning(
                "The Redis version registry is unreachable (%s): conditional"
                " views answer in full until it is back.",
                exc,
            )

    def succeeded(self) -> None:
        self.down_until = 0.0
        if self._down:
            self._down = False
            self._settled_at = time.monotonic() + self.settle
            logger.warning("The Redis version registry is reachable again.")
