"""The ``flask_condpoll.testing`` helper, on good views and on broken ones."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.testing import check_conditional


def test_passes_on_a_correct_view(client, resource):
    def change():
        resource.version = 2

    result = check_conditional(client, "/strong", change=change, unsafe_method="PUT")
    assert result.etag and result.changed_etag and result.etag != result.changed_etag
    assert result.last_modified == "Wed, 01 May 2024 12:00:00 GMT"


def test_passes_on_a_last_modified_view(client):
    assert check_conditional(client, "/dated").etag is None


@pytest.fixture
def plain_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    CondPoll(app)
    return app


def test_fails_without_validators(plain_app):
    @plain_app.get("/")
    def index():
        return "x"

    with pytest.raises(AssertionError, match="no ETag and no Last-Modified"):
        check_conditional(plain_app.test_client(), "/")


def test_fails_when_change_is_invisible(plain_app):
    @plain_app.get("/")
    @conditional(etag=lambda: "constant")
    def index():
        return "x"

    with pytest.raises(AssertionError, match="stale 304"):
        check_conditional(plain_app.test_client(), "/", change=lambda: None)


def test_fails_when_the_view_makes_its_own_304(plain_app):
    """A hand-rolled check inside the view still runs the view: caught."""
    from flask import request

    @plain_app.get("/")
    def index():
        if request.headers.get("If-None-Match") == '"v1"':
            return "", 304
        return "x", 200, {"ETag": '"v1"'}

    with pytest.raises(AssertionError, match="ran the view"):
        check_conditional(plain_app.test_client(), "/")
