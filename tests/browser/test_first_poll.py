"""The first poll of a prepared fragment is unchanged in a real browser, for a
view that varies on the headers the browser and each client send."""

from __future__ import annotations

import threading
import time
import typing as t

import pytest
from flask import abort
from flask import Flask
from flask import render_template_string
from flask import request
from flask import send_from_directory
from werkzeug.serving import make_server

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.frontend import prepare_poll
from flask_condpoll.settings import CLIENTS

from ..services import unavailable
from .steering_app import LIBRARIES
from .steering_app import NODE_MODULES
from .steering_app import PTAG

#: How each client's unchanged poll is answered (htmx 4 sends HX-PTag).
UNCHANGED = {"htmx2": 304, "htmx4": 204, "unpoly": 304}

#: A browser header, and every header a client sets that the page can know.
VARY = [
    "Accept-Language",
    "User-Agent",
    "Accept",
    "HX-Request",
    "HX-Trigger",
    "HX-Target",
    "HX-Source",
    "HX-Request-Type",
    "X-Up-Target",
]

BADGE = """{% import "condpoll/macros.html" as condpoll -%}
{% call condpoll.poll("badge", "badge", client=client, tag="span", interval=0.2,
                      jitter=0) %}{{ count }}{% endcall %}"""

PAGE = (
    """<!doctype html>{% import "condpoll/macros.html" as condpoll -%}
<html><head><meta charset="utf-8"><title>first poll</title>
{{ condpoll.scripts(client, library_url=library, extension_url=ptag) }}
</head><body>"""
    + BADGE
    + "</body></html>"
)


def create_app(client: str, polls: list[int]) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="first", CONDPOLL_STATS_URL=None)
    CondPoll(app)

    @app.get("/")
    def page() -> str:
        prepare_poll("badge", "badge", client=client, tag="span")
        return render_template_string(
            PAGE,
            client=client,
            count=1,
            library=f"/vendor/{LIBRARIES[client]}",
            ptag=f"/vendor/{PTAG}",
        )

    @app.get("/badge")
    @conditional(etag=lambda: 1, vary=VARY)
    def badge() -> str:
        return render_template_string(BADGE, client=client, count=1)

    @app.get("/vendor/<path:name>")
    def vendor(name: str) -> t.Any:
        if name not in (*LIBRARIES.values(), PTAG):
            abort(404)
        return send_from_directory(NODE_MODULES, name)

    @app.after_request
    def log(response: t.Any) -> t.Any:
        if request.endpoint == "badge":
            polls.append(response.status_code)
        return response

    return app


@pytest.mark.parametrize("client", CLIENTS)
def test_the_first_poll_is_unchanged(browser, client):
    missing = [
        p for p in (*LIBRARIES.values(), PTAG) if not (NODE_MODULES / p).is_file()
    ]
    if missing:
        unavailable("The npm packages", f"{missing} missing: run 'npm ci'")
    polls: list[int] = []
    server = make_server("127.0.0.1", 0, create_app(client, polls), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        context = browser.new_context(locale="de-DE")
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.port}/")
        deadline = time.monotonic() + 10
        while len(polls) < 2:
            assert time.monotonic() < deadline, f"only {polls} polls"
            time.sleep(0.05)
        context.close()
    finally:
        server.shutdown()
        thread.join()
    assert polls[:2] == [UNCHANGED[client]] * 2
