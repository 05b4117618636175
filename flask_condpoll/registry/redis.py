"""Versions in Redis: shared by every worker process and host.

Each name's key holds ``<version>:<bump time>``. A version never repeats, even
if its key is evicted or deleted: a missing key restarts at a random number
out of 2**52 rather than at 1, so the versions handed out before are not
reproduced. An epoch key is part of every reading; it is renewed when the
server changed (restarted from disk, restored, failed over: see
:mod:`.restarts`), when a process sees a version go backwards, and after bumps
were lost, so no old tag becomes current again.

Undelivered bumps are retried from a background thread, with back-off, until
Redis answers; if too many pile up, they are dropped and the epoch renewed.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import secrets
import threading
import time
import typing as t
from collections.abc import Iterable
from collections.abc import Sequence

from .base import Listener
from .base import Reading
from .base import RegistryUnavailable
from .notifications import SEPARATOR
from .notifications import Subscriber
from .outages import Outage
from .restarts import ServerCheck
from .scripts import BUMP
from .scripts import CREATE
from .scripts import RENEW_EPOCH

logger = logging.getLogger("flask_condpoll")

#: Random restarts are drawn below this, and versions stay exact in Lua's doubles.
RESTART_RANGE = 2**52


class RedisRegistry:
    """Versions in Redis: shared by every worker process and host.

    ``read`` runs one ``MGET`` of the epoch and the versions (and creates
    missing keys in a second round trip); ``bump`` runs one script. If Redis
    is unreachable or slower than ``timeout``, ``read`` raises
    :class:`RegistryUnavailable` (without waiting again for
    ``retry_interval`` seconds), and failed bumps are retried. Once Redis is
    back, a process that saw it fail keeps raising for ``max_retry_interval``
    plus ``timeout`` seconds more: the bumps other processes kept meanwhile
    are still on their way.

    :param url: a ``redis://``, ``rediss://`` or ``unix://`` URL.
    :param prefix: prepended to every key.
    :param timeout: seconds to wait for a connection or an answer.
    :param retry_interval: seconds before the first retry of failed bumps;
        it doubles up to ``max_retry_interval``, which bounds how long after
        Redis is back a kept bump may take to land.
    :param max_pending: names kept for retry before they are dropped (and the
        epoch renewed when Redis is back).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "condpoll:",
        timeout: float = 0.25,
        retry_interval: float = 1.0,
        max_retry_interval: float = 2.0,
        max_pending: int = 10_000,
    ) -> None:
        import redis

        self._redis_error: type[Exception] = redis.RedisError
        self._epoch_key = f"{prefix}epoch"
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            redis_connect_func=ServerCheck(f"{prefix}server", self._epoch_key),
        )
        self.prefix = prefix
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self.max_pending = max_pending
        self._bump = self.client.register_script(BUMP)
        self._create = self.client.register_script(CREATE)
        self._renew = self.client.register_script(RENEW_EPOCH)
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._lost = False
        self._retrying = False
        self._pid = os.getpid()
        self._outage = Outage(retry_interval, max_retry_interval + timeout)
        self._highest_epoch = ""
        self._highest: dict[str, int] = {}
        #: The channel every bump is published on.
        self.channel = f"{prefix}bumps"
        self._subscriber = Subscriber(url, self.channel, timeout)
        atexit.register(self._at_exit)

    def key(self, name: str) -> str:
        """The Redis key holding ``name``'s version."""
        return f"{self.prefix}v:{name}"

    def read(self, names: Sequence[str]) -> Reading:
        self._outage.check()
        if (self._pending or self._lost) and not self._flush_pending():
            raise RegistryUnavailable("Redis is unreachable; bumps are pending.")
        keys = [self.key(name) for name in names]
        try:
            values = self.client.mget([self._epoch_key, *keys])
            epoch = values[0] if values[0] is not None else self._create_epoch()
            stored = values[1:]
            if None in stored:
                stored = self._create(keys=keys, args=self._restarts(len(keys)))
            epoch = _text(epoch)
            parsed = [_parse(value) for value in stored]
            versions = [version for version, _ in parsed]
            if self._went_backwards(epoch, names, versions):
                epoch = self._renew_epoch(epoch)
        except self._redis_error as exc:
            self._outage.failed(exc)
            raise RegistryUnavailable(str(exc)) from exc
        self._outage.succeeded()
        self._outage.check()
        bumped_at = max((when for _, when in parsed), default=0.0)
        return Reading((epoch, *versions), bumped_at)

    def subscribe(self, listener: Listener) -> bool:
        return self._subscriber.subscribe(listener)

    def bump(self, names: Iterable[str]) -> None:
        with self._lock:
            self._check_fork()
            self._pending.update(names)
            if len(self._pending) > self.max_pending:
                self._drop_pending()
        if not self._flush_pending():
            self._schedule_retry()

    def _restarts(self, count: int) -> list[str]:
        """The bump time, then a random restart per key."""
        return [repr(time.time())] + [
            str(1 + secrets.randbelow(RESTART_RANGE)) for _ in range(count)
        ]

    def _flush_pending(self) -> bool:
        """Deliver pending bumps (and a lost-bumps epoch); return whether done."""
        with self._lock:
            names = sorted(self._pending)
            lost = self._lost
        if not names and not lost:
            return True
        if self._outage.waiting():
            return False
        try:
            if lost:
                self.client.set(self._epoch_key, secrets.token_hex(8))
            if names:
                keys = [self.key(name) for name in names]
                now, *restarts = self._restarts(len(keys))
                message = SEPARATOR.join(names)
                self._bump(keys=keys, args=[now, self.channel, message, *restarts])
        except self._redis_error as exc:
            self._outage.failed(exc)
            return False
        with self._lock:
            self._pending.difference_update(names)
            if lost:
                self._lost = False
                logger.warning(
                    "Renewed the Redis registry's epoch after lost bumps: every"
                    " tag changes once."
                )
        self._outage.succeeded()
        return True

    def _schedule_retry(self) -> None:
        with self._lock:
            if self._retrying:
                return
            self._retrying = True
        threading.Thread(
            target=self._retry_until_delivered, name="condpoll-registry", daemon=True
        ).start()

    def _retry_until_delivered(self) -> None:
        delay = self.retry_interval
        while True:
            time.sleep(delay)
            if self._flush_pending():
                break
            delay = min(delay * 2, self.max_retry_interval)
        with self._lock:
            self._retrying = False
            again = bool(self._pending or self._lost)
        if again:  # a bump arrived while the loop was finishing
            self._schedule_retry()

    def _drop_pending(self) -> None:
        """Called with the lock held: too many names wait for Redis."""
        logger.error(
            "%d registry bumps could not be delivered to Redis and are dropped;"
            " the epoch will be renewed when Redis is back, so every tag changes.",
            len(self._pending),
        )
        self._pending.clear()
        self._lost = True

    def _check_fork(self) -> None:
        """Called with the lock held: a forked child has no retry thread."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._retrying = False

    def _at_exit(self) -> None:
        if not self._flush_pending():
            with self._lock:
                pending = sorted(self._pending)
            logger.error(
                "Exiting with registry bumps Redis never received: %s. Call"
                " CondPoll.touch() for these tables once Redis is back.",
                ", ".join(pending) or "(dropped earlier)",
            )

    def _create_epoch(self) -> bytes | str:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.set(self._epoch_key, secrets.token_hex(8), nx=True)
            pipe.get(self._epoch_key)
            return t.cast(bytes, pipe.execute()[1])

    def _went_backwards(
        self, epoch: str, names: Sequence[str], versions: list[int]
    ) -> bool:
        """Remember the highest version seen; report any that went backwards."""
        if epoch != self._highest_epoch:
            self._highest_epoch, self._highest = epoch, {}
        highest = self._highest
        backwards = False
        for name, version in zip(names, versions, strict=True):
            seen = highest.get(name, -1)
            if version < seen:
                backwards = True
            elif version > seen:
                highest[name] = version
        return backwards

    def _renew_epoch(self, old: str) -> str:
        logger.warning(
            "Versions in the Redis registry went backwards (restored from an"
            " old snapshot, or a key was lost); starting a new epoch so that no"
            " old tag matches."
        )
        return _text(
            self._renew(keys=[self._epoch_key], args=[old, secrets.token_hex(8)])
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse(value: bytes | str | None) -> tuple[int, float]:
    """``(version, bump time)`` from a stored value; an unknown time is ``inf``."""
    if value is None:
        return 0, math.inf
    version, _, when = _text(value).partition(":")
    try:
        return int(version), float(when) if when else math.inf
    except ValueError:
        return 0, math.inf
