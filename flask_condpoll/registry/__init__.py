"""Version registries: a version per name (a table, a partition of one),
bumped after each commit and read by :func:`~flask_condpoll.sqlalchemy.table_version`
instead of querying the database.

Every registry answers :meth:`~base.VersionRegistry.read` with an *epoch*
followed by one version per name. The epoch changes whenever versions may
have gone backwards (a new process for the in-process registry, a restarted,
flushed or restored Redis), so a tag computed before never becomes current
again.
"""

from __future__ import annotations

from .base import ANY_PARTITION
from .base import partition_name
from .base import Reading
from .base import RegistryUnavailable
from .base import VersionRegistry
from .base import Versions
from .base import whole_table
from .memory import MemoryRegistry
from .redis import RedisRegistry

__all__ = [
    "ANY_PARTITION",
    "MemoryRegistry",
    "Reading",
    "RedisRegistry",
    "RegistryUnavailable",
    "VersionRegistry",
    "Versions",
    "partition_name",
    "registry_from_url",
    "whole_table",
]


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
