"""Stats in one SQLite file (WAL mode), shared by the processes of one host."""

from __future__ import annotations

import os
import random
import sqlite3
import time
import typing as t

from .counters import Batch
from .counters import COUNTERS
from .counters import Series
from .counters import sum_by_endpoint
from .stores import StatsStoreError

_COLUMNS = ", ".join(f'"{name}"' for name in COUNTERS)
_TABLES = ("condpoll_stats", "condpoll_lifetime")

#: Seconds a connection waits for a lock held by another process.
_TIMEOUT = 30


class SQLiteStatsStore:
    """Counts in one SQLite file (WAL mode), shared by local processes.

    :param path: the database file, created if missing.
    :param retention: seconds of history to keep.
    """

    def __init__(self, path: str, *, retention: float = 7 * 86400) -> None:
        self.path = path
        #: Where the counts are, for messages.
        self.location = path
        self.retention = retention
        self._pruned = 0.0
        self._created = False

    def _connect(self) -> sqlite3.Connection:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=_TIMEOUT, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise StatsStoreError(f"Cannot open {self.path!r}: {exc}") from exc
        if not self._created:
            self._create(connection)
        return connection

    def _create(self, connection: sqlite3.Connection) -> None:
        """Set up the file once per process: WAL mode and the tables.

        Processes that open a new file at the same moment can get "database
        is locked" without SQLite waiting (switching to WAL takes the file
        for itself): they try again until the connection's timeout.
        """
        deadline = time.monotonic() + _TIMEOUT
        while True:
            try:
                _set_up(connection)
                break
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(random.uniform(0.005, 0.05))
                    continue
                connection.close()
                raise StatsStoreError(f"Cannot open {self.path!r}: {exc}") from exc
            except sqlite3.Error as exc:
                connection.close()
                raise StatsStoreError(f"Cannot open {self.path!r}: {exc}") from exc
        self._created = True

    def _exists(self) -> bool:
        """Whether the file exists yet.

        :raises StatsStoreError: if it does not and could not be created.
        """
        if os.path.exists(self.path):
            return True
        folder = os.path.dirname(os.path.abspath(self.path))
        while not os.path.exists(folder):  # folders a flush would create
            folder = os.path.dirname(folder)
        if not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
            raise StatsStoreError(
                f"Cannot create {self.path!r}: {folder!r} is not a writable folder."
            )
        return False

    def add(self, batch_id: str, batch: Batch) -> None:
        placeholders = ", ".join("?" * (len(COUNTERS) + 2))
        updates = ", ".join(f'"{n}" = "{n}" + excluded."{n}"' for n in COUNTERS)
        upsert = (
            f"INSERT INTO condpoll_stats (endpoint, bucket, {_COLUMNS})"
            f" VALUES ({placeholders})"
            f" ON CONFLICT (endpoint, bucket) DO UPDATE SET {updates}"
        )
        lifetime = (
            f"INSERT INTO condpoll_lifetime (endpoint, {_COLUMNS})"
            f" VALUES ({placeholders[3:]})"
            f" ON CONFLICT (endpoint) DO UPDATE SET {updates}"
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
                sums = sum_by_endpoint(batch).items()
                connection.executemany(lifetime, [(n, *c) for n, c in sums])
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

    def _read(self, query: str, params: list[object]) -> list[tuple[object, ...]]:
        if not self._exists():
            return []
        connection = self._connect()
        try:
            return connection.execute(query, params).fetchall()
        except sqlite3.Error as exc:
            raise StatsStoreError(f"Cannot read {self.path!r}: {exc}") from exc
        finally:
            connection.close()

    def _where(
        self, since: float | None, until: float | None, endpoint: str | None
    ) -> tuple[str, list[object]]:
        params: list[object]
        where, params = " WHERE bucket >= ?", [0.0 if since is None else since]
        if until is not None:
            where += " AND bucket < ?"
            params.append(until)
        if endpoint is not None:
            where += " AND endpoint = ?"
            params.append(endpoint)
        return where, params

    def totals(
        self,
        since: float | None = None,
        endpoint: str | None = None,
        until: float | None = None,
    ) -> dict[str, list[int]]:
        sums = ", ".join(f'SUM("{n}")' for n in COUNTERS)
        where, params = self._where(since, until, endpoint)
        rows = self._read(
            f"SELECT endpoint, {sums} FROM condpoll_stats{where} GROUP BY endpoint",
            params,
        )
        return {
            str(row[0]): [int(t.cast(int, v) or 0) for v in row[1:]] for row in rows
        }

    def series(
        self,
        since: float | None = None,
        endpoint: str | None = None,
        until: float | None = None,
    ) -> Series:
        where, params = self._where(since, until, endpoint)
        rows = self._read(
            f"SELECT endpoint, bucket, {_COLUMNS} FROM condpoll_stats{where}", params
        )
        series: Series = {}
        for endpoint_, bucket, *counts in rows:
            series.setdefault(str(endpoint_), {})[int(t.cast(int, bucket))] = [
                int(t.cast(int, v)) for v in counts
            ]
        return series

    def lifetime(self) -> dict[str, list[int]]:
        rows = self._read(f"SELECT endpoint, {_COLUMNS} FROM condpoll_lifetime", [])
        return {str(row[0]): [int(t.cast(int, v)) for v in row[1:]] for row in rows}

    def reset(self) -> None:
        connection = self._connect()
        try:
            for table in _TABLES:
                connection.execute(f"DELETE FROM {table}")
        except sqlite3.Error as exc:
            raise StatsStoreError(f"Cannot reset {self.path!r}: {exc}") from exc
        finally:
            connection.close()


def _set_up(connection: sqlite3.Connection) -> None:
    """WAL mode (kept by the file: switched once) and the tables."""
    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    if mode.lower() != "wal":
        connection.execute("PRAGMA journal_mode=WAL")
    counters = ", ".join(f'"{n}" INTEGER NOT NULL DEFAULT 0' for n in COUNTERS)
    connection.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS condpoll_stats (
            endpoint TEXT NOT NULL, bucket INTEGER NOT NULL, {counters},
            PRIMARY KEY (endpoint, bucket));
        CREATE TABLE IF NOT EXISTS condpoll_lifetime (
            endpoint TEXT PRIMARY KEY, {counters});
        CREATE TABLE IF NOT EXISTS condpoll_batches (
            id TEXT PRIMARY KEY, added REAL NOT NULL);
        """
    )
    for table in _TABLES:
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        for name in COUNTERS:
            if name not in present:  # a file from an older version
                connection.execute(
                    f'ALTER TABLE {table} ADD COLUMN "{name}"'
                    " INTEGER NOT NULL DEFAULT 0"
                )
