"""What a version registry is: a counter per name, bumped after each commit."""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Iterable
from collections.abc import Sequence

logger = logging.getLogger("flask_condpoll")

#: Name suffix bumped by changes whose partition is unknown (bulk statements,
#: ``touch``): every partitioned version reads it too.
ANY_PARTITION = "|*"


def partition_name(table: str, column: str, value: object) -> str:
    """The registry name of one partition of a table."""
    return f"{table}|{column}={value}"


def whole_table(table: str) -> tuple[str, str]:
    """The names a change to unknown rows of ``table`` bumps."""
    return table, table + ANY_PARTITION


#: Called with the names of a bump, or ``None`` when bumps may have been missed.
Listener = t.Callable[[t.Sequence[str] | None], None]

#: ``(epoch, version of names[0], version of names[1], ...)``.
Versions = tuple[str | int, ...]


class RegistryUnavailable(Exception):
    """The registry could not be reached; versions are unknown."""


class Reading(t.NamedTuple):
    """What :meth:`VersionRegistry.read` returns.

    :param versions: the epoch, then one version per name. The epoch changes
        whenever versions may have gone backwards, so no earlier reading
        comes back.
    :param bumped_at: the latest wall-clock time (``time.time()``) at which
        any of the names was bumped, ``0.0`` if none ever was, ``inf`` if
        unknown. A caller whose database snapshot began before it cannot
        trust the versions (see :mod:`flask_condpoll.sqlalchemy.snapshots`).
    """

    versions: Versions
    bumped_at: float


class VersionRegistry(t.Protocol):
    """What a version registry provides."""

    def read(self, names: Sequence[str]) -> Reading:
        """Return the current versions of ``names``.

        :raises RegistryUnavailable: if the versions cannot be known.
        """

    def bump(self, names: Iterable[str]) -> None:
        """Give each name a version it never had before. Never raises."""

    def subscribe(self, listener: Listener) -> bool:
        """Call ``listener(names)`` after every bump, from any process the
        registry is shared with; ``listener(None)`` when bumps may have been
        missed. Return whether notifications work now."""
