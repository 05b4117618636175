"""``flask condpoll explain``: one request, its decision and reason, and the
tag's ingredients by name, never their values."""

from __future__ import annotations

import re

import pytest
from flask import abort
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.reasons import REASONS
from flask_condpoll.reasons import WHY

SECRET_VERSION = "version-51c9e0"


def current_user() -> str:
    return "user-7f3a"  # a mixin's value: never printed


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    condpoll = CondPoll(app)
    condpoll.etag_mixin(current_user)

    def doc_version(doc_id: int) -> str:
        return SECRET_VERSION

    @app.route("/docs/<int:doc_id>", methods=["GET", "PUT"])
    @conditional(etag=doc_version, query=["page"], require_precondition=True)
    def doc(doc_id: int) -> str:
        return "doc"

    @app.get("/broken")
    @conditional(etag=lambda: 1 / 0, vary=[])
    def broken() -> str:
        return "broken"

    @app.get("/gone")
    @conditional(etag=lambda: SECRET_VERSION, vary=[])
    def gone() -> str:
        abort(410)

    app.add_url_rule("/plain", "plain", lambda: "plain")
    return app


def explain(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["condpoll", "explain", *args])


def without_timing(output: str) -> list[str]:
    return [line for line in output.splitlines() if not line.startswith("time:")]


def etag_of(output: str) -> str:
    return re.search(r"^ETag: +(.+)$", output, re.M)[1]


def test_a_full_response(app):
    result = explain(app, "/docs/4?page=2&utm=mail", "-H", "HX-Request: true")
    assert result.exit_code == 0, result.output
    lines = without_timing(result.output)
    assert lines[:4] == [
        "GET /docs/4?page=2&utm=mail  ->  200 OK",
        "view:    doc (ran)",
        "reason:  unconditional",
        f"why:     {WHY['unconditional']}",
    ]
    assert lines[5:] == [
        "the tag is made of (names only; values never leave the server):",
        "  path           /docs/4",
        "  query          page (this request: page)",
        "  etag           tests.test_explain.app.<locals>.doc_version",
        "  last_modified  -",
        "  mixins         tests.test_explain.current_user",
        "  vary           HX-Request, X-Up-Target (this request: HX-Request)",
    ]
    assert re.search(
        r"^time:    version \d+\.\d{3} ms, decision \d+\.\d{3} ms, view \d+\.\d{3} ms$",
        result.output,
        re.M,
    )
    explained = "\n".join(result.output.splitlines()[1:])  # after the URL given
    for value in (SECRET_VERSION, "user-7f3a", "mail", "=2", "true"):
        assert value not in explained


def test_a_304(app):
    tag = etag_of(explain(app, "/docs/4").output)
    result = explain(app, "/docs/4", "-H", f"If-None-Match: {tag}")
    assert result.exit_code == 0
    assert without_timing(result.output)[:3] == [
        "GET /docs/4  ->  304 Not Modified",
        "view:    doc (did not run)",
        "reason:  matched-if-none-match",
    ]
    assert "view " not in re.search(r"^time: .*$", result.output, re.M)[0]


def test_a_412_and_a_428(app):
    refused = explain(app, "/docs/4", "-X", "put", "-H", 'If-Match: "old"')
    assert refused.output.splitlines()[:3] == [
        "PUT /docs/4  ->  412 Precondition Failed",
        "view:    doc (did not run)",
        "reason:  if-match-failed",
    ]
    required = explain(app, "/docs/4", "-X", "PUT")
    assert required.output.splitlines()[:3] == [
        "PUT /docs/4  ->  428 Precondition Required",
        "view:    doc (did not run)",
        "reason:  precondition-required",
    ]
    assert "time:" not in required.output  # decided before any generator


def test_a_failing_generator(app):
    result = explain(app, "/broken")
    assert result.exit_code == 0
    assert result.output.splitlines()[:4] == [
        "GET /broken  ->  200 OK",
        "view:    broken (ran)",
        "reason:  generator-failed",
        f"why:     {WHY['generator-failed']}",
    ]
    assert "ETag:" not in result.output


def test_an_aborted_view(app):
    result = explain(app, "/gone")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "GET /gone  ->  410 Gone",
        "why:     the view, a generator or a mixin raised Gone: no conditional"
        " answer was made.",
    ]


def test_not_a_conditional_view(app):
    result = explain(app, "/plain")
    assert result.exit_code == 1
    assert "'plain' is not a conditional view" in result.output
    missing = explain(app, "/nowhere")
    assert missing.exit_code == 1
    assert "GET /nowhere  ->  404 Not Found: no view matches this URL." in (
        missing.output
    )


@pytest.mark.parametrize(
    "header", ["If-None-Match", ": x", "If None Match: x", "X-Ok: a\nb", "X: a\x00"]
)
def test_a_header_must_be_one(app, header):
    result = explain(app, "/docs/1", "-H", header)
    assert result.exit_code == 2, result.output
    assert "write it as 'Name: value'" in result.output
    assert "Traceback" not in result.output


def test_the_hook_is_removed(app):
    before = list(app.extensions["condpoll"].response_hooks)
    explain(app, "/docs/1")
    assert app.extensions["condpoll"].response_hooks == before


def test_every_reason_is_explained():
    assert set(WHY) == set(REASONS)
