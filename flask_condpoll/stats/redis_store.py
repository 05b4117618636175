"""Stats in Redis hashes, one per endpoint and time bucket: shared by every host."""

from __future__ import annotations

import time
import typing as t

from .counters import Batch
from .counters import COUNTERS
from .counters import INDEX
from .counters import Series
from .stores import StatsStoreError

# Add a batch once: the marker key makes a retried batch a no-op. Each entry
# goes into its bucket's hash (which expires) and its endpoint's lifetime
# hash (which does not).
_ADD = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local retention = tonumber(ARGV[2])
local i = 3
while i <= #ARGV do
    local key, bucket, lifetime = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local n = tonumber(ARGV[i + 3])
    i = i + 4
    for _ = 1, n do
        redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
        redis.call('HINCRBY', lifetime, ARGV[i], ARGV[i + 1])
        i = i + 2
    end
    redis.call('EXPIRE', key, retention)
    redis.call('ZADD', KEYS[2], bucket, key)
    redis.call('SADD', KEYS[3], lifetime)
end
return 1
"""


class RedisStatsStore:
    """Counts in Redis hashes, one per endpoint and time bucket.

    :param url: a ``redis://``, ``rediss://`` or ``unix://`` URL.
    :param prefix: prepended to every key.
    :param retention: seconds of history to keep.
    :param timeout: seconds to wait for Redis.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "condpoll:",
        retention: float = 7 * 86400,
        timeout: float = 1.0,
    ) -> None:
        import redis

        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.prefix = f"{prefix}stats:"
        kwargs = self.client.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        #: Where the counts are, for messages.
        self.location = f"Redis at {where}"
        self.retention = int(retention)
        self._index = f"{self.prefix}index"
        self._lifetimes = f"{self.prefix}lifetimes"
        self._add = self.client.register_script(_ADD)

    def add(self, batch_id: str, batch: Batch) -> None:
        args: list[str | int] = [86400, self.retention]
        for (endpoint, bucket), counts in batch.items():
            fields = [(n, v) for n, v in zip(COUNTERS, counts, strict=True) if v]
            args += [
                f"{self.prefix}{bucket}:{endpoint}",
                bucket,
                f"{self.prefix}lifetime:{endpoint}",
                len(fields),
            ]
            for name, value in fields:
                args += [name, value]
        keys = [f"{self.prefix}batch:{batch_id}", self._index, self._lifetimes]
        try:
            self._add(keys=keys, args=args)
        except self._errors as exc:
            raise StatsStoreError(f"Cannot write to Redis: {exc}") from exc

    def _hashes(self, keys: list[str]) -> list[dict[bytes, bytes]]:
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            return t.cast(list[dict[bytes, bytes]], pipe.execute())

    def _buckets(
        self, since: float | None, until: float | None, endpoint: str | None
    ) -> list[tuple[str, int, dict[bytes, bytes]]]:
        """``(endpoint, bucket, hash)`` for every bucket in the range."""
        low = "-inf" if since is None else since
        high = "+inf" if until is None else f"({until}"
        try:
            self.client.zremrangebyscore(self._index, 1, time.time() - self.retention)
            found = self.client.zrangebyscore(self._index, low, high)
            keys = [t.cast(bytes, key).decode() for key in found]
            named = [(key, *self._parse(key)) for key in keys]
            if endpoint is not None:
                named = [entry for entry in named if entry[2] == endpoint]
            hashes = self._hashes([key for key, _, _ in named])
        except self._errors as exc:
            raise StatsStoreError(f"Cannot read from Redis: {exc}") from exc
        return [
            (name, bucket, values)
            for (_, bucket, name), values in zip(named, hashes, strict=True)
        ]

    def _parse(self, key: str) -> tuple[int, str]:
        """The bucket and endpoint in a ``<prefix>stats:<bucket>:<endpoint>`` key."""
        bucket, endpoint = key[len(self.prefix) :].split(":", 1)
        return int(bucket), endpoint

    def totals(
        self,
        since: float | None = None,
        endpoint: str | None = None,
        until: float | None = None,
    ) -> dict[str, list[int]]:
        totals: dict[str, list[int]] = {}
        for name, _, values in self._buckets(since, until, endpoint):
            _add_hash(totals.setdefault(name, [0] * len(COUNTERS)), values)
        return totals

    def series(
        self,
        since: float | None = None,
        endpoint: str | None = None,
        until: float | None = None,
    ) -> Series:
        series: Series = {}
        for name, bucket, values in self._buckets(since, until, endpoint):
            counts = series.setdefault(name, {}).setdefault(bucket, [0] * len(COUNTERS))
            _add_hash(counts, values)
        return series

    def lifetime(self) -> dict[str, list[int]]:
        start = len(f"{self.prefix}lifetime:")
        try:
            members = self.client.smembers(self._lifetimes)
            keys = sorted(t.cast(bytes, key).decode() for key in members)
            hashes = self._hashes(keys)
        except self._errors as exc:
            raise StatsStoreError(f"Cannot read from Redis: {exc}") from exc
        totals: dict[str, list[int]] = {}
        for key, values in zip(keys, hashes, strict=True):
            _add_hash(totals.setdefault(key[start:], [0] * len(COUNTERS)), values)
        return totals

    def reset(self) -> None:
        try:
            keys = self.client.zrange(self._index, 0, -1)
            lifetimes = self.client.smembers(self._lifetimes)
            with self.client.pipeline() as pipe:
                for key in [*keys, *lifetimes, self._index, self._lifetimes]:
                    pipe.delete(key)
                pipe.execute()
        except self._errors as exc:
            raise StatsStoreError(f"Cannot reset Redis stats: {exc}") from exc


def _add_hash(counts: list[int], values: dict[bytes, bytes]) -> None:
    """Add a stored hash's fields into a counter vector."""
    for field, value in values.items():
        position = INDEX.get(field.decode())
        if position is not None:
            counts[position] += int(value)
