"""Bumps made anywhere, heard in this process: one Redis subscriber connection
per process, shared by every request it holds."""

from __future__ import annotations

import logging
import os
import threading
import time
import typing as t

from .base import Listener

logger = logging.getLogger("flask_condpoll")

#: Separates the names in a bump's message (names never contain it).
SEPARATOR = "\x1f"


class Subscriber:
    """Listens to a Redis channel of bumps from a background thread.

    While the connection is down, :attr:`healthy` is false (so no request is
    held), and every listener is called with ``None`` when it breaks and when
    it is back: bumps may have been missed meanwhile.

    :param url: the Redis URL.
    :param channel: the channel the registry publishes bumps on.
    :param timeout: seconds to wait for Redis to connect or answer.
    """

    def __init__(self, url: str, channel: str, timeout: float) -> None:
        self.url = url
        self.channel = channel
        self.timeout = timeout
        self.healthy = False
        self._listeners: list[Listener] = []
        self._ready = threading.Event()
        self._pid = 0
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> bool:
        """Add ``listener``, start listening if this process is not yet, and
        return whether the subscription works now."""
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)
            if self._pid != os.getpid():  # never started, or inherited by a fork
                self._pid = os.getpid()
                self.healthy = False
                self._ready.clear()
                threading.Thread(
                    target=self._listen, name="condpoll-bumps", daemon=True
                ).start()
        self._ready.wait(self.timeout * 4)
        return self.healthy

    def _notify(self, names: t.Sequence[str] | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(names)
            except Exception:  # a listener must not stop the others
                logger.exception("A registry listener failed.")

    def _listen(self) -> None:
        import redis

        delay = 0.1
        while self._pid == os.getpid():
            client: t.Any = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=self.timeout,
                socket_timeout=max(self.timeout * 8, 2.0),
                health_check_interval=1,
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                pubsub.get_message(timeout=self.timeout)  # the confirmation
                self.healthy = True
                self._ready.set()
                self._notify(None)  # bumps may have been missed while down
                delay = 0.1
                while self._pid == os.getpid():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        data = message["data"]
                        text = data.decode() if isinstance(data, bytes) else data
                        self._notify(text.split(SEPARATOR))
            except redis.RedisError as exc:
                if self.healthy:
                    logger.warning(
                        "Registry notifications from Redis stopped (%s): polls"
                        " are answered at once until they are back.",
                        exc,
                    )
                self.healthy = False
                self._ready.set()
                self._notify(None)
            finally:
                pubsub.close()
                client.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
