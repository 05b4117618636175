"""Where stats batches go: SQLite on one machine, Redis across many.

A store adds batches atomically and idempotently (a batch retried after an
uncertain failure is not counted twice) and sums them back per endpoint.
"""

from __future__ import annotations

import os
import sqlite3
import time
import typing as t

from .stats import Batch
from .stats import COUNTERS
from .stats import INDEX


class StatsStoreError(Exception):
    """The stats store could not be read or written."""


class StatsStore(t.Protocol):
    """What a stats store provides."""

    def add(self, batch_id: str, batch: Batch) -> None:
        """Add ``batch`` once, atomically: adding the same id again does nothing."""

    def totals(
        self, since: float | None = None, endpoint: str | None = None
    ) -> dict[str, list[int]]:
        """Counter vectors summed per endpoint, from ``since`` (a timestamp)."""

    def reset(self) -> None:
        """Delete every count."""


_COLUMNS = ", ".join(f'"{name}"' for name in COUNTERS)


class SQLiteStatsStore:
    """Counts in one SQLite file (WAL mode), shared by local processes.

    :param path: the database file, created if missing.
    :param retention: seconds of history to keep.
    """

    def __init__(self, path: str, *, retention: float = 7 * 86400) -> None:
        self.path = path
        self.retention = retention
        self._pruned = 0.0
        self._created = False

    def _connect(self) -> sqlite3.Connection:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StatsStoreError(f"Cannot open {self.path!r}: {exc}") from exc
        if not self._created:
            self._create(connection)
        return connection

    def _create(self, connection: sqlite3.Connection) -> None:
        """Set up the file once per process: WAL mode and the tables."""
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            counters = ", ".join(f'"{n}" INTEGER NOT NULL DEFAULT 0' for n in COUNTERS)
            connection.executescript(
                f"""
                CREATE TABLE IF NOT EXISTS condpoll_stats (
                    endpoint TEXT NOT NULL, bucket INTEGER NOT NULL, {counters},
                    PRIMARY KEY (endpoint, bucket));
                CREATE TABLE IF NOT EXISTS condpoll_batches (
                    id TEXT PRIMARY KEY, added REAL NOT NULL);
                """
            )
        except sqlite3.Error as exc:
            connection.close()
            raise StatsStoreError(f"Cannot open {self.path!r}: {exc}") from exc
        self._created = True

    def add(self, batch_id: str, batch: Batch) -> None:
        placeholders = ", ".join("?" * (len(COUNTERS) + 2))
        updates = ", ".join(f'"{n}" = "{n}" + excluded."{n}"' for n in COUNTERS)
        upsert = (
            f"INSERT INTO condpoll_stats (endpoint, bucket, {_COLUMNS})"
            f" VALUES ({placeholders})"
            f" ON CONFLICT (endpoint, bucket) DO UPDATE SET {updates}"
        )
        now = time.time()
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            seen = connection.execute(
                "INSERT OR IGNORE INTO condpoll_batches VALUES (?, ?)", (batch_id, now)
            )
            if seen.rowcount:
                rows = [(*key, *counts) for key, counts in batch.items()]
                connection.executemany(upsert, rows)
            if now - self._pruned > 3600:
                self._prune(connection, now)
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            self._created = False  # the file may be gone: set it up again
            raise StatsStoreError(f"Cannot write {self.path!r}: {exc}") from exc
        finally:
            connection.close()

    def _prune(self, connection: sqlite3.Connection, now: float) -> None:
        connection.execute(
            "DELETE FROM condpoll_stats WHERE bucket > 0 AND bucket < ?",
            (now - self.retention,),
        )
        connection.execute(
            "DELETE FROM condpoll_batches WHERE added < ?", (now - 86400,)
        )
        self._pruned = now

    def totals(
        self, since: float | None = None, endpoint: str | None = None
    ) -> dict[str, list[int]]:
        if not os.path.exists(self.path):
            return {}
        sums = ", ".join(f'SUM("{n}")' for n in COUNTERS)
        query = f"SELECT endpoint, {sums} FROM condpoll_stats WHERE bucket >= ?"
        params: list[object] = [0 if since is None else since]
        if endpoint is not None:
            query += " AND endpoint = ?"
            params.append(endpoint)
        connection = self._connect()
        try:
            rows = connection.execute(query + " GROUP BY endpoint", params).fetchall()
        except sqlite3.Error as exc:
            raise StatsStoreError(f"Cannot read {self.path!r}: {exc}") from exc
        finally:
            connection.close()
        return {row[0]: [int(v or 0) for v in row[1:]] for row in rows}

    def reset(self) -> None:
        connection = self._connect()
        try:
            connection.execute("DELETE FROM condpoll_stats")
        finally:
            connection.close()


