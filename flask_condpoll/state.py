"""Per-application state, in ``app.extensions["condpoll"]``.

:class:`~flask_condpoll.CondPoll` builds it when it is registered; the glue
reads it on every request. Everything here is safe to share between threads.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from collections.abc import Callable

from .core.tags import TagMaker
from .settings import Settings
from .waiting import Waiters

if t.TYPE_CHECKING:
    from flask import Flask

    from .polling.control import PollControl
    from .registry import VersionRegistry
    from .stats.collector import Collector
    from .stats.stores import StatsStore

logger = logging.getLogger("flask_condpoll")

Mixin = Callable[[], object]


class FailureLog:
    """Which generators are failing now, so an outage logs once, not per poll."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: set[tuple[str | None, type[BaseException]]] = set()
        #: Whether any generator is failing: a lock-free check for every request.
        self.active = False

    def failed(self, endpoint: str | None, exc: BaseException) -> bool:
        """Record a failure; return whether it starts a new outage."""
        key = (endpoint, type(exc))
        with self._lock:
            if key in self._failing:
                return False
            self._failing.add(key)
            self.active = True
            return True

    def succeeded(self, endpoint: str | None) -> bool:
        """Record a success; return whether it ends an outage of ``endpoint``."""
        with self._lock:
            ended = {key for key in self._failing if key[0] == endpoint}
            self._failing -= ended
            self.active = bool(self._failing)
        return bool(ended)


class CondPollState:
    """One application's settings and shared objects.

    :param settings: the checked configuration.
    :param secret: the key for tags (``CONDPOLL_SECRET_KEY`` or ``SECRET_KEY``).
    :param mixins: the extension's ETag mixins (the same list, so mixins
        registered later count).
    :param registry: the version registry, if any.
    :param stats_store: the stats store, if any.
    :param stats: the collector feeding it, if any.
    :param polling: the factor in force for pollers (see :doc:`/polling`).
    """

    def __init__(
        self,
        app: Flask,
        settings: Settings,
        *,
        secret: str | bytes,
        mixins: list[Mixin],
        registry: VersionRegistry | None,
        stats_store: StatsStore | None,
        stats: Collector | None,
        polling: PollControl,
    ) -> None:
        from .core.tags import derive_key

        self.app = app
        self.settings = settings
        self.tags = TagMaker(derive_key(secret))
        self.mixins = mixins
        self.registry = registry
        self.stats_store = stats_store
        self.stats = stats
        self.polling = polling
        self.failures = FailureLog()
        #: The polls this process holds (views with ``wait=``).
        self.waiters = Waiters(settings.wait_max_held)
        #: Called as ``hook(flow, response)`` on every response a conditional
        #: view answers with, before it is sent: for headers that describe
        #: the answer (polling cadence, timings).
        self.response_hooks: list[t.Callable[[t.Any, t.Any], None]] = []
        #: Per-view plans, filled on first use (see :mod:`.plans`).
        self.plans: dict[t.Any, t.Any] = {}

    def require_registry(self) -> VersionRegistry:
        """Return the version registry.

        :raises RuntimeError: if ``CONDPOLL_REGISTRY_URL`` is ``None``.
        """
        if self.registry is None:
            raise RuntimeError(
                "This app has no version registry: set CONDPOLL_REGISTRY_URL to"
                " 'memory://' or a 'redis://' URL."
            )
        return self.registry


def get_state(app: Flask) -> CondPollState:
    """Return ``app``'s state.

    :raises RuntimeError: naming the fix, if no :class:`~flask_condpoll.CondPoll`
        is registered on ``app``.
    """
    try:
        state: CondPollState = app.extensions["condpoll"]
    except KeyError:
        raise RuntimeError(
            "The current Flask app has no 'CondPoll' extension. Create one with"
            " 'CondPoll(app)' or call 'condpoll.init_app(app)' in your app"
            " factory before serving conditional views."
        ) from None
    return state
