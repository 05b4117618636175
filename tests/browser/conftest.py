"""Headless Chromium (Debian's package) driving the example app on loopback."""

from __future__ import annotations

import shutil
import threading
import typing as t
from dataclasses import dataclass
from dataclasses import field

import pytest
from werkzeug.serving import make_server

from ..services import unavailable

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> t.Iterator[t.Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("Playwright", exc)
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
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


@pytest.fixture
def served(tmp_path) -> t.Iterator[Served]:
    from example_app import create_app
    from example_app.frontend import NODE_MODULES
    from example_app.frontend import VENDOR

    missing = [p for p in VENDOR.values() if not (NODE_MODULES / p).is_file()]
    if missing:
        unavailable("The npm packages", f"{missing} missing: run 'npm ci'")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/browser.db",
            "EXAMPLE_POLL_INTERVAL": 0.5,
        }
    )
    app.test_cli_runner().invoke(args=["seed"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    result = Served(app, f"http://127.0.0.1:{server.port}")

    @app.after_request
    def log_poll(response: t.Any) -> t.Any:
        from flask import request

        if request.endpoint == "monitor.status":
            with result.lock:
                result.polls.append((response.status_code, dict(request.headers)))
        return response

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield result
    server.shutdown()
    thread.join()
