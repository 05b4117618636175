"""Noticing that the Redis server changed since the versions were last read.

A Redis server that restarted loads its data from disk: a snapshot may be
older than versions already handed out (restored from a backup, or the
writes since the last save lost in a crash), and so may a promoted replica's.
Every server run has its own ``run_id``: each new connection compares it with
the one stored next to the epoch, and on a change the epoch is replaced, so
no tag handed out before becomes current again. It costs an ``INFO`` and a
script per new connection; pooled connections are reused.
"""

from __future__ import annotations

import logging
import secrets
import typing as t

from .scripts import SERVER_CHANGED

logger = logging.getLogger("flask_condpoll")


class ServerCheck:
    """A ``redis_connect_func``: sets a connection up, then checks the server.

    :param server_key: the key holding the ``run_id`` the versions were seen on.
    :param epoch_key: the registry's epoch key.
    """

    def __init__(self, server_key: str, epoch_key: str) -> None:
        self.server_key = server_key
        self.epoch_key = epoch_key

    def __call__(self, connection: t.Any) -> None:
        import redis

        connection.on_connect()
        try:
            connection.send_command("INFO", "server")
            info = connection.read_response()
        except redis.ResponseError:  # a proxy without INFO: nothing to compare
            return
        run_id = _run_id(info)
        if run_id is None:
            return
        connection.send_command(
            "EVAL", SERVER_CHANGED, 2, self.server_key, self.epoch_key,
            run_id, secrets.token_hex(8),
        )  # fmt: skip
        if connection.read_response() == 1:
            logger.warning(
                "The Redis server of the version registry changed (restarted"
                " from disk, restored or failed over): its versions may be"
                " older than some handed out, so the epoch is renewed and every"
                " tag changes once."
            )


def _run_id(info: bytes | str) -> str | None:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "run_id":
            return value.strip()
    return None
