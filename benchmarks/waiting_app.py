"""A page whose poller asks to be held, for the browser tests and the latency
benchmark: one element per client, its data in a partitioned registry table."""

from __future__ import annotations

import threading
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field

import sqlalchemy as sa
from flask import abort
from flask import Flask
from flask import g
from flask import render_template
from flask import request
from flask import send_from_directory
from jinja2 import DictLoader

from benchmarks.browser import LIBRARIES
from benchmarks.browser import NODE_MODULES
from benchmarks.browser import PTAG
from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import Poll
from flask_condpoll.frontend import prepare_poll
from flask_condpoll.sqlalchemy import table_version

ITEMS = sa.Table(
    "items", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("part", sa.Integer),
)  # fmt: skip

ITEM = """{% import "condpoll/macros.html" as condpoll -%}
{% call condpoll.poll(endpoint, "item", client=client, view_args={"part": 1},
                      wait=ask) -%}
<span class="v">version {{ version }}</span>
{%- endcall %}"""

PAGE = """{% import "condpoll/macros.html" as condpoll -%}
<!doctype html>
<html><head><meta charset="utf-8"><title>held</title>
{{ condpoll.scripts(client, library_url=library, extension_url=ptag) }}
</head><body>{% include "item.html" %}</body></html>"""


@dataclass
class Held:
    """What the test changes, and when each poll arrived and was answered."""

    app: Flask
    url: str = ""
    version: int = 0
    #: ``(arrived, answered, status, held)`` per poll, ``time.monotonic()``.
    polls: list[tuple[float, float, int, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self) -> float:
        """Commit a change (and bump its partition); return when."""
        with self.lock:
            self.version += 1
        with self.app.app_context():
            self.app.extensions["condpoll"].registry.bump(["items", "items|part=1"])
        return time.monotonic()

    @property
    def held_now(self) -> int:
        return int(self.app.extensions["condpoll"].waiters.held)


def create_app(client: str, *, interval: float = 2.0, wait: float = 5.0) -> Held:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="held",
        CONDPOLL_CLIENT=client,
        CONDPOLL_STATS_URL=None,
        CONDPOLL_POLL_JITTER=0.0,
        CONDPOLL_WAIT_JITTER=0.0,
    )
    app.jinja_loader = DictLoader({"item.html": ITEM, "page.html": PAGE})
    CondPoll(app)
    held = Held(app)
    version = table_version(ITEMS, by=ITEMS.c.part, key=lambda part: part)

    def render(endpoint: str) -> str:
        return render_template(
            "item.html",
            endpoint=endpoint,
            client=client,
            version=held.version,
            ask=request.args.get("ask", type=float),
        )

    @app.get("/")
    def page() -> str:
        endpoint = request.args.get("endpoint", "waiting")
        prepare_poll(endpoint, "item", client=client, view_args={"part": 1})
        return render_template(
            "page.html",
            endpoint=endpoint,
            client=client,
            version=held.version,
            ask=request.args.get("ask", type=float),
            library=f"/vendor/{LIBRARIES[client]}",
            ptag=f"/vendor/{PTAG}",
        )

    @app.get("/vendor/<path:name>")
    def vendor(name: str) -> t.Any:
        if name not in (*LIBRARIES.values(), PTAG):
            abort(404)
        return send_from_directory(NODE_MODULES, name)

    @app.get("/waiting/<int:part>")
    @conditional(etag=version, poll=Poll(interval), wait=wait)
    def waiting(part: int) -> str:
        return render("waiting")

    @app.get("/plain/<int:part>")
    @conditional(etag=version, poll=Poll(interval))
    def plain(part: int) -> str:
        return render("plain")

    @app.before_request
    def arrived() -> None:
        g.arrived = time.monotonic()

    @app.after_request
    def log(response: t.Any) -> t.Any:
        if request.endpoint in ("waiting", "plain"):
            with held.lock:
                held.polls.append(
                    (
                        g.arrived,
                        time.monotonic(),
                        response.status_code,
                        "Preference-Applied" in response.headers,
                    )
                )
        return response

    return held
