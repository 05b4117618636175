"""Version registries: a counter per table, bumped after each commit.

A registry answers ``get(names)`` with an *epoch* followed by one version per
name. The epoch changes whenever the versions may have gone backwards (a new
process for the in-process registry, a restarted or flushed Redis), so a tag
computed before can never become current again.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import typing as t
from collections.abc import Iterable
from collections.abc import Sequence

logger = logging.getLogger("flask_condpoll")

Versions = tuple[str | int, ...]


class RegistryUnavailable(Exception):
    """The registry could not be reached; versions are unknown."""


class VersionRegistry(t.Protocol):
    """What a version registry provides."""

    def get(self, names: Sequence[str]) -> Versions:
        """Return ``(epoch, version of names[0], version of names[1], ...)``.

        :raises RegistryUnavailable: if the versions cannot be known.
        """

    def bump(self, names: Iterable[str]) -> None:
        """Increment the version of each name. Never raises."""


class MemoryRegistry:
    """Versions in this process's memory: for a single worker process.

    The epoch is random per instance, so a restarted process changes every
    tag instead of counting from zero again.
    """

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(8)
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, names: Sequence[str]) -> Versions:
        versions = self._versions
        return (self.epoch, *[versions.get(name, 0) for name in names])

    def bump(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self._versions[name] = self._versions.get(name, 0) + 1


# Replace the epoch only if it is still the one this process saw go backwards.
_RENEW_EPOCH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
"""


class RedisRegistry:
    """Versions in Redis: shared by every worker process and host.

    ``bump`` runs ``INCR`` in one pipeline; ``get`` runs one ``MGET`` of the
    epoch and the versions. If Redis is unreachable or slower than
    ``timeout``, ``get`` raises :class:`RegistryUnavailable` (without waiting
    again for ``retry_interval`` seconds) and failed bumps are kept and
    retried, from a timer and before the next ``get``.

    :param url: a ``redis://``, ``rediss://`` or ``unix://`` URL.
    :param prefix: prepended to every key.
    :param timeout: seconds to wait for a connection or an answer.
    :param retry_interval: seconds between attempts while Redis is down.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "condpoll:",
        timeout: float = 0.25,
        retry_interval: float = 1.0,
    ) -> None:
        import redis

        self._redis_error: type[Exception] = redis.RedisError
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.prefix = prefix
        self.retry_interval = retry_interval
        self._epoch_key = f"{prefix}epoch"
        self._renew = self.client.register_script(_RENEW_EPOCH)
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._down_until = 0.0
        self._outage = False
        self._timer: threading.Timer | None = None
        self._highest_epoch = ""
        self._highest: dict[str, int] = {}

    def key(self, name: str) -> str:
        """The Redis key holding ``name``'s version."""
        return f"{self.prefix}v:{name}"

    def get(self, names: Sequence[str]) -> Versions:
        if self._down_until and time.monotonic() < self._down_until:
            raise RegistryUnavailable("Redis is unreachable; retrying shortly.")
        if self._pending and not self._flush_pending():
            raise RegistryUnavailable("Redis is unreachable; bumps are pending.")
        try:
            values = self.client.mget([self._epoch_key, *map(self.key, names)])
            epoch = values[0]
            if epoch is None:
                epoch = self._create_epoch()
            epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
            versions = [int(value or 0) for value in values[1:]]
            if self._went_backwards(epoch, names, versions):
                epoch = self._renew_epoch(epoch)
        except self._redis_error as exc:
            self._failed(exc)
            raise RegistryUnavailable(str(exc)) from exc
        self._succeeded()
        return (epoch, *versions)

    def bump(self, names: Iterable[str]) -> None:
        with self._lock:
            self._pending.update(names)
        self._flush_pending()

    def _flush_pending(self) -> bool:
        """Send pending bumps; return whether none are left."""
        with self._lock:
            if not self._pending:
                return True
            if self._down_until and time.monotonic() < self._down_until:
                self._schedule_retry()
                return False
            names = sorted(self._pending)
            try:
                with self.client.pipeline(transaction=False) as pipe:
                    for name in names:
                        pipe.incr(self.key(name))
                    pipe.execute()
            except self._redis_error as exc:
                self._failed(exc)
                self._schedule_retry()
                return False
            self._pending.difference_update(names)
        self._succeeded()
        return True

    def _schedule_retry(self) -> None:
        if self._timer is not None and self._timer.is_alive():
            return
        self._timer = threading.Timer(self.retry_interval, self._flush_pending)
        self._timer.daemon = True
        self._timer.start()

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
            " old snapshot?); starting a new epoch so that no old tag matches."
        )
        new = self._renew(keys=[self._epoch_key], args=[old, secrets.token_hex(8)])
        return new.decode() if isinstance(new, bytes) else str(new)

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self.retry_interval
        if not self._outage:
            self._outage = True
            logger.warning(
                "The Redis version registry is unreachable (%s): conditional"
                " views answer in full until it is back.",
                exc,
            )

    def _succeeded(self) -> None:
        self._down_until = 0.0
        if self._outage:
            self._outage = False
            logger.warning("The Redis version registry is reachable again.")


def registry_from_url(
    url: str | None, *, prefix: str = "condpoll:", timeout: float = 0.25
) -> VersionRegistry | None:
    """Create the registry that ``CONDPOLL_REGISTRY_URL`` names.

    ``"memory://"`` is the in-process registry; ``redis://``, ``rediss://`` and
    ``unix://`` URLs use Redis; ``None`` means no registry.

    :raises ValueError: for any other URL.
    """
    if url is None:
        return None
    if url == "memory://":
        return MemoryRegistry()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisRegistry(url, prefix=prefix, timeout=timeout)
    raise ValueError(
        f"Unsupported CONDPOLL_REGISTRY_URL {url!r}: use 'memory://', a"
        " 'redis://' URL, or None."
    )
