"""Holding an unchanged poll until its data changes, over a real threaded
server: woken by the registry, re-checked without one, never past its
timeout, never on a server that cannot hold, released when asked."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
import typing as t

import pytest
from flask import Flask
from werkzeug.serving import make_server

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import signals
from flask_condpoll.waiting import preferred_wait


class Served:
    """An app on a loopback port, with a version to change."""

    def __init__(self, **config: t.Any) -> None:
        app = Flask(__name__)
        app.config.update({"SECRET_KEY": "s", "CONDPOLL_STATS_URL": None, **config})
        self.condpoll = CondPoll(app)
        self.app = app
        self.version = 1
        self.server: t.Any = None

    def start(self) -> Served:
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], float]:
        started = time.monotonic()
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.server.port, timeout=30
        )
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status, dict(response.getheaders()), time.monotonic() - started

    @property
    def waiters(self) -> t.Any:
        return self.app.extensions["condpoll"].waiters


@pytest.fixture
def served() -> t.Iterator[Served]:
    from flask_condpoll.sqlalchemy import table_version

    served = Served(CONDPOLL_WAIT_JITTER=0)

    @served.app.get("/items")
    @conditional(etag=table_version("items"), wait=3)
    def items():
        return "items"

    @served.app.get("/counter")
    @conditional(etag=lambda: served.version, wait=3)
    def counter():
        return str(served.version)

    @served.app.get("/plain")
    @conditional(etag=lambda: served.version)
    def plain():
        return "plain"

    served.start()
    yield served
    served.stop()


def bump_later(served: Served, delay: float, table: str = "items") -> None:
    def bump() -> None:
        time.sleep(delay)
        with served.app.app_context():
            served.condpoll.touch(table)

    threading.Thread(target=bump).start()


class TestMeasuring:
    def test_the_wait_is_not_the_servers_work(self):
        """A held 304 is signalled with the server's time, not the hold's,
        and Server-Timing names the wait apart."""
        served = Served(CONDPOLL_WAIT_JITTER=0, CONDPOLL_SERVER_TIMING=True)

        @served.app.get("/counter")
        @conditional(etag=lambda: served.version, wait=1)
        def counter():
            return str(served.version)

        sent = []
        signals.not_modified_sent.connect(
            lambda sender, **kw: sent.append(kw["elapsed"]), served.app, weak=False
        )
        served.start()
        try:
            _, headers, _ = served.get("/counter")
            status, held, took = served.get(
                "/counter", **{"If-None-Match": headers["ETag"], "Prefer": "wait=1"}
            )
        finally:
            served.stop()
        assert (status, held["Preference-Applied"]) == (304, "wait=1")
        assert took >= 1.0
        assert sent[-1] < 0.5
        parts = dict(
            part.split(";dur=")
            for part in held["Server-Timing"].split(", ")
            if ";dur=" in part
        )
        assert float(parts["cp-wait"]) >= 1000
        assert float(parts["cp-decide"]) < 500


class TestPreference:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("wait=10", 10.0),
            ("WAIT=5", 5.0),
            ("respond-async, wait=20", 20.0),
            ('wait="7"', 7.0),
            ("wait=10; foo=bar", 10.0),
            ("handling=lenient", None),
            ("wait=0", None),
            ("wait=-1", None),
            ("wait=abc", None),
            ("wait", None),
            ("", None),
            (None, None),
        ],
    )
    def test_parsing(self, value, seconds):
        assert preferred_wait(value) == seconds


class TestHolding:
    def test_a_bump_answers_a_held_poll_at_once(self, served):
        _, headers, _ = served.get("/items")
        bump_later(served, 0.3)
        status, answered, elapsed = served.get(
            "/items", **{"If-None-Match": headers["ETag"], "Prefer": "wait=3"}
        )
        assert status == 200
        assert answered["ETag"] != headers["ETag"]
        assert answered["Preference-Applied"] == "wait=3"
        assert 0.3 <= elapsed < 1.5

    def test_the_timeout_answers_304(self, served):
        tag = served.get("/items")[1]["ETag"]
        status, headers, elapsed = served.get(
            "/items", **{"If-None-Match": tag, "Prefer": "wait=1"}
        )
        assert status == 304
        assert headers["Preference-Applied"] == "wait=1"
        assert 1.0 <= elapsed < 1.6  # never held past the timeout plus a margin

    def test_the_view_caps_the_wait(self, served):
        tag = served.get("/items")[1]["ETag"]
        status, headers, elapsed = served.get(
            "/items", **{"If-None-Match": tag, "Prefer": "wait=60"}
        )
        assert status == 304
        assert headers["Preference-Applied"] == "wait=3"
        assert elapsed < 3.6

    def test_a_bump_of_another_table_does_not_answer(self, served):
        tag = served.get("/items")[1]["ETag"]
        bump_later(served, 0.2, table="other")
        status, _, elapsed = served.get(
            "/items", **{"If-None-Match": tag, "Prefer": "wait=1"}
        )
        assert status == 304
        assert elapsed >= 1.0

    def test_without_a_registry_name_it_is_rechecked(self, served):
        tag = served.get("/counter")[1]["ETag"]

        def change() -> None:
            time.sleep(0.3)
            served.version += 1

        threading.Thread(target=change).start()
        status, _, elapsed = served.get(
            "/counter", **{"If-None-Match": tag, "Prefer": "wait=3"}
        )
        assert status == 200
        assert elapsed < 0.3 + 1.0 + 0.5  # within one re-check interval

    def test_only_when_asked_and_allowed(self, served):
        tag = served.get("/items")[1]["ETag"]
        status, headers, elapsed = served.get("/items", **{"If-None-Match": tag})
        assert (status, elapsed < 0.5) == (304, True)
        assert "Preference-Applied" not in headers
        tag = served.get("/plain")[1]["ETag"]
        status, headers, elapsed = served.get(
            "/plain", **{"If-None-Match": tag, "Prefer": "wait=3"}
        )
        assert (status, elapsed < 0.5) == (304, True)
        assert "Preference-Applied" not in headers
        status, headers, _ = served.get(
            "/plain", **{"If-None-Match": '"old"', "Prefer": "wait=3"}
        )
        assert (status, "Preference-Applied" in headers) == (200, False)
        status, headers, _ = served.get("/items", **{"If-None-Match": '"old"'})
        assert (status, "Preference-Applied" in headers) == (200, False)

    def test_never_in_an_async_view(self, served):
        """Its parts run in the request's event loop, which a hold would block."""

        @served.app.get("/async")
        @conditional(etag=lambda: served.version, wait=3)
        async def async_counter():
            return str(served.version)

        tag = served.get("/async")[1]["ETag"]
        status, headers, elapsed = served.get(
            "/async", **{"If-None-Match": tag, "Prefer": "wait=3"}
        )
        assert (status, elapsed < 1.0) == (304, True)
        assert "Preference-Applied" not in headers

    def test_a_changed_tag_is_answered_at_once_and_told_to_come_back(self, served):
        """A commit that lands between two holds is answered at once, and the
        answer says the server holds, so the client polls again at once
        instead of waiting its interval for the next change."""
        status, headers, elapsed = served.get(
            "/items", **{"If-None-Match": '"old"', "Prefer": "wait=3"}
        )
        assert (status, elapsed < 0.5) == (200, True)
        assert headers["Preference-Applied"] == "wait=3"


