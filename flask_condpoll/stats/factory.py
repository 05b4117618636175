"""Creating the stats store that ``CONDPOLL_STATS_URL`` names."""

from __future__ import annotations

import os

from .stores import StatsStore


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
        from .sqlite_store import SQLiteStatsStore

        path = url.removeprefix("sqlite:///")
        return SQLiteStatsStore(os.path.join(instance_path, path), retention=retention)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis_store import RedisStatsStore

        return RedisStatsStore(url, prefix=prefix, retention=retention)
    raise ValueError(
        f"Unsupported CONDPOLL_STATS_URL {url!r}: use 'sqlite:///file.db', a"
        " 'redis://' URL, or None."
    )
