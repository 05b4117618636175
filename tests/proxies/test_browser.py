"""Chromium polling the example page through each proxy, with each client:
unchanged polls keep the DOM, a change shows up."""

from __future__ import annotations

import itertools
import time
import typing as t

import pytest

from flask_condpoll.settings import CLIENTS

from .backend import REQUEST_ID
from .demo import change_state
from .demo import UNCHANGED
from .wsgi import POLL_INTERVAL

READING = ["nginx", "nginx-cache", "apache", "varnish", "varnish-builtin"]
PANELS = ("status", "badge", "notifications", "dashboard", "stats")
MARK = "document.querySelector('#status ul').dataset.marker = '{}'"
MARKER = "document.querySelector('#status ul')?.dataset.marker ?? null"
_ids = itertools.count(1)


class Polls:
    """The status panel's polls of one page, as the app and the page saw them."""

    def __init__(self, stack: t.Any, page: t.Any, request_id: str) -> None:
        self.stack = stack
        self.request_id = request_id
        self.received: list[int] = []  # statuses the page received
        self.failed: list[str] = []  # any 5xx, of any request
        page.on("response", self.record)

    def record(self, response: t.Any) -> None:
        if response.url.endswith("/status"):
            self.received.append(response.status)
        if response.status >= 500:
            self.failed.append(f"{response.status} {response.url}")

    def answered(self) -> list[int]:
        """Statuses the app answered, in order."""
        seen = self.stack.backend.answers(self.request_id)
        return [s.status for s in seen if s.path == "/status"]

    def wait(self, count: int, timeout: float = 10) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(answered := self.answered()) < count:
            assert time.monotonic() < deadline, f"only {answered} polls"
            time.sleep(0.05)
        return answered


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("stack", READING, indirect=True)
def test_polling_through_the_proxy(chromium, stack, client):
    url = f"http://127.0.0.1:{stack.port}"
    request_id = f"browser{next(_ids)}"
    context = chromium.new_context(extra_http_headers={REQUEST_ID: request_id})
    context.add_cookies([{"name": "client", "value": client, "url": url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    polls = Polls(stack, page, request_id)
    try:
        page.goto(url)
        page.wait_for_selector("#status li")
        page.evaluate(MARK.format("original"))
        unchanged = UNCHANGED[client]
        assert set(polls.wait(3)) == {unchanged}
        assert page.evaluate(MARKER) == "original"  # not re-rendered
        assert page.locator("#status li").count() == 6  # not wiped
        for panel in PANELS:
            assert page.locator(f"#{panel}").count() == 1

        seen = len(polls.answered())
        state = change_state(stack)
        page.wait_for_selector(
            f"#status li[data-service=api].state-{state}",
            timeout=4 * POLL_INTERVAL * 1000,
        )
        assert 200 in polls.answered()[seen:]
        assert 200 in polls.received

        page.evaluate(MARK.format("second"))
        after = len(polls.answered())
        assert set(polls.wait(after + 3)[after + 1 :]) == {unchanged}
        assert page.evaluate(MARKER) == "second"
        assert set(polls.received) == {200, unchanged}
        assert polls.failed == []
        assert errors == []
    finally:
        context.close()
