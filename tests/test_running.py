"""The decision under way is published to the generators, and only while it is."""

from __future__ import annotations

import pytest
from flask import Flask
from flask import request

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.running import current_flask_app
from flask_condpoll.running import current_request
from flask_condpoll.running import current_state
from flask_condpoll.running import RUNNING
from flask_condpoll.sqlalchemy.guards import guarded_write


@pytest.fixture
def app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    CondPoll(app)
    app.seen = []

    def version(**kwargs):
        app.seen.append(
            (RUNNING.get() is not None, current_request()[0], current_flask_app())
        )
        if request.args.get("fail"):
            raise LookupError("down")
        return 1

    @app.route("/item", methods=["GET", "PUT"])
    @conditional(etag=version)
    def item():
        return "x"

    @app.put("/plain")
    def plain():
        return {"guarded": guarded_write(), "method": current_request()[0]}

    return app


def test_generators_see_the_decision_under_way(app):
    client = app.test_client()
    client.get("/item")
    client.put("/item", headers={"If-Match": "*"})
    assert app.seen == [(True, "GET", app), (True, "PUT", app)]
    assert RUNNING.get() is None


def test_nothing_is_left_behind_for_the_next_request(app):
    client = app.test_client()
    client.get("/item")
    client.get("/item?fail=1")  # a failing generator resets it too
    assert RUNNING.get() is None
    answer = client.put("/plain", headers={"If-Match": '"x"'}).get_json()
    assert answer == {"guarded": True, "method": "PUT"}
    assert client.put("/plain").get_json() == {"guarded": False, "method": "PUT"}


def test_outside_a_decision_the_proxies_answer(app):
    with app.test_request_context("/x", method="DELETE"):
        assert current_request()[0] == "DELETE"
        assert current_flask_app() is app
        assert current_state() is app.extensions["condpoll"]
    with app.app_context():
        assert current_request() is None
        assert current_flask_app() is app


def test_an_async_view_and_a_threaded_server(app):
    """Each thread's decision is its own; an async view's generators see theirs."""
    import threading

    from werkzeug.serving import make_server

    @app.route("/async", methods=["GET", "PUT"])
    @conditional(etag=lambda: app.seen.append(current_request()[0]) or 1)
    async def async_item():
        return "x"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import http.client

        def call(method: str) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", server.port)
            connection.request(method, "/async", headers={"If-Match": "*"})
            connection.getresponse().read()
            connection.close()

        threads = [
            threading.Thread(target=call, args=(method,))
            for method in ["GET", "PUT"] * 10
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        server.shutdown()
    assert sorted(app.seen) == ["GET"] * 10 + ["PUT"] * 10
