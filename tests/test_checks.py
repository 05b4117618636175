"""Mistakes visible only once every route is registered, reported at the first
request: loudly while developing, in the log in production."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.views import MethodView

from flask_condpoll import conditional
from flask_condpoll import CondPoll


def new_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "s", **config})
    CondPoll(app)
    return app


def misplaced(app: Flask) -> None:
    @conditional(etag=lambda: 1)  # above the route: wraps nothing Flask calls
    @app.get("/late")
    def late():
        return "x"

    @app.get("/other")
    def other():
        return "y"


def test_decorator_above_the_route_fails_the_first_request_while_testing():
    app = new_app(TESTING=True)
    misplaced(app)
    with pytest.raises(
        RuntimeError, match="'late' is registered without its @conditional"
    ):
        app.test_client().get("/other")


def test_in_debug_mode_too():
    app = new_app(DEBUG=True)
    misplaced(app)
    app.testing = False
    with pytest.raises(RuntimeError, match="is above the route decorator"):
        app.test_client().get("/late")


def test_in_production_it_is_logged_and_requests_are_served(caplog):
    app = new_app()
    misplaced(app)
    with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
        assert app.test_client().get("/other").status_code == 200
        assert app.test_client().get("/other").status_code == 200
    assert caplog.text.count("registered without its @conditional") == 1


def test_well_placed_decorators_pass():
    app = new_app(TESTING=True)

    @app.get("/fine")
    @conditional(etag=lambda: 1)
    def fine():
        return "x"

    assert app.test_client().get("/fine").status_code == 200


def test_views_of_one_url_with_different_tags_are_reported(caplog):
    app = new_app(TESTING=True)

    @app.get("/docs/<int:doc_id>")
    @conditional(etag=lambda doc_id: 1, weak=True)
    def read(doc_id):
        return "x"

    @app.put("/docs/<int:doc_id>")
    @conditional(etag=lambda doc_id: 1, weak=False)
    def write(doc_id):
        return "y"

    with (
        caplog.at_level(logging.ERROR, logger="flask_condpoll"),
        pytest.raises(RuntimeError, match="compute their tags"),
    ):
        app.test_client().get("/docs/1")


def test_routes_command_reports_problems():
    app = new_app()
    misplaced(app)
    result = app.test_cli_runner().invoke(args=["condpoll", "routes"])
    assert "registered without its @conditional" in result.output


def test_rules_that_differ_only_in_converters_are_one_url():
    app = new_app(TESTING=True)

    @app.get("/docs/<int:doc_id>")
    @conditional(etag=lambda doc_id: 1, weak=True)
    def read(doc_id):
        return "x"

    @app.put("/docs/<doc_id>")
    @conditional(etag=lambda doc_id: 1, weak=False)
    def write(doc_id):
        return "y"

    with pytest.raises(
        RuntimeError, match=r"'/docs/<doc_id>' and '/docs/<int:doc_id>' compute"
    ):
        app.test_client().get("/docs/1")


def test_views_that_differ_only_in_vary_agree():
    """The vary headers' values go into the tag's second part; If-Match
    compares the first, so a localized page's tag passes the PUT's If-Match."""
    app = new_app(TESTING=True)
    store = {"v": 1}

    @app.get("/docs/<int:doc_id>")
    @conditional(
        etag=lambda doc_id: store["v"],
        vary=["HX-Request", "X-Up-Target", "Accept-Language"],
    )
    def read(doc_id):
        return "x"

    @app.put("/docs/<int:doc_id>")
    @conditional(etag=lambda doc_id: store["v"], vary=[])
    def write(doc_id):
        store["v"] += 1
        return "y"

    client = app.test_client()
    tag = client.get("/docs/1", headers={"Accept-Language": "de"}).headers["ETag"]
    assert client.put("/docs/1", headers={"If-Match": tag}).status_code == 200
    assert store["v"] == 2


class TestGeneratorsAgainstTheRule:
    """A generator that cannot take what the URL rule passes, where the view's
    own signature could not tell (``decorators = [...]`` on a class-based
    view, arguments with defaults)."""

    def test_class_based_view_decorators(self):
        app = new_app(TESTING=True)

        def report_version():  # forgot doc_id
            return 1

        class Report(MethodView):
            decorators = [conditional(etag=report_version)]  # noqa: RUF012

            def get(self, doc_id):
                return {"doc": doc_id}

        app.add_url_rule("/reports/<int:doc_id>", view_func=Report.as_view("report"))
        with pytest.raises(
            RuntimeError,
            match=r"etag generator .*report_version.* of the view 'report'"
            r" \(/reports/<int:doc_id>\) cannot be called with the view's"
            r" keyword arguments \(doc_id\)",
        ):
            app.test_client().get("/reports/1")

    def test_a_view_argument_the_rule_never_passes(self):
        app = new_app(TESTING=True)

        @app.get("/items")
        @conditional(etag=lambda page: page)
        def items(page=1):
            return "x"

        with pytest.raises(RuntimeError, match=r"arguments \(no arguments\)"):
            app.test_client().get("/items")

    def test_rule_defaults_count(self):
        app = new_app(TESTING=True)

        class Report(MethodView):
            decorators = [conditional(etag=lambda kind: kind)]  # noqa: RUF012

            def get(self, kind):
                return kind

        app.add_url_rule(
            "/report", view_func=Report.as_view("report"), defaults={"kind": "all"}
        )
        assert app.test_client().get("/report").status_code == 200

    def test_in_production_it_is_logged(self, caplog):
        app = new_app()

        class Report(MethodView):
            decorators = [conditional(etag=lambda: 1)]  # noqa: RUF012

            def get(self, doc_id):
                return {"doc": doc_id}

        app.add_url_rule("/reports/<int:doc_id>", view_func=Report.as_view("report"))
        with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
            assert app.test_client().get("/reports/1").status_code == 200
        assert "cannot be called with" in caplog.text
