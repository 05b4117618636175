"""The app under gunicorn, and each proxy setup started once, on first use."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from benchmarks.browser import launch
from benchmarks.browser import missing

from ..services import unavailable
from .backend import Backend
from .daemon import Daemon
from .servers import SETUPS
from .servers import start
from .stack import Stack


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Backend]:
    from example_app import create_app

    tmp = tmp_path_factory.mktemp("backend")
    database_url = f"sqlite:///{tmp}/example.db"
    seeding = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "CONDPOLL_STATS_URL": None}
    )
    seeding.test_cli_runner().invoke(args=["seed"])
    backend = Backend(tmp, database_url)
    backend.daemon.start()
    yield backend
    backend.daemon.stop()


class Stacks:
    """Each setup's proxy, started when a test first needs it."""

    def __init__(self, tmp: Path, backend: Backend) -> None:
        self.tmp = tmp
        self.backend = backend
        self.started: dict[str, tuple[Stack, Daemon]] = {}

    def __getitem__(self, name: str) -> Stack:
        if name not in self.started:
            setup = SETUPS[name]
            daemon = start(setup, self.tmp / name, self.backend.port)
            self.started[name] = Stack(setup, daemon.port, self.backend), daemon
        return self.started[name][0]

    def stop(self) -> None:
        for _, daemon in self.started.values():
            daemon.stop()


@pytest.fixture(scope="session")
def stacks(
    tmp_path_factory: pytest.TempPathFactory, backend: Backend
) -> t.Iterator[Stacks]:
    stacks = Stacks(tmp_path_factory.mktemp("proxies"), backend)
    yield stacks
    stacks.stop()


@pytest.fixture
def stack(request: pytest.FixtureRequest, stacks: Stacks) -> Stack:
    """Parametrize with setup names, ``indirect=True``."""
    return stacks[request.param]


@pytest.fixture(scope="module")
def chromium() -> t.Iterator[t.Any]:
    """Debian's Chromium, as in tests/browser (one Playwright at a time)."""
    gap = missing()
    if gap is not None:
        unavailable(*gap)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
