"""Holding a poll until its data changes: long polling on the same markup.

A poll whose tag is current may ask to be held (``Prefer: wait=N``, RFC 7240)
when its view allows it (``@conditional(..., wait=25)``). The request then
waits until a registry bump of a name its generator reads wakes it, or, for
generators without registry names, until a periodic re-check sees a change;
then it is answered 200 at once. At the timeout it is answered 304 as usual.
Everything that could make a hold unsafe or impossible (a sync worker, the
cap on held requests, Redis notifications down) answers at once instead.
"""

from __future__ import annotations

import logging
import random
import signal
import socket
import sys
import threading
import time
import typing as t
import weakref
from collections.abc import Iterable

logger = logging.getLogger("flask_condpoll")

#: Seconds between checks that a held client is still connected.
DISCONNECT_CHECK = 1.0

_every: weakref.WeakSet[Waiters] = weakref.WeakSet()


class Waiters:
    """The requests one process holds, woken by registry bumps.

    :param max_held: how many requests may be held at once; beyond it,
        requests are answered at once.
    """

    def __init__(self, max_held: int) -> None:
        self.max_held = max_held
        self._lock = threading.Lock()
        self._by_name: dict[str, set[threading.Event]] = {}
        self._all: set[threading.Event] = set()
        #: Set while every held request must be answered at once.
        self.releasing = False
        _every.add(self)

    @property
    def held(self) -> int:
        """How many requests are held now."""
        return len(self._all)

    def enter(self, names: Iterable[str]) -> threading.Event | None:
        """Register a held request; ``None`` when the cap is reached."""
        event = threading.Event()
        with self._lock:
            if self.releasing or len(self._all) >= self.max_held:
                return None
            self._all.add(event)
            for name in names:
                self._by_name.setdefault(name, set()).add(event)
        return event

    def leave(self, event: threading.Event, names: Iterable[str]) -> None:
        with self._lock:
            self._all.discard(event)
            for name in names:
                waiting = self._by_name.get(name)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._by_name[name]

    def notify(self, names: Iterable[str] | None) -> None:
        """Wake the requests waiting on ``names``; ``None`` wakes every one."""
        with self._lock:
            if names is None:
                woken = list(self._all)
            else:
                woken = [e for n in names for e in self._by_name.get(n, ())]
        for event in woken:
            event.set()

    def release_all(self) -> None:
        """Answer every held request at once, and hold no more (on shutdown)."""
        self.releasing = True
        self.notify(None)


def release_on_signal(*signums: int) -> None:
    """Answer every held poll of this process at once when it is told to stop.

    Call it where the server has set its own handlers, such as gunicorn's
    ``post_worker_init`` hook; it runs theirs afterwards::

        def post_worker_init(worker):
            release_on_signal()  # a stopping worker answers its held polls at once

    :param signums: the signals to watch; ``SIGTERM`` and ``SIGINT`` by default.
    """
    for signum in signums or (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)

        def handler(number: int, frame: t.Any, previous: t.Any = previous) -> None:
            for waiters in list(_every):
                waiters.release_all()
            if callable(previous):
                previous(number, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(number, signal.SIG_DFL)
                signal.raise_signal(number)

        signal.signal(signum, handler)


def preferred_wait(value: str | None) -> float | None:
    """The ``wait`` preference of a ``Prefer`` header (RFC 7240 §4.3), in seconds."""
    if not value:
        return None
    for preference in value.split(","):
        token, _, parameter = preference.split(";", 1)[0].partition("=")
        if token.strip().lower() == "wait":
            seconds = parameter.strip().strip('"')
            if seconds.isdigit():
                return float(seconds) or None
    return None


def can_hold(environ: t.Mapping[str, t.Any]) -> bool:
    """Whether this server can hold a request without blocking the others:
    threads (gthread, waitress, the dev server threaded) or gevent."""
    if environ.get("wsgi.multithread"):
        return True
    gevent = sys.modules.get("gevent.monkey")
    return bool(gevent and gevent.is_module_patched("threading"))


def jittered(seconds: float, fraction: float) -> float:
    """``seconds`` shortened by up to ``fraction``, so held clients spread out."""
    return seconds * (1 - fraction * random.random())


def disconnected(environ: t.Mapping[str, t.Any]) -> bool:
    """Whether the client has closed its connection (when the server says
    which socket it is: gunicorn and Werkzeug do)."""
    connection = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if not isinstance(connection, socket.socket):
        return False
    try:
        connection.setblocking(False)
        try:
            return connection.recv(1, socket.MSG_PEEK) == b""
        finally:
            connection.setblocking(True)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def hold(
    waiters: Waiters,
    names: tuple[str, ...],
    seconds: float,
    recheck: float,
    changed: t.Callable[[], bool],
    environ: t.Mapping[str, t.Any],
) -> bool | None:
    """Wait up to ``seconds`` for ``changed()``; return whether it became true,
    or ``None`` when the request could not be held at all.

    :param names: registry names whose bumps wake this request; with none,
        ``changed()`` runs every ``recheck`` seconds.
    :param changed: computes the validators again and says whether the
        request's own ones no longer match.
    """
    event = waiters.enter(names)
    if event is None:
        return None
    now = time.monotonic()
    if names and changed():  # a bump between the first check and entering
        waiters.leave(event, names)
        return True
    deadline, next_check = now + seconds, now + recheck
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            step = min(remaining, DISCONNECT_CHECK)
            if not names:
                step = min(step, max(next_check - time.monotonic(), 0.0))
            woken = event.wait(step)
            if woken:  # clearing an unset event could drop a wake-up landing now
                event.clear()
            if waiters.releasing or disconnected(environ):
                return False
            due = not names and time.monotonic() >= next_check
            if due:
                next_check = time.monotonic() + recheck
            if (woken or due) and changed():
                return True
    finally:
        waiters.leave(event, names)
    return False
