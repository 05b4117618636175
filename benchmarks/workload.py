"""One instruction-count run: a scenario's WSGI app called in-process.

    python -m benchmarks.workload SCENARIO REQUESTS [--warmup 50]

Builds the scenario's app on the database in ``$BENCH_DATABASE`` (instance
folder ``$BENCH_INSTANCE``), takes the request headers it needs from one
GET, checks the status once, then sends the warm-up requests and REQUESTS
more, with no server in between. :mod:`benchmarks.instructions` runs it
under callgrind. Each builder imports only what its app needs, so that a
process carries no other framework.
"""

from __future__ import annotations

import argparse
import os
import typing as t
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.test import EnvironBuilder

from benchmarks import USER

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment
    from flask import Flask

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    app: str  # a key of BUILDERS
    path: str
    tag: str | None = None  # If-None-Match: "current", "stale" or none
    status: int = 304


RENDER, AGGREGATE, REGISTRY = f"/a/{USER}", f"/e/{USER}", f"/f/{USER}"
FLOOR_WITH_HEADERS = f"/h/{USER}"
SCENARIOS = (
    Scenario("D", "Flask bare 304: no extension, no SECRET_KEY", "bare", "/d"),
    Scenario("Dk", "bare 304, app with CondPoll and SECRET_KEY", "flask", "/d"),
    Scenario("H", "bare 304, R's headers and route shape", "flask", FLOOR_WITH_HEADERS),
    Scenario("R", "condpoll in-process registry 304", "flask", REGISTRY, "current"),
    Scenario("P", "condpoll aggregate 304", "flask", AGGREGATE, "current"),
    Scenario("S", "condpoll aggregate 304, stats on", "stats", AGGREGATE, "current"),
    Scenario("A", "Flask full render, no validators", "flask", RENDER, None, 200),
    Scenario("M", "condpoll aggregate 200 (miss)", "flask", AGGREGATE, "stale", 200),
    Scenario("J304", "Django @condition aggregate 304", "django", AGGREGATE, "current"),
    Scenario("JA", "Django full render, no validators", "django", RENDER, None, 200),
    Scenario("JD", "Django bare 304 (HttpResponseNotModified)", "django", "/d"),
)  # fmt: skip
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def bare_app(database: str) -> Flask:
    """A Flask app with no extension and no secret key: the floor."""
    from flask import Flask

    app = Flask(__name__)

    @app.get("/d")
    def floor() -> tuple[str, int]:
        return "", 304

    return app


def flask_app(database: str) -> Flask:
    """The benchmark app of the wall-clock mode, stats off."""
    from benchmarks.app import make_app

    return make_app(database)


def stats_app(database: str) -> Flask:
    """The benchmark app with stats in SQLite, flushed only at exit.

    No flush count or interval is reached and one time bucket spans the run,
    so both runs of a scenario flush one row, once, at the same point.
    """
    from benchmarks.app import make_app

    return make_app(
        database,
        CONDPOLL_STATS_URL="sqlite:///bench-stats.db",
        CONDPOLL_STATS_FLUSH_COUNT=10**9,
        CONDPOLL_STATS_FLUSH_INTERVAL=86400.0,
        CONDPOLL_STATS_BUCKET=86400,
    )


def django_app(database: str) -> WSGIApplication:
    from benchmarks.django_app import create_app

    return t.cast("WSGIApplication", create_app(database))


BUILDERS: dict[str, Callable[[str], WSGIApplication]] = {
    "bare": bare_app,
    "flask": flask_app,
    "stats": stats_app,
    "django": django_app,
}


def _discard(data: bytes) -> None:
    """The ``write`` callable: bodies are dropped."""


def call(app: WSGIApplication, environ: WSGIEnvironment) -> tuple[int, Headers]:
    """Send one request; return its status and headers, reading the body."""
    started: list[tuple[str, Headers]] = []

    def start_response(
        status: str, headers: Headers, exc_info: object = None
    ) -> Callable[[bytes], None]:
        started.append((status, headers))
        return _discard

    body: Iterable[bytes] = app(dict(environ), start_response)
    try:
        for _ in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    status, headers = started[-1]
    return int(status[:3]), headers


def stale(tag: str) -> str:
    """A tag of the same form and length as ``tag`` that does not match it."""
    return tag[:-2] + ("1" if tag[-2] == "0" else "0") + tag[-1]


def prepare(app: WSGIApplication, scenario: Scenario) -> WSGIEnvironment:
    """The scenario's request, checked once to give the expected status."""
    headers: Headers = []
    if scenario.tag is not None:
        _, sent = call(app, EnvironBuilder(scenario.path).get_environ())
        tag = dict(sent)["ETag"]
        current = scenario.tag == "current"
        headers.append(("If-None-Match", tag if current else stale(tag)))
    environ = EnvironBuilder(scenario.path, headers=headers).get_environ()
    status, _ = call(app, environ)
    if status != scenario.status:
        raise SystemExit(
            f"{scenario.name}: {scenario.path} gave {status}, not {scenario.status}"
        )
    return environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=BY_NAME)
    parser.add_argument("requests", type=int)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    scenario = BY_NAME[args.scenario]
    app = BUILDERS[scenario.app](os.environ["BENCH_DATABASE"])
    environ = prepare(app, scenario)
    for _ in range(args.warmup + args.requests):
        call(app, environ)


if __name__ == "__main__":
    main()