class TestLimits:
    def test_the_cap_answers_the_rest_at_once(self):
        served = Served(CONDPOLL_WAIT_MAX_HELD=1, CONDPOLL_WAIT_JITTER=0)
        served.app.add_url_rule(
            "/v", "v", conditional(etag=lambda: 1, wait=2)(lambda: "v")
        )
        served.start()
        try:
            tag = served.get("/v")[1]["ETag"]
            results: list[tuple[float, bool]] = []

            def poll() -> None:
                _, headers, elapsed = served.get(
                    "/v", **{"If-None-Match": tag, "Prefer": "wait=2"}
                )
                results.append((round(elapsed), "Preference-Applied" in headers))

            first = threading.Thread(target=poll)
            first.start()
            time.sleep(0.3)
            poll()
            first.join()
            # The one answered at once must not say it was held: its client
            # would poll again at once, and again, for as long as the cap holds.
            assert sorted(results) == [(0, False), (2, True)]
        finally:
            served.stop()

    def test_a_server_that_cannot_hold_answers_at_once(self, caplog):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
        CondPoll(app)
        app.add_url_rule("/v", "v", conditional(etag=lambda: 1, wait=2)(lambda: "v"))
        client = app.test_client()  # one request at a time, like a sync worker
        tag = client.get("/v").headers["ETag"]
        with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
            started = time.monotonic()
            for _ in range(2):
                response = client.get(
                    "/v", headers={"If-None-Match": tag, "Prefer": "wait=2"}
                )
                assert response.status_code == 304
                assert "Preference-Applied" not in response.headers
            response = client.get(
                "/v", headers={"If-None-Match": '"old"', "Prefer": "wait=2"}
            )
            assert "Preference-Applied" not in response.headers
            assert time.monotonic() - started < 1
        assert caplog.text.count("sync worker") == 1

    def test_release_all_answers_every_held_poll(self, served):
        tag = served.get("/items")[1]["ETag"]
        results: list[tuple[int, float]] = []

        def poll() -> None:
            status, _, elapsed = served.get(
                "/items", **{"If-None-Match": tag, "Prefer": "wait=3"}
            )
            results.append((status, elapsed))

        threads = [threading.Thread(target=poll) for _ in range(5)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 5
        while served.waiters.held < 5:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        served.waiters.release_all()
        for thread in threads:
            thread.join()
        assert [status for status, _ in results] == [304] * 5
        assert max(elapsed for _, elapsed in results) < 2

    def test_a_client_that_goes_away_is_released(self, served):
        tag = served.get("/items")[1]["ETag"]
        with socket.create_connection(("127.0.0.1", served.server.port)) as raw:
            raw.sendall(
                b"GET /items HTTP/1.1\r\nHost: x\r\nPrefer: wait=3\r\n"
                + f"If-None-Match: {tag}\r\n\r\n".encode()
            )
            deadline = time.monotonic() + 3
            while served.waiters.held < 1:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        deadline = time.monotonic() + 2
        while served.waiters.held:
            assert time.monotonic() < deadline, "the hold outlived its client"
            time.sleep(0.05)


def test_a_bump_just_before_the_hold_begins_is_not_missed(served, monkeypatch):
    """The version was read, then a commit lands, then the request starts to
    wait: it must not sleep through the change until its timeout."""
    import flask_condpoll.decide as decide

    original = decide.hold_seconds

    def bump_first(flow):
        seconds = original(flow)
        with served.app.app_context():
            served.condpoll.touch("items")
        return seconds

    monkeypatch.setattr(decide, "hold_seconds", bump_first)
    tag = served.get("/items")[1]["ETag"]
    status, _, elapsed = served.get(
        "/items", **{"If-None-Match": tag, "Prefer": "wait=3"}
    )
    assert (status, elapsed < 1) == (200, True)
