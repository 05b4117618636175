"""Poll-Interval on every answer of a polled view, exact; the stop helper in
each client's dialect; the operator's command."""

from __future__ import annotations

import pytest
from flask import Flask
from flask import render_template_string

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import Poll
from flask_condpoll import stop_polling
from flask_condpoll.core.polling import MIN_SAMPLES
from flask_condpoll.polling import Override

HTMX2 = {"HX-Request": "true"}
HTMX4 = {"HX-Request": "true", "HX-Request-Type": "partial"}
UNPOLY = {"X-Up-Target": "#feed"}


def make_app(tmp_path, **config: object) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None, **config)
    CondPoll(app)
    app.version = 1
    app.done = False

    @app.get("/feed")
    @conditional(etag=lambda: app.version, poll=Poll(2, max_interval=30))
    def feed():
        if app.done:
            return stop_polling('<div id="feed">done</div>')
        return "feed"

    @app.get("/plain")
    @conditional(etag=lambda: app.version, poll=0.5)
    def plain():
        return ("failed", 500) if app.done else "plain"

    @app.get("/undeclared")
    @conditional(etag=lambda: app.version)
    def undeclared():
        return "undeclared"

    @app.get("/empty")
    @conditional(etag=lambda: app.version)
    def empty():
        return stop_polling()

    return app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def steer(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["condpoll", "polling", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_answer_carries_the_interval(app):
    client = app.test_client()
    first = client.get("/plain", headers=HTMX2)
    assert first.status_code == 200
    assert first.headers["Poll-Interval"] == "500"
    tag = first.headers["ETag"]
    again = client.get("/plain", headers=HTMX2 | {"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["Poll-Interval"] == "500"
    ptag = client.get("/plain", headers=HTMX4 | {"HX-PTag": tag})
    assert (ptag.status_code, ptag.headers["Poll-Interval"]) == (204, "500")
    app.done = True
    app.version = 2
    failed = client.get("/plain", headers=HTMX2)
    assert (failed.status_code, failed.headers["Poll-Interval"]) == (500, "500")
    assert "Retry-After" not in failed.headers


def test_views_without_poll_get_no_interval(app):
    response = app.test_client().get("/undeclared", headers=HTMX2)
    assert "Poll-Interval" not in response.headers


def test_the_factor_scales_every_interval(tmp_path):
    app = make_app(tmp_path, CONDPOLL_POLL_FACTOR=3)
    response = app.test_client().get("/plain", headers=UNPOLY)
    assert response.headers["Poll-Interval"] == "1500"


def test_stopping_reaches_every_poll_and_says_when_to_ask_again(app):
    client = app.test_client()
    assert steer(app, "--stop").splitlines()[0] == (
        "Polling is stopped; factor 1 (from the config; CONDPOLL_POLL_FACTOR is 1)."
    )
    for url in ("/plain", "/undeclared"):
        response = client.get(url, headers=HTMX2)
        assert response.headers["Poll-Interval"] == "-1"
        assert response.headers["Retry-After"] == "60"
    page = client.get("/undeclared")  # not a poll, no poll= declared
    assert "Poll-Interval" not in page.headers
    assert steer(app, "--resume", "--factor", "2").splitlines()[0] == (
        "Polling runs; factor 2 (set at run time; CONDPOLL_POLL_FACTOR is 1)."
    )
    assert client.get("/plain", headers=HTMX2).headers["Poll-Interval"] == "1000"
    assert steer(app, "--reset").startswith("Polling runs; factor 1 (from the config")
    assert client.get("/plain", headers=HTMX2).headers["Poll-Interval"] == "500"


def test_without_resume_check_a_stop_is_final(tmp_path):
    app = make_app(tmp_path, CONDPOLL_POLL_FACTOR=0, CONDPOLL_POLL_RESUME_CHECK=None)
    response = app.test_client().get("/plain", headers=HTMX2)
    assert response.headers["Poll-Interval"] == "-1"
    assert "Retry-After" not in response.headers


def test_reset_is_alone(app):
    result = app.test_cli_runner().invoke(
        args=["condpoll", "polling", "--reset", "--stop"]
    )
    assert result.exit_code == 2
    assert "--reset cannot be combined" in result.output


@pytest.mark.parametrize("factor", ["nan", "inf", "-1", "1000001"])
def test_a_factor_outside_its_range_is_refused(app, factor):
    result = app.test_cli_runner().invoke(
        args=["condpoll", "polling", "--factor", factor]
    )
    assert result.exit_code == 2, result.output
    assert "--factor" in result.output
    assert app.extensions["condpoll"].polling.override() == Override()


def test_the_top_of_the_range_applies(app):
    steer(app, "--factor", "1000000")
    response = app.test_client().get("/plain", headers=HTMX2)
    assert response.headers["Poll-Interval"] == "86400000"  # a day at most


def test_a_stop_replaces_an_unreadable_override(app):
    control = app.extensions["condpoll"].polling
    control.store.write('{"factor": NaN}')
    result = app.test_cli_runner().invoke(args=["condpoll", "polling"])
    assert result.exit_code == 1
    assert "Not a polling override" in result.output
    assert steer(app, "--stop").startswith("Replacing what the store held")
    assert control.override() == Override(None, True)
    response = app.test_client().get("/plain", headers=HTMX2)
    assert response.headers["Poll-Interval"] == "-1"


def test_adaptive_back_off_and_return_to_base(app):
    client = app.test_client()
    tag = client.get("/feed", headers=HTMX2).headers["ETag"]
    headers = HTMX2 | {"If-None-Match": tag}
    intervals = [
        client.get("/feed", headers=headers).headers["Poll-Interval"]
        for _ in range(MIN_SAMPLES)
    ]
    assert intervals[:-1] == ["2000"] * (MIN_SAMPLES - 1)
    assert intervals[-1] == "30000"  # nothing ever changed: the longest wait
    app.version = 2
    changed = client.get("/feed", headers=headers)
    assert (changed.status_code, changed.headers["Poll-Interval"]) == (200, "2000")
    tag = changed.headers["ETag"]
    unchanged = client.get("/feed", headers=HTMX2 | {"If-None-Match": tag})
    # One change in 21 polls: 2 / (1 - 20/21) = 42 s, within 30 s.
    assert unchanged.headers["Poll-Interval"] == "30000"


@pytest.mark.parametrize(
    ("headers", "status"), [(HTMX2, 286), (HTMX4, 200), (UNPOLY, 200)]
)
def test_stop_polling_speaks_each_dialect(app, headers, status):
    app.done = True
    app.version = 2
    response = app.test_client().get("/feed", headers=headers)
    assert response.status_code == status
    assert response.get_data(as_text=True) == '<div id="feed">done</div>'
    assert response.headers["Poll-Interval"] == "-1"
    assert "Retry-After" not in response.headers
    assert "ETag" in response.headers


@pytest.mark.parametrize(("headers", "status"), [(HTMX2, 286), (HTMX4, 204)])
def test_an_empty_stop_keeps_the_dom(app, headers, status):
    response = app.test_client().get("/empty", headers=headers)
    assert (response.status_code, response.data) == (status, b"")
    assert response.headers["Poll-Interval"] == "-1"


def test_the_macro_renders_the_declared_interval_times_the_factor(app):
    template = (
        '{% import "condpoll/macros.html" as c %}'
        '{% call c.poll("plain", "feed", jitter=0.25, timeout=5) %}x{% endcall %}'
    )
    with app.test_request_context():
        html = render_template_string(template)
    assert ' data-condpoll-interval="500" data-condpoll-jitter="0.25"' in html
    assert ' data-condpoll-timeout="5000" ' in html
    steer(app, "--factor", "4")
    with app.test_request_context():
        assert ' data-condpoll-interval="2000" ' in render_template_string(template)
    steer(app, "--stop")
    with app.test_request_context():
        assert ' data-condpoll-interval="60000" ' in render_template_string(template)


def test_the_macro_defaults_to_two_seconds_without_poll(app):
    template = (
        '{% import "condpoll/macros.html" as c %}'
        '{% call c.poll("undeclared", "u", client="unpoly") %}{% endcall %}'
    )
    with app.test_request_context():
        assert ' data-condpoll-interval="2000" ' in render_template_string(template)
