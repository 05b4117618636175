"""Another conditional view's validators, from inside a request."""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask import Flask
from flask import render_template_string
from flask import request

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import validators_for


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
    CondPoll(app)
    app.version = 1
    return app


class TestValidatorsFor:
    def test_blueprint_relative_endpoints(self):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True)
        CondPoll(app)
        bp = Blueprint("panel", __name__)

        @bp.get("/badge")
        @conditional(etag=lambda: 3)
        def badge():
            return "3"

        @bp.get("/page")
        def page():
            tag = validators_for(".badge").header
            macro = render_template_string(
                '{% import "condpoll/macros.html" as c %}'
                '{% call c.poll(".badge", "badge", tag="span") %}3{% endcall %}'
            )
            return {"tag": tag, "html": macro}

        app.register_blueprint(bp)
        client = app.test_client()
        rendered = client.get("/page").json
        assert rendered["tag"] == client.get("/badge").headers["ETag"]
        assert 'hx-get="/badge"' in rendered["html"]

    def test_extra_arguments_become_the_query_string(self, app):
        app.add_url_rule(
            "/search", "search", conditional(etag=lambda: 1)(lambda: request.args["q"])
        )
        client = app.test_client()
        with app.test_request_context():
            tag = validators_for("search", {"q": "ab c"}).header
        assert client.get("/search?q=ab+c").headers["ETag"] == tag
        assert client.get("/search?q=x").headers["ETag"] != tag

    def test_inside_the_view_it_reuses_the_request(self, app):
        calls = []

        @app.get("/count")
        @conditional(etag=lambda: calls.append(1) or 1)
        def count():
            return validators_for("count").header or ""

        assert app.test_client().get("/count").data
        assert calls == [1]

    def test_inside_the_view_for_another_representation(self, app):
        """A browser visiting a fragment's URL: the poll's tag differs by its
        headers only, and comes from the value computed before the view."""
        calls = []

        @app.get("/count")
        @conditional(etag=lambda: calls.append(1) or app.version)
        def count():
            app.version = 2  # a commit lands while the view runs
            return validators_for("count", headers={"HX-Request": "true"}).header

        client = app.test_client()
        direct = client.get("/count")
        poll_tag = direct.get_data(as_text=True)
        assert calls == [1]
        assert poll_tag != direct.headers["ETag"]
        app.version = 1
        poll = client.get("/count", headers={"HX-Request": "true"})
        assert poll.headers["ETag"] == poll_tag

    def test_it_computes_when_called(self, app):
        @app.get("/count")
        @conditional(etag=lambda: app.version)
        def count():
            return "x"

        with app.test_request_context():
            first = validators_for("count").header
            app.version = 2
            assert validators_for("count").header != first


@pytest.mark.parametrize("cause", ["snapshot", "registry"])
def test_validators_for_renders_no_tag_when_no_version_can_be_trusted(cause):
    """A page embedding a fragment's tag must render when the fragment's
    version cannot be trusted now (a snapshot older than a bump) or read (the
    registry is down): without a tag, so the first poll is answered in full."""
    pytest.importorskip("sqlalchemy")
    from flask_condpoll.registry import RegistryUnavailable
    from flask_condpoll.sqlalchemy import SnapshotTooOld

    error = SnapshotTooOld if cause == "snapshot" else RegistryUnavailable
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
    CondPoll(app)

    def untrusted():
        raise error("no version now")

    @app.get("/badge")
    @conditional(etag=untrusted)
    def badge():
        return "3"

    @app.get("/page")
    def page():
        return {"tag": validators_for("badge").header}

    response = app.test_client().get("/page")
    assert response.status_code == 200
    assert response.json == {"tag": None}
