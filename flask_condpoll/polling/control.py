"""The operator's run-time control of polling: a factor and a stop switch,
stored where every worker process sees it and read at most once a second.

The store is the Redis of the version registry or of the stats when one is
configured, else a small JSON file in the instance folder. ``flask condpoll
polling`` writes it; :class:`PollControl` reads it on the request path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import threading
import time
import typing as t
from collections.abc import Callable

from ..config_values import MAX_POLL_FACTOR

logger = logging.getLogger("flask_condpoll")

#: Seconds a process trusts its last reading of the store.
REFRESH = 1.0

FILE_NAME = "condpoll-polling.json"

#: The largest factor the operator may set.
MAX_FACTOR = MAX_POLL_FACTOR


@dataclasses.dataclass(frozen=True)
class Override:
    """What the operator set at run time, over ``CONDPOLL_POLL_FACTOR``.

    :param factor: the factor to use instead of the configured one.
    :param stopped: polling is stopped, whatever the factor.
    """

    factor: float | None = None
    stopped: bool = False

    def __post_init__(self) -> None:
        factor = self.factor
        if factor is not None and not (
            type(factor) in (int, float) and 0 <= factor <= MAX_FACTOR
        ):
            raise ValueError(
                f"A polling factor is a number from 0 to {MAX_FACTOR:g}, not"
                f" {factor!r}."
            )
        if not isinstance(self.stopped, bool):
            raise ValueError(f"'stopped' is True or False, not {self.stopped!r}.")

    def dumps(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def loads(cls, text: str | bytes) -> Override:
        """Parse a stored override.

        :raises ValueError: for anything but what :meth:`dumps` writes.
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"Not a polling override: {data!r}.")
        factor, stopped = data.get("factor"), data.get("stopped", False)
        try:
            return cls(factor if type(factor) is not int else float(factor), stopped)
        except ValueError as exc:
            raise ValueError(f"Not a polling override: {data!r}. {exc}") from None


class Store(t.Protocol):
    """Where the override lives: text, or ``None`` for none."""

    location: str

    def read(self) -> str | bytes | None: ...

    def write(self, text: str | None) -> None: ...


class FileStore:
    """The override in a JSON file (one host: every process of it)."""

    def __init__(self, path: str) -> None:
        self.path = self.location = path

    def read(self) -> str | None:
        try:
            with open(self.path, encoding="utf-8") as file:
                return file.read()
        except FileNotFoundError:
            return None

    def write(self, text: str | None) -> None:
        if text is None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            return
        folder = os.path.dirname(self.path)
        os.makedirs(folder, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".condpoll-")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, self.path)  # readers see the old or the new file


class RedisStore:
    """The override in one Redis key (every process on every host)."""

    def __init__(self, client: t.Any, key: str) -> None:
        self.client = client
        self.key = key
        self.location = f"Redis key {key!r}"

    def read(self) -> bytes | None:
        return t.cast(bytes | None, self.client.get(self.key))

    def write(self, text: str | None) -> None:
        if text is None:
            self.client.delete(self.key)
        else:
            self.client.set(self.key, text)


def store_for(
    instance_path: str,
    redis_clients: t.Iterable[tuple[t.Any, str]],
) -> Store:
    """The first Redis of ``(client or None, key)``, else the instance file."""
    for client, key in redis_clients:
        if client is not None:
            return RedisStore(client, key)
    return FileStore(os.path.join(instance_path, FILE_NAME))


class PollControl:
    """The factor in force: ``CONDPOLL_POLL_FACTOR`` unless overridden.

    :param store: where the override lives.
    :param factor: the configured factor (``0`` stops polling).
    :param refresh: seconds between readings of the store.
    """

    def __init__(
        self,
        store: Store,
        *,
        factor: float,
        refresh: float = REFRESH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.configured = factor
        self.refresh = refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._factor: float | None = factor or None
        self._override = Override()
        self._failing = False

    def factor(self) -> float | None:
        """The factor in force, or ``None`` while polling is stopped.

        Costs a clock read, except once per ``refresh`` seconds, when one
        request of the process reads the store. If the store fails, the last
        reading stays in force (and the failure is logged once).
        """
        now = self._clock()
        if now >= self._next and self._lock.acquire(blocking=False):
            try:
                self._next = now + self.refresh
                override = self._read()
                if override is not None:
                    self._override = override
                self._factor = self._effective(override)
            finally:
                self._lock.release()
        return self._factor

    def current(self) -> Override:
        """The override in force, as :meth:`factor` last read it: at most
        ``refresh`` seconds old, and the last good reading while the store
        fails. Never raises, so pages may show it."""
        self.factor()
        return self._override

    def override(self) -> Override:
        """The stored override, read now.

        :raises ValueError: if the store holds something else.
        """
        text = self.store.read()
        return Override() if text is None else Override.loads(text)

    def set(self, override: Override) -> None:
        """Store ``override`` for every process; ``Override()`` removes it."""
        self.store.write(None if override == Override() else override.dumps())
        self._next = 0.0

    def _read(self) -> Override | None:
        try:
            override = self.override()
        except Exception as exc:
            if not self._failing:
                self._failing = True
                logger.error(
                    "Cannot read the polling override from %s; keeping the"
                    " last one until it can.",
                    self.store.location,
                    exc_info=exc,
                )
            return None
        if self._failing:
            self._failing = False
            logger.warning("The polling override is readable again.")
        return override

    def _effective(self, override: Override | None) -> float | None:
        if override is None:
            return self._factor
        if override.stopped:
            return None
        factor = self.configured if override.factor is None else override.factor
        return factor or None
