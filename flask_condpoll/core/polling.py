"""Polling cadence, pure: the :class:`Poll` a view declares, the
``Poll-Interval`` header value, and the longer interval a view earns when
its recent polls find nothing new."""

from __future__ import annotations

import collections
import dataclasses
import math
import threading

#: Poll intervals allowed, in seconds.
MIN_INTERVAL, MAX_INTERVAL = 0.05, 86400.0

#: The response header that tells a client when to poll next, in
#: milliseconds (GitLab's name and unit); ``-1`` turns polling off.
HEADER = "Poll-Interval"
STOPPED = "-1"

#: Adaptive back-off starts when this share of a view's recent conditional
#: polls found nothing new...
ADAPT_FROM = 0.9
#: ...over the last ``WINDOW`` polls, once ``MIN_SAMPLES`` were seen.
WINDOW, MIN_SAMPLES = 100, 20


def check_interval(value: object, name: str) -> float:
    """Return ``value`` as seconds if it is a valid poll interval.

    :raises TypeError: for a non-number, naming ``name``.
    :raises ValueError: outside :data:`MIN_INTERVAL` to :data:`MAX_INTERVAL`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}.")
    if not (math.isfinite(value) and MIN_INTERVAL <= value <= MAX_INTERVAL):
        raise ValueError(
            f"Invalid {name} {value!r}: use seconds from {MIN_INTERVAL:g} to"
            f" {MAX_INTERVAL:g}."
        )
    return float(value)


@dataclasses.dataclass(frozen=True)
class Poll:
    """How often a view's fragment is polled, as the view declares it.

    ``@conditional(..., poll=5)`` is short for ``poll=Poll(5)``.

    :param interval: seconds between polls (0.05 to 86400).
    :param max_interval: turns on adaptive back-off: while the view's recent
        polls almost always find nothing new, clients are told to wait
        longer, up to this many seconds; a client that gets new data comes
        back to ``interval``. ``None`` (the default) keeps ``interval``.
    :raises TypeError: for a non-number.
    :raises ValueError: for a value out of range, or a ``max_interval``
        below ``interval``.
    """

    interval: float
    max_interval: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", check_interval(self.interval, "interval"))
        if self.max_interval is not None:
            longest = check_interval(self.max_interval, "max_interval")
            if longest < self.interval:
                raise ValueError(
                    f"max_interval {self.max_interval!r} is shorter than interval"
                    f" {self.interval!r}: use at least the interval, or None."
                )
            object.__setattr__(self, "max_interval", longest)

    @classmethod
    def of(cls, value: object) -> Poll | None:
        """``value`` as a :class:`Poll`: a number of seconds, a Poll, or None.

        :raises TypeError: for anything else, showing how to write it.
        """
        if value is None or isinstance(value, Poll):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return cls(value)
        raise TypeError(
            f"poll must be a number of seconds or a Poll, not {value!r}; write"
            " poll=5 or poll=Poll(5, max_interval=60)."
        )

    def adapted(self, unchanged: float | None) -> float:
        """The interval to suggest when ``unchanged`` of the view's recent
        polls found nothing new (``None``: too few seen yet).

        From :data:`ADAPT_FROM` on, ``interval / (1 - unchanged)``: about one
        poll per change, within ``max_interval``.
        """
        if self.max_interval is None or unchanged is None or unchanged < ADAPT_FROM:
            return self.interval
        if unchanged >= 1:
            return self.max_interval
        return min(self.max_interval, self.interval / (1 - unchanged))


def header_value(seconds: float | None) -> str:
    """The ``Poll-Interval`` value for ``seconds`` (at most a day);
    ``None`` means stopped."""
    if seconds is None:
        return STOPPED
    return str(max(1, round(min(seconds, MAX_INTERVAL) * 1000)))


class Outcomes:
    """Whether a view's recent conditional polls found something new.

    Thread-safe; kept per process, so each worker judges from its own share.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: collections.deque[bool] = collections.deque(maxlen=WINDOW)
        self._unchanged = 0

    def add(self, unchanged: bool) -> None:
        """Record one poll: ``True`` if it was answered 304 (or 204)."""
        with self._lock:
            if len(self._recent) == WINDOW:
                self._unchanged -= self._recent[0]
            self._recent.append(unchanged)
            self._unchanged += unchanged

    def unchanged(self) -> float | None:
        """The share of recent polls that found nothing new, or ``None``
        before :data:`MIN_SAMPLES` polls."""
        with self._lock:
            seen = len(self._recent)
            return self._unchanged / seen if seen >= MIN_SAMPLES else None
