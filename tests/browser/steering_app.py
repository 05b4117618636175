"""A small app whose pollers the browser tests steer: forced errors,
Retry-After, slow answers, stops, and a log of every poll."""

from __future__ import annotations

import threading
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field

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
from flask_condpoll import stop_polling
from flask_condpoll.frontend import prepare_poll

ITEM = """{% import "condpoll/macros.html" as condpoll -%}
{% call condpoll.poll("item", "p" ~ n, client=client, view_args={"n": n},
                      jitter=jitter, timeout=timeout) -%}
<span class="v">version {{ version }}</span>
{%- endcall %}"""

PAGE = """{% import "condpoll/macros.html" as condpoll -%}
<!doctype html>
<html><head><meta charset="utf-8"><title>pollers</title>
{{ condpoll.scripts(client, library_url=library, extension_url=ptag) }}
</head><body>
{% for n in range(count) %}{% include "item.html" %}
{% endfor %}
</body></html>"""


@dataclass
class Steered:
    """What the test controls, and what the server saw."""

    app: Flask
    url: str = ""
    versions: dict[int, int] = field(default_factory=dict)
    #: Per poller, answers to give before the view runs (popped in order):
    #: a status, ``(status, retry_after)``, or ``"slow"``.
    forced: dict[int, list[t.Any]] = field(default_factory=dict)
    #: Pollers whose next change ends polling: ``"content"`` or ``"empty"``.
    stops: dict[int, str] = field(default_factory=dict)
    #: ``(arrival, poller, status, Poll-Interval)`` of every poll, logged
    #: when answered (arrival is ``time.monotonic()``).
    polls: list[tuple[float, int, int, str | None]] = field(default_factory=list)
    pages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def times(self, n: int, since: float = 0.0) -> list[float]:
        """When poller ``n``'s polls arrived, in order."""
        return [when for when, _, _ in self._of(n, since)]

    def answers(self, n: int, since: float = 0.0) -> list[tuple[int, str | None]]:
        """Status and ``Poll-Interval`` of poller ``n``'s polls, in order."""
        return [(status, header) for _, status, header in self._of(n, since)]

    def _of(self, n: int, since: float) -> list[tuple[float, int, str | None]]:
        with self.lock:
            polls = sorted(self.polls)
        return [(when, s, h) for when, m, s, h in polls if m == n and when >= since]

    def change(self, n: int) -> None:
        with self.lock:
            self.versions[n] = self.versions.get(n, 0) + 1

    def steer(self, *args: str) -> str:
        """Run ``flask condpoll polling ARGS``, as an operator would."""
        result = self.app.test_cli_runner().invoke(args=["condpoll", "polling", *args])
        assert result.exit_code == 0, result.output
        return result.output


def create_app(client: str, instance_path: str, **config: t.Any) -> Steered:
    app = Flask(__name__, instance_path=instance_path)
    app.config.update(
        SECRET_KEY="browser",
        CONDPOLL_CLIENT=client,
        CONDPOLL_STATS_URL=None,
        CONDPOLL_POLL_JITTER=0.0,
        CONDPOLL_POLL_RESUME_CHECK=1,
        **config,
    )
    app.jinja_loader = DictLoader({"item.html": ITEM, "page.html": PAGE})
    CondPoll(app)
    steered = Steered(app)
    interval = app.config.get("TEST_INTERVAL", 0.2)

    def options() -> dict[str, t.Any]:
        return {
            "client": client,
            "jitter": request.args.get("jitter", type=float),
            "timeout": request.args.get("timeout", type=float),
        }

    @app.get("/")
    def page() -> str:
        steered.pages += 1
        for n in range(request.args.get("count", 1, type=int)):
            prepare_poll("item", f"p{n}", client=client, view_args={"n": n})
        return render_template(
            "page.html",
            count=request.args.get("count", 1, type=int),
            library=f"/vendor/{LIBRARIES[client]}",
            ptag=f"/vendor/{PTAG}",
            versions=steered.versions,
            version=0,
            **options(),
        )

    @app.get("/vendor/<path:name>")
    def vendor(name: str) -> t.Any:
        if name not in (*LIBRARIES.values(), PTAG):
            abort(404)
        return send_from_directory(NODE_MODULES, name)

    @app.before_request
    def forced() -> t.Any:
        if request.endpoint != "item":
            return None
        g.arrived = time.monotonic()
        with steered.lock:
            queue = steered.forced.get(t.cast(dict[str, int], request.view_args)["n"])
            answer = queue.pop(0) if queue else None
        if answer == "slow":
            time.sleep(1.0)
            return "late", 200
        if isinstance(answer, tuple):
            return "busy", answer[0], {"Retry-After": str(answer[1])}
        if answer is not None:
            return "failed", answer
        return None

    @app.get("/item/<int:n>")
    @conditional(etag=lambda n: steered.versions.get(n, 0), poll=Poll(interval))
    def item(n: int) -> t.Any:
        stop = steered.stops.get(n)
        if stop == "content":
            return stop_polling(f'<div id="p{n}"><span class="v">final</span></div>')
        if stop == "empty":
            return stop_polling()
        return render_template(
            "item.html", n=n, version=steered.versions.get(n, 0), **options()
        )

    @app.after_request
    def log(response: t.Any) -> t.Any:
        if request.endpoint == "item":
            with steered.lock:
                steered.polls.append(
                    (
                        g.arrived,
                        t.cast(dict[str, int], request.view_args)["n"],
                        response.status_code,
                        response.headers.get("Poll-Interval"),
                    )
                )
        return response

    return steered
