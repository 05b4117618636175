"""Bumps made by another process wake the polls this one holds, through one
Redis subscriber connection per process; Redis going away answers them at
once and holds no more until it is back."""

from __future__ import annotations

import http.client
import threading
import time
import typing as t

import pytest

pytest.importorskip("redis")

from flask import Flask
from werkzeug.serving import make_server

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.sqlalchemy import table_version

from ..redis_server import PrivateRedis


def worker(url: str) -> tuple[Flask, t.Any]:
    """An app as one worker process would run it, on its own port."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="s",
        CONDPOLL_STATS_URL=None,
        CONDPOLL_REGISTRY_URL=url,
        CONDPOLL_REGISTRY_TIMEOUT=0.2,
        CONDPOLL_WAIT_JITTER=0,
    )
    condpoll = CondPoll(app)
    app.add_url_rule(
        "/items",
        "items",
        conditional(etag=table_version("items"), wait=4)(lambda: "items"),
    )
    app.condpoll = condpoll
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server


def get(server: t.Any, **headers: str) -> tuple[int, dict[str, str], float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/items", headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, dict(response.getheaders()), time.monotonic() - started


@pytest.fixture
def redis_server(tmp_path) -> t.Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.thaw()
    server.kill()


def held_polls(server: t.Any, app: Flask, count: int, tag: str) -> tuple[list, list]:
    results: list[tuple[int, dict[str, str], float]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                get(server, **{"If-None-Match": tag, "Prefer": "wait=4"})
            )
        )
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    waiters = app.extensions["condpoll"].waiters
    deadline = time.monotonic() + 5
    while waiters.held < count:
        assert time.monotonic() < deadline, f"only {waiters.held} held"
        time.sleep(0.02)
    return threads, results


def test_a_bump_in_another_process_wakes_held_polls(redis_server):
    one, one_server = worker(redis_server.url)
    two, two_server = worker(redis_server.url)
    try:
        tag = get(one_server)[1]["ETag"]
        threads, results = held_polls(one_server, one, 20, tag)
        with two.app_context():
            two.condpoll.touch("items")  # a commit made in the other worker
        for thread in threads:
            thread.join()
        assert [status for status, _, _ in results] == [200] * 20
        assert max(elapsed for _, _, elapsed in results) < 2
    finally:
        one_server.shutdown()
        two_server.shutdown()


def test_redis_stopping_answers_held_polls_at_once_and_never_stale(redis_server):
    app, server = worker(redis_server.url)
    try:
        tag = get(server)[1]["ETag"]
        threads, results = held_polls(server, app, 20, tag)
        stopped = time.monotonic()
        redis_server.kill()
        for thread in threads:
            thread.join()
        # Answered in full (the registry is unreachable: no validators), well
        # before the hold's timeout, never a 304 for a version no one can check.
        assert {status for status, _, _ in results} == {200}
        assert all("ETag" not in headers for _, headers, _ in results)
        assert time.monotonic() - stopped < 3.5
        # While Redis is down, nothing is held.
        status, headers, elapsed = get(
            server, **{"If-None-Match": tag, "Prefer": "wait=4"}
        )
        assert status == 200
        assert elapsed < 1
        assert "Preference-Applied" not in headers
    finally:
        server.shutdown()


def test_holds_resume_when_redis_is_back(redis_server):
    _, server = worker(redis_server.url)
    try:
        get(server)
        redis_server.kill()
        time.sleep(0.5)
        redis_server.start()  # empty: a new epoch
        deadline = time.monotonic() + 10
        while True:
            status, headers, _ = get(server)
            if status == 200 and "ETag" in headers:
                break
            assert time.monotonic() < deadline
            time.sleep(0.2)
        tag = headers["ETag"]
        deadline = time.monotonic() + 10
        while True:
            status, headers, elapsed = get(
                server, **{"If-None-Match": tag, "Prefer": "wait=1"}
            )
            if "Preference-Applied" in headers:
                break
            assert time.monotonic() < deadline, "holds never resumed"
        assert status == 304 and elapsed >= 1
    finally:
        server.shutdown()
