"""``Server-Timing`` on every conditional answer: its reason and durations,
never a version or an id, and nothing at all when switched off."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.reasons import REASONS
from flask_condpoll.reasons import VIEW_RAN
from flask_condpoll.timing import add_server_timing

from .conftest import BEFORE

#: A version and an id that must never show in the header.
VERSION = "version-8d41f7"
ITEM = 48213

METRIC = re.compile(r'condpoll;desc="[a-z-]+"|cp-(version|decide|view);dur=\d+(\.\d+)?')


def make_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "s", "TESTING": True, **config})
    CondPoll(app)

    @app.route("/items/<int:item_id>", methods=["GET", "PUT"])
    @conditional(etag=lambda item_id: (VERSION, item_id), require_precondition=True)
    def item(item_id: int) -> str:
        return f"item {item_id}"

    @app.route("/broken", methods=["GET", "PUT"])
    @conditional(etag=lambda: 1 / 0)
    def broken() -> str:
        return "broken"

    @app.get("/timed")
    @conditional(etag=lambda: VERSION)
    def timed() -> tuple[str, dict[str, str]]:
        return "timed", {"Server-Timing": 'db;dur=3.5;desc="query"'}

    return app


@pytest.fixture
def client():
    return make_app(CONDPOLL_SERVER_TIMING=True).test_client()


def timing(response) -> dict[str, str]:
    """The header's metrics by name: the reason, or the duration."""
    [value] = response.headers.getlist("Server-Timing")
    parsed = {}
    for metric in value.split(", "):
        assert METRIC.fullmatch(metric), metric
        name, _, param = metric.partition(";")
        parsed[name] = param.partition("=")[2].strip('"')
    return parsed


def assert_reveals_nothing(response) -> None:
    value = ", ".join(response.headers.getlist("Server-Timing"))
    etag = response.headers.get("ETag", "").strip('W/"')
    for secret in (VERSION, str(ITEM), "/items", etag or VERSION):
        assert secret not in value


def test_full_response(client):
    response = client.get(f"/items/{ITEM}")
    assert response.status_code == 200
    metrics = timing(response)
    assert list(metrics) == ["condpoll", "cp-version", "cp-decide", "cp-view"]
    assert metrics["condpoll"] == "unconditional"
    assert all(float(metrics[name]) >= 0 for name in list(metrics)[1:])
    assert_reveals_nothing(response)


def test_changed(client):
    response = client.get(f"/items/{ITEM}", headers={"If-None-Match": '"old"'})
    assert timing(response)["condpoll"] == "changed"
    assert "cp-view" in timing(response)


def test_not_modified_has_no_view_time(client):
    tag = client.get(f"/items/{ITEM}").headers["ETag"]
    response = client.get(f"/items/{ITEM}", headers={"If-None-Match": tag})
    assert response.status_code == 304
    metrics = timing(response)
    assert list(metrics) == ["condpoll", "cp-version", "cp-decide"]
    assert metrics["condpoll"] == "matched-if-none-match"
    assert_reveals_nothing(response)


def test_precondition_failed(client):
    response = client.put(f"/items/{ITEM}", headers={"If-Match": '"old"'})
    assert response.status_code == 412
    metrics = timing(response)
    assert list(metrics) == ["condpoll", "cp-version", "cp-decide"]
    assert metrics["condpoll"] == "if-match-failed"
    assert_reveals_nothing(response)


def test_precondition_required_ran_no_generator(client):
    response = client.put(f"/items/{ITEM}")
    assert response.status_code == 428
    assert timing(response) == {"condpoll": "precondition-required"}


def test_failing_generator_fails_open_and_says_so(client):
    response = client.get("/broken")
    assert response.status_code == 200
    metrics = timing(response)
    assert list(metrics) == ["condpoll", "cp-version", "cp-decide", "cp-view"]
    assert metrics["condpoll"] == "generator-failed"
    assert "ZeroDivision" not in response.headers["Server-Timing"]


def test_guarded_write_with_a_failing_generator(client):
    response = client.put("/broken", headers={"If-Unmodified-Since": BEFORE})
    assert response.status_code == 503
    assert timing(response)["condpoll"] == "unverifiable-write"
    assert "cp-view" not in timing(response)


def test_the_views_own_server_timing_is_kept(client):
    response = client.get("/timed")
    values = response.headers.getlist("Server-Timing")
    assert values[0] == 'db;dur=3.5;desc="query"'
    assert values[1].startswith('condpoll;desc="unconditional", cp-version;dur=')


@pytest.mark.parametrize(
    ("setting", "debug", "sent"),
    [
        (None, False, False),
        (None, True, True),
        (False, True, False),
        (True, False, True),
    ],
)
def test_switch(setting, debug, sent):
    app = Flask(__name__)
    app.debug = debug
    app.config.update(SECRET_KEY="s", CONDPOLL_SERVER_TIMING=setting)
    CondPoll(app)

    @app.get("/")
    @conditional(etag=lambda: VERSION)
    def index() -> str:
        return "index"

    client = app.test_client()
    tag = client.get("/").headers["ETag"]
    for response in (client.get("/"), client.get("/", headers={"If-None-Match": tag})):
        assert ("Server-Timing" in response.headers) is sent


def test_off_adds_no_hook():
    """Switched off, requests pay nothing: no hook is registered."""
    app = make_app(CONDPOLL_SERVER_TIMING=False)
    assert add_server_timing not in app.extensions["condpoll"].response_hooks
    on = make_app(CONDPOLL_SERVER_TIMING=True)
    assert add_server_timing in on.extensions["condpoll"].response_hooks


def test_every_reason_is_a_known_one():
    assert set(REASONS) > VIEW_RAN
