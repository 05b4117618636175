"""Held polls in the browser, for all three clients: a change committed while
a poll is held reaches the page through that very poll; a held answer is
followed by the next poll at once; a server that does not hold gets plain
interval polling from the same markup."""

from __future__ import annotations

import contextlib
import itertools
import time
import typing as t

import pytest
from flask import request

from benchmarks.browser import serving
from benchmarks.waiting_app import create_app
from benchmarks.waiting_app import Held
from flask_condpoll.settings import CLIENTS


@pytest.fixture
def serve() -> t.Iterator[t.Callable[..., Held]]:
    with contextlib.ExitStack() as servers:

        def start(client: str, **options: t.Any) -> Held:
            held = create_app(client, **options)
            held.url = servers.enter_context(serving(held.app))
            return held

        yield start


def open_page(browser: t.Any, held: Held, query: str = "") -> t.Any:
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{held.url}/?{query}")
    page.wait_for_selector("#item")
    page.errors = errors
    return page


def until(condition: t.Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_change_reaches_the_page_through_the_held_poll(browser, serve, client):
    held = serve(client, interval=3, wait=20)
    page = open_page(browser, held)
    until(lambda: held.held_now == 1)  # the first poll is held: nothing changed
    committed = held.change()
    page.wait_for_selector("#item .v:text('version 1')", timeout=5000)
    with held.lock:
        answered = [p for p in held.polls if p[1] >= committed]
    arrived, _, status, was_held = answered[0]
    assert (status, was_held) == (200, True)
    assert arrived < committed  # the poll that brought it was waiting already
    until(lambda: held.held_now == 1)  # and the next one waits again
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_after_a_held_answer_the_next_poll_starts_at_once(browser, serve, client):
    held = serve(client, interval=30, wait=1)
    page = open_page(browser, held)
    until(lambda: len(held.polls) >= 3)  # held 1 s, answered, again: no 30 s wait
    with held.lock:
        polls = sorted(held.polls)
    first, second = polls[0], polls[1]
    assert first[3] and second[3]  # both held
    assert second[0] - first[1] < 0.5  # asked again right after the answer
    assert page.locator("#item .v").inner_text() == "version 0"
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_a_change_between_two_holds_does_not_wait_for_the_interval(
    browser, serve, client
):
    held = serve(client, interval=30, wait=20)

    @held.app.after_request
    def change_again(response: t.Any) -> t.Any:
        if request.endpoint == "waiting" and held.version == 1:
            held.change()  # lands before the client asks to be held again
        return response

    page = open_page(browser, held)
    until(lambda: held.held_now == 1)
    held.change()
    page.wait_for_selector("#item .v:text('version 2')", timeout=5000)
    until(lambda: held.held_now == 1, timeout=5)  # held again, not in 30 s
    held.change()
    page.wait_for_selector("#item .v:text('version 3')", timeout=5000)
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_a_server_that_does_not_hold_gets_interval_polling(browser, serve, client):
    held = serve(client, interval=0.5)
    page = open_page(browser, held, "endpoint=plain&ask=5")
    until(lambda: len(held.polls) >= 3)
    with held.lock:
        polls = sorted(held.polls)
    assert not any(was_held for *_, was_held in polls)
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(polls)]
    assert min(gaps) > 0.3  # the interval, not at once
    held.change()
    page.wait_for_selector("#item .v:text('version 1')", timeout=5000)
    assert page.errors == []
