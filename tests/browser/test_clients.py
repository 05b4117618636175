"""End to end, one test per client: 304s keep the DOM, changes show, pauses work."""

from __future__ import annotations

import time
import typing as t

import pytest

from flask_condpoll.settings import CLIENTS

INTERVAL = 0.5  # the served app's poll interval, in seconds

#: How each client's unchanged poll is answered: htmx 4 sends only HX-PTag,
#: which gets 204 (a 304 would confuse caches that saw no conditional request).
UNCHANGED = {"htmx2": 304, "htmx4": 204, "unpoly": 304}


def open_page(browser: t.Any, served: t.Any, client: str) -> t.Any:
    context = browser.new_context()
    context.add_cookies([{"name": "client", "value": client, "url": served.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served.url)
    page.wait_for_selector("#status li")
    page.evaluate("document.querySelector('#status ul').dataset.marker = 'original'")
    page.errors = errors
    return page


def wait_for_polls(served: t.Any, count: int, timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(served.statuses()) < count:
        assert time.monotonic() < deadline, f"only {served.statuses()} polls"
        time.sleep(0.05)
    return served.statuses()


def change_state(served: t.Any, service: str, state: str) -> None:
    from example_app.models import db
    from example_app.models import Service

    with served.app.app_context():
        row = db.session.scalars(db.select(Service).filter_by(name=service)).one()
        row.state = state
        db.session.commit()


SET_HIDDEN = """hidden => {
    const state = hidden ? "hidden" : "visible";
    const define = (name, value) =>
        Object.defineProperty(document, name, {configurable: true, get: () => value});
    define("hidden", hidden);
    define("visibilityState", state);
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def set_hidden(page: t.Any, hidden: bool) -> None:
    """Make the page report itself hidden or visible, as a background tab would."""
    page.evaluate(SET_HIDDEN, hidden)


def marker(page: t.Any) -> str | None:
    return t.cast(
        str | None,
        page.evaluate("document.querySelector('#status ul')?.dataset.marker ?? null"),
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_polling_end_to_end(browser, served, client):
    page = open_page(browser, served, client)
    unchanged = UNCHANGED[client]
    statuses = wait_for_polls(served, 4)
    assert statuses[0] == unchanged, "the first poll after page load is not a 304"
    assert set(statuses) == {unchanged}, statuses
    assert marker(page) == "original"  # no re-render
    assert page.locator("#status li").count() == 6  # not wiped

    seen = len(served.statuses())
    change_state(served, "api", "down")
    changed_at = time.monotonic()
    page.wait_for_selector(
        "#status li[data-service=api].state-down", timeout=2 * INTERVAL * 1000
    )
    assert time.monotonic() - changed_at <= 2 * INTERVAL + 0.1
    assert 200 in served.statuses()[seen:]
    assert marker(page) is None  # re-rendered once, for the change

    page.evaluate("document.querySelector('#status ul').dataset.marker = 'second'")
    after = len(served.statuses())
    wait_for_polls(served, after + 3)
    assert set(served.statuses()[after + 1 :]) == {unchanged}
    assert marker(page) == "second"
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_polling_pauses_while_hidden(browser, served, client):
    page = open_page(browser, served, client)
    wait_for_polls(served, 2)
    set_hidden(page, True)
    time.sleep(INTERVAL)  # a poll already in flight may land
    hidden = len(served.statuses())
    time.sleep(4 * INTERVAL)
    assert len(served.statuses()) == hidden, "polled while the page was hidden"
    set_hidden(page, False)
    wait_for_polls(served, hidden + 2, timeout=4 * INTERVAL + 2)
    assert page.errors == []
