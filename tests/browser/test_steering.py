"""The server steers the pollers of all three clients: interval, factor, stop
and resume, jitter, back-off on errors, Retry-After, hidden tabs, and
stopping one poller for good. Gaps are measured between poll arrivals."""

from __future__ import annotations

import contextlib
import itertools
import statistics
import time
import typing as t

import pytest

from benchmarks.browser import serving
from flask_condpoll.settings import CLIENTS

from .steering_app import create_app
from .steering_app import Steered
from .test_clients import set_hidden

#: How each client's unchanged poll is answered (htmx 4 sends HX-PTag).
UNCHANGED = {"htmx2": 304, "htmx4": 204, "unpoly": 304}


@pytest.fixture
def serve(tmp_path) -> t.Iterator[t.Callable[..., Steered]]:
    with contextlib.ExitStack() as servers:

        def start(client: str, **config: t.Any) -> Steered:
            steered = create_app(client, str(tmp_path / "instance"), **config)
            steered.url = servers.enter_context(serving(steered.app))
            return steered

        yield start


#: Records when each poller starts its first poll (the schedule fires
#: ``condpoll:poll`` on the element, in all three clients).
STARTS = """window.firstPolls = {};
document.addEventListener("condpoll:poll", event => {
    window.firstPolls[event.target.id] ??= performance.now();
}, true);"""


def open_page(
    browser: t.Any, steered: Steered, query: str = "", script: str | None = None
) -> t.Any:
    page = browser.new_context().new_page()
    if script is not None:
        page.add_init_script(script)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{steered.url}/?{query}")
    page.wait_for_selector("#p0")
    page.errors = errors
    return page


def wait_polls(steered: Steered, n: int, count: int, since: float = 0.0) -> list[float]:
    deadline = time.monotonic() + 10
    while len(times := steered.times(n, since)) < count:
        assert time.monotonic() < deadline, f"only {len(times)} polls of p{n}"
        time.sleep(0.02)
    return times


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in itertools.pairwise(times)]


def text(page: t.Any, n: int) -> str:
    return t.cast(str, page.inner_text(f"#p{n}"))


@pytest.mark.parametrize("client", CLIENTS)
def test_the_gap_follows_the_servers_interval_and_factor(browser, serve, client):
    steered = serve(client)
    page = open_page(browser, steered)
    page.evaluate("document.querySelector('#p0 .v').dataset.marker = 'kept'")
    before = gaps(wait_polls(steered, 0, 5))
    assert 0.17 <= statistics.median(before) <= 0.3, before
    assert steered.answers(0)[1:] == [(UNCHANGED[client], "200")] * 4

    steered.steer("--factor", "3")  # every process re-reads it within a second
    changed = time.monotonic()
    later = gaps(wait_polls(steered, 0, 4, since=changed + 1.8))
    assert all(0.55 <= gap <= 0.75 for gap in later), later
    assert steered.answers(0, changed + 1.8)[-1] == (UNCHANGED[client], "600")

    # A 304 that carries Poll-Interval keeps the DOM; the page never reloads.
    assert page.evaluate("document.querySelector('#p0 .v').dataset.marker") == "kept"
    assert steered.pages == 1
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_stop_and_resume_everything_without_a_reload(browser, serve, client):
    steered = serve(client)
    page = open_page(browser, steered)
    wait_polls(steered, 0, 2)
    assert "stopped" in steered.steer("--stop")
    stopped = time.monotonic()
    # Stopped pollers only ask again after Retry-After (1 s here).
    quiet = gaps(wait_polls(steered, 0, 3, since=stopped + 1.3))
    assert all(gap >= 0.95 for gap in quiet), quiet
    assert steered.answers(0, stopped + 1.3)[-1][1] == "-1"
    assert "Polling runs" in steered.steer("--resume")
    resumed = time.monotonic()
    again = gaps(wait_polls(steered, 0, 4, since=resumed + 2.2))
    assert all(gap <= 0.35 for gap in again), again
    assert steered.pages == 1
    assert text(page, 0) == "version 0"
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_jitter_spreads_fifty_pollers(browser, serve, client):
    steered = serve(client, TEST_INTERVAL=0.4)

    def first_polls(jitter: float) -> tuple[list[float], list[float]]:
        """When each poller started its first poll (in the page, before any
        connection limit queues it), and when the server got it."""
        start = time.monotonic()
        page = open_page(browser, steered, f"count=50&jitter={jitter}", STARTS)
        arrived = [wait_polls(steered, n, 1, since=start)[0] for n in range(50)]
        started = page.evaluate("Object.values(window.firstPolls)")
        page.context.close()
        time.sleep(0.5)
        return [s / 1000 for s in started], arrived

    lockstep, _ = first_polls(0)
    spread, arrived = first_polls(0.5)
    assert len(spread) == len(lockstep) == 50
    width, lockstep_width = max(spread) - min(spread), max(lockstep) - min(lockstep)
    # +-50 % of 0.4 s: first polls from 0.2 to 0.6 s after the page.
    assert width >= 0.25 and statistics.pstdev(spread) >= 0.07, spread
    # Without jitter only the library's set-up of 50 elements spreads them.
    assert width >= lockstep_width + 0.15, (width, lockstep_width)
    assert max(arrived) - min(arrived) >= 0.2  # the server sees them spread