# Add a batch once: the marker key makes a retried batch a no-op.
_ADD = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local retention = tonumber(ARGV[2])
local i = 3
while i <= #ARGV do
    local key, bucket, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    i = i + 3
    for _ = 1, n do
        redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
        i = i + 2
    end
    redis.call('EXPIRE', key, retention)
    redis.call('ZADD', KEYS[2], bucket, key)
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
        self.retention = int(retention)
        self._index = f"{self.prefix}index"
        self._add = self.client.register_script(_ADD)

    def add(self, batch_id: str, batch: Batch) -> None:
        args: list[str | int] = [86400, self.retention]
        for (endpoint, bucket), counts in batch.items():
            fields = [(n, v) for n, v in zip(COUNTERS, counts, strict=True) if v]
            args += [f"{self.prefix}{bucket}:{endpoint}", bucket, len(fields)]
            for name, value in fields:
                args += [name, value]
        try:
            self._add(keys=[f"{self.prefix}batch:{batch_id}", self._index], args=args)
        except self._errors as exc:
            raise StatsStoreError(f"Cannot write to Redis: {exc}") from exc

    def totals(
        self, since: float | None = None, endpoint: str | None = None
    ) -> dict[str, list[int]]:
        low = "-inf" if since is None else since
        try:
            self.client.zremrangebyscore(self._index, 1, time.time() - self.retention)
            found = self.client.zrangebyscore(self._index, low, "+inf")
            keys = [t.cast(bytes, key).decode() for key in found]
            if endpoint is not None:
                keys = [key for key in keys if self._endpoint(key) == endpoint]
            with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                hashes = pipe.execute()
        except self._errors as exc:
            raise StatsStoreError(f"Cannot read from Redis: {exc}") from exc
        totals: dict[str, list[int]] = {}
        for key, values in zip(keys, hashes, strict=True):
            counts = totals.setdefault(self._endpoint(key), [0] * len(COUNTERS))
            for field, value in values.items():
                position = INDEX.get(field.decode())
                if position is not None:
                    counts[position] += int(value)
        return totals

    def _endpoint(self, key: str) -> str:
        """The endpoint in a ``<prefix>stats:<bucket>:<endpoint>`` key."""
        return key[len(self.prefix) :].split(":", 1)[1]

    def reset(self) -> None:
        try:
            keys = self.client.zrange(self._index, 0, -1)
            with self.client.pipeline() as pipe:
                for key in [*keys, self._index]:
                    pipe.delete(key)
                pipe.execute()
        except self._errors as exc:
            raise StatsStoreError(f"Cannot reset Redis stats: {exc}") from exc


def store_from_url(
    url: str | None,
    *,
    instance_path: str,
    prefix: str = "condpoll:",
    retention: float = 7 * 86400,
) -> StatsStore | None:
    """Create the store that ``CONDPOLL_STATS_URL`` names.

    ``sqlite:///relative.db`` is relative to the instance folder and
    ``sqlite:////absolute.db`` is absolute; ``redis://``, ``rediss://`` and
    ``unix://`` URLs use Redis; ``None`` turns stats off.

    :raises ValueError: for any other URL.
    """
    if url is None:
        return None
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return SQLiteStatsStore(os.path.join(instance_path, path), retention=retention)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStatsStore(url, prefix=prefix, retention=retention)
    raise ValueError(
        f"Unsupported CONDPOLL_STATS_URL {url!r}: use 'sqlite:///file.db', a"
        " 'redis://' URL, or None."
    )


def describe(store: StatsStore) -> str:
    """Where a store keeps its counts, for messages."""
    if isinstance(store, SQLiteStatsStore):
        return store.path
    if isinstance(store, RedisStatsStore):
        kwargs = store.client.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"Redis at {where}"
    return repr(store)
