"""Held polls under faults, through gunicorn's gevent workers and a private
Redis: Redis stopping, a worker killed, clients going away. No 5xx, nothing
held past its timeout, never a stale 304."""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import threading
import time
import typing as t
import urllib.request

import pytest

pytest.importorskip("gevent")
pytest.importorskip("redis")

from benchmarks.holding import Poller
from benchmarks.holding import start_gunicorn
from benchmarks.holding import start_redis
from benchmarks.holding import workers_of

WAIT = 20


@pytest.fixture
def stack() -> t.Iterator[t.Any]:
    with tempfile.TemporaryDirectory() as directory:
        redis, url = start_redis(directory)
        server, port = start_gunicorn(url, 2, WAIT)

        class Stack:
            pass

        stack = Stack()
        stack.redis, stack.url, stack.server, stack.port = redis, url, server, port
        yield stack
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        redis.kill()
        redis.wait()


def hold(stack: t.Any, count: int, parts: int = 10) -> list[Poller]:
    pollers = [Poller(stack.port, n % parts) for n in range(count)]
    for poller in pollers:
        threading.Thread(target=poller.run, args=(WAIT,), daemon=True).start()
    deadline = time.monotonic() + 60
    while sum(1 for p in pollers if p.answers) < count:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(2)  # held again after their first 200
    return pollers


def stop(pollers: list[Poller]) -> None:
    for poller in pollers:
        poller.stop = True


def test_redis_stopped_while_500_polls_are_held(stack):
    pollers = hold(stack, 500)
    counts = [len(p.answers) for p in pollers]
    stopped = time.monotonic()
    stack.redis.kill()
    stack.redis.wait()
    time.sleep(4)
    stop(pollers)
    for poller, count in zip(pollers, counts, strict=True):
        after = poller.answers[count:]
        assert after, "a held poll was never answered"
        first_when, _ = after[0]
        assert first_when - stopped < 3.5  # promptly, not at the 20 s timeout
        # Answered in full without validators: no one can check a version.
        assert all(status == 200 for _, status in after), after


def test_a_worker_killed_while_holding(stack):
    from flask_condpoll.registry import partition_name
    from flask_condpoll.registry import RedisRegistry

    pollers = hold(stack, 200)
    counts = [len(p.answers) for p in pollers]
    os.kill(workers_of(stack.server.pid)[0], signal.SIGKILL)
    time.sleep(4)  # gunicorn starts a new worker; its clients come back
    statuses = [
        s for p, c in zip(pollers, counts, strict=True) for _, s in p.answers[c:]
    ]
    dropped = statuses.count(0)  # the killed worker's connections
    assert 0 < dropped <= 200
    assert not [s for s in statuses if s not in (0, 304)]
    # Every client is held again, on either worker: a change reaches them all.
    counts = [len(p.answers) for p in pollers]
    bumped = time.monotonic()
    RedisRegistry(stack.url).bump(
        ["items", *(partition_name("items", "part", n) for n in range(10))]
    )
    deadline = bumped + 5
    while any(len(p.answers) == c for p, c in zip(pollers, counts, strict=True)):
        assert time.monotonic() < deadline, "a client was not held again"
        time.sleep(0.1)
    stop(pollers)
    for poller, count in zip(pollers, counts, strict=True):
        assert poller.answers[count][1] == 200


def test_clients_going_away_release_their_holds():
    with tempfile.TemporaryDirectory() as directory:
        redis, url = start_redis(directory)
        server, port = start_gunicorn(url, 1, WAIT)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/items/1") as first:
                tag = first.headers["ETag"]
            sockets = []
            for _ in range(50):
                raw = socket.create_connection(("127.0.0.1", port))
                raw.sendall(
                    b"GET /items/1 HTTP/1.1\r\nHost: x\r\nPrefer: wait=20\r\n"
                    + f"If-None-Match: {tag}\r\n\r\n".encode()
                )
                sockets.append(raw)

            def held() -> int:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/held") as r:
                    return int(json.load(r)["held"])

            deadline = time.monotonic() + 10
            while held() < 50:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            for raw in sockets:
                raw.close()
            deadline = time.monotonic() + 5
            while held():
                assert time.monotonic() < deadline, "holds outlived their clients"
                time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
            redis.kill()
            redis.wait()