@pytest.mark.parametrize("client", CLIENTS)
def test_errors_back_off_and_the_first_success_resets(browser, serve, client):
    steered = serve(client, TEST_INTERVAL=0.1, CONDPOLL_POLL_BACKOFF_CAP=1.2)
    page = open_page(browser, steered, "timeout=0.3")
    wait_polls(steered, 0, 2)
    with steered.lock:
        steered.forced[0] = [500, 502, "slow", 500, 500]
    start = time.monotonic()
    times = wait_polls(steered, 0, 8, since=start)
    statuses = [status for status, _ in steered.answers(0, start)]
    assert statuses[:6] == [500, 502, 200, 500, 500, UNCHANGED[client]], statuses
    errors = gaps(times[:6])
    # 0.2, 0.4, then the slow one times out: 0.3 + 0.8, then 1.2 (the cap), 1.2
    assert errors[0] >= 0.17 and errors[1] >= 1.6 * errors[0], errors
    assert errors[2] >= 1.6 * errors[1] and errors[3] >= 1.15, errors
    assert gaps(times[5:8])[-1] <= 0.2, gaps(times)
    assert text(page, 0) == "version 0"
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_retry_after_is_obeyed(browser, serve, client):
    steered = serve(client)
    page = open_page(browser, steered)
    wait_polls(steered, 0, 2)
    with steered.lock:
        steered.forced[0] = [(429, 1), None, (503, 1)]
        steered.forced[0].remove(None)
    start = time.monotonic()
    times = wait_polls(steered, 0, 5, since=start)
    statuses = [status for status, _ in steered.answers(0, start)]
    assert statuses[:2] == [429, 503], statuses
    waits = gaps(times)
    assert 1.0 <= waits[0] <= 1.3 and 1.0 <= waits[1] <= 1.3, waits
    assert waits[2] <= 0.35, waits
    assert text(page, 0) == "version 0"
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_no_polls_while_hidden_and_one_on_return(browser, serve, client):
    steered = serve(client, TEST_INTERVAL=0.3)
    page = open_page(browser, steered, "count=2")
    wait_polls(steered, 1, 2)
    set_hidden(page, True)
    time.sleep(0.4)  # a poll in flight may land
    hidden = time.monotonic()
    time.sleep(1.2)
    assert steered.times(0, hidden) == steered.times(1, hidden) == []
    back = time.monotonic()
    set_hidden(page, False)  # the catch-up poll may arrive before this returns
    time.sleep(0.25)  # less than an interval: only the catch-up poll
    assert len(steered.times(0, back)) == len(steered.times(1, back)) == 1
    assert steered.times(0, back)[0] - back <= 0.15
    wait_polls(steered, 0, 3, since=back)
    assert page.errors == []


@pytest.mark.parametrize("client", CLIENTS)
def test_stop_polling_ends_one_poller_and_keeps_the_dom(browser, serve, client):
    steered = serve(client)
    page = open_page(browser, steered, "count=3")
    wait_polls(steered, 1, 2)
    with steered.lock:
        steered.stops.update({0: "content", 1: "empty"})
    steered.change(0)
    steered.change(1)
    page.wait_for_function("document.querySelector('#p0').innerText === 'final'")
    time.sleep(0.3)
    stopped = time.monotonic()
    time.sleep(1.0)
    assert steered.times(0, stopped) == steered.times(1, stopped) == []
    assert len(steered.times(2, stopped)) >= 3  # the others go on
    assert [s for s, _ in steered.answers(0)][-1] == (286 if client == "htmx2" else 200)
    assert [s for s, _ in steered.answers(1)][-1] == (286 if client == "htmx2" else 204)
    assert text(page, 0) == "final"
    assert text(page, 1) == "version 0"  # an empty stop keeps what was there
    assert page.locator("[data-condpoll-interval]").count() == 1
    assert page.errors == []
