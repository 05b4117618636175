"""Headless Chromium (Debian's package) driving the example app on loopback."""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass
from dataclasses import field

import pytest

from benchmarks.browser import launch
from benchmarks.browser import missing
from benchmarks.browser import serving

from ..services import unavailable


@pytest.fixture(scope="module")
def browser() -> t.Iterator[t.Any]:
    gap = missing()
    if gap is not None:
        unavailable(*gap)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@dataclass
class Served:
    """The example app on a loopback port, with a log of its polls."""

    app: t.Any
    url: str
    polls: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def statuses(self) -> list[int]:
        with self.lock:
            return [status for status, _ in self.polls]


def serve(tmp_path: t.Any, **config: t.Any) -> t.Iterator[Served]:
    """The example app, seeded, on a loopback port, logging its status polls."""
    from example_app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/browser.db",
            "EXAMPLE_POLL_INTERVAL": 0.5,
            **config,
        }
    )
    app.test_cli_runner().invoke(args=["seed"])
    result = Served(app, "")

    @app.after_request
    def log_poll(response: t.Any) -> t.Any:
        from flask import request

        if request.endpoint == "monitor.status":
            with result.lock:
                result.polls.append((response.status_code, dict(request.headers)))
        return response

    with serving(app) as url:
        result.url = url
        yield result


@pytest.fixture
def served(tmp_path) -> t.Iterator[Served]:
    yield from serve(tmp_path)


@pytest.fixture
def served_with_stats(tmp_path) -> t.Iterator[Served]:
    """The same, collecting stats in a SQLite file."""
    yield from serve(tmp_path, CONDPOLL_STATS_URL=f"sqlite:///{tmp_path}/stats.db")
