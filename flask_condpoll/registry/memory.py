"""Versions in this process's memory: for a single worker process."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from collections.abc import Sequence

from ..core.forks import reset_after_fork
from .base import Listener
from .base import Reading

#: The version and bump time of a name never bumped.
_NEVER = (0, 0.0)


class MemoryRegistry:
    """Versions in this process's memory: for a single worker process.

    The epoch is random per instance and per process, so a restarted process
    changes every tag instead of counting from zero again, and so does a
    worker forked from a preloaded master (``gunicorn --preload``): each one
    it forks would otherwise start from the master's versions, and reproduce
    the versions of the worker it replaces.
    """

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(8)
        self._versions: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        reset_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: a new epoch, and a lock no other thread holds."""
        self._lock = threading.Lock()
        self.epoch = secrets.token_hex(8)

    def read(self, names: Sequence[str]) -> Reading:
        stored = self._versions
        versions: list[str | int] = [self.epoch]
        latest = 0.0
        for name in names:
            version, bumped = stored.get(name, _NEVER)
            versions.append(version)
            if bumped > latest:
                latest = bumped
        return Reading(tuple(versions), latest)

    def bump(self, names: Iterable[str]) -> None:
        now = time.time()
        bumped = list(names)
        with self._lock:
            for name in bumped:
                self._versions[name] = (self._versions.get(name, (0, 0.0))[0] + 1, now)
        for listener in self._listeners:
            listener(bumped)

    def subscribe(self, listener: Listener) -> bool:
        self._listeners.append(listener)
        return True
