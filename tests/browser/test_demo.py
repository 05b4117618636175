"""The demo as a visitor sees it, in headless Chromium: each panel's poll
indicator, the dashboard inside its panel, the stats page's plots. Takes the
screenshots shown in the README and the docs: into docs/_static/demo-*.png
with ``make screenshots`` (CONDPOLL_SCREENSHOTS=1), else into a temporary
folder, so that a test run leaves the tree as it found it."""

from __future__ import annotations

import os
import random
import time
import typing as t
from pathlib import Path

import pytest

from flask_condpoll.settings import CLIENTS
from flask_condpoll.stats import COUNTERS
from flask_condpoll.stats import settled_until

STATIC = Path(__file__).resolve().parents[2] / "docs" / "_static"
UNCHANGED = {"htmx2": "304", "htmx4": "204", "unpoly": "304"}

#: Records every status the status panel's indicator shows, in order.
WATCH = """() => {
    window.shown = [];
    const indicator = document.querySelector('.indicator[data-for="status"]');
    new MutationObserver(() => window.shown.push(indicator.dataset.status))
        .observe(indicator, {attributes: true, attributeFilter: ["data-status"]});
}"""


def open_demo(
    browser: t.Any, url: str, client: str, width: int = 1280, ready: str = "#status li"
) -> t.Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "client", "value": client, "url": url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector(ready)
    return page


def shown(page: t.Any, count: int, timeout: float = 10) -> list[str]:
    """Wait until the status indicator showed ``count`` answers."""
    page.wait_for_function(f"window.shown.length >= {count}", timeout=timeout * 1000)
    return t.cast(list[str], page.evaluate("window.shown"))


def change_state(app: t.Any, service: str, state: str) -> None:
    from example_app.models import db
    from example_app.models import Service

    with app.app_context():
        row = db.session.scalars(db.select(Service).filter_by(name=service)).one()
        row.state = state
        db.session.commit()


def indicator(page: t.Any, panel: str) -> dict[str, str]:
    return t.cast(
        dict[str, str],
        page.evaluate(
            """panel => {
                const shown = document.querySelector(`.indicator[data-for="${panel}"]`);
                return {...shown.dataset, text: shown.textContent};
            }""",
            panel,
        ),
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_the_indicator_shows_unchanged_then_changed(browser, served, client):
    page = open_demo(browser, served.url, client)
    page.evaluate(WATCH)
    unchanged = UNCHANGED[client]
    assert set(shown(page, 3)) == {unchanged}
    status = indicator(page, "status")
    assert status["text"].startswith(f"{unchanged} unchanged · 0 B · ")
    assert " ms on the server · " in status["text"]  # read from Server-Timing
    assert status["changed"] == "0"

    before = len(page.evaluate("window.shown"))
    change_state(served.app, "api", "down")
    page.wait_for_function("window.shown.includes('200')", timeout=5000)
    after = page.evaluate("window.shown")[before:]
    changed = before + after.index("200")
    assert set(after[: after.index("200")]) <= {unchanged}  # polls before it landed
    seen = shown(page, changed + 2)  # and the next poll is unchanged again
    assert seen[changed + 1] == unchanged
    status = indicator(page, "status")
    assert status["changed"] == "1"
    assert ", 1 changed" in status["text"]
    assert page.errors == []


def test_the_dashboard_stays_inside_its_panel(browser, served):
    page = open_demo(browser, served.url, "htmx2", width=480)
    overflow = page.evaluate(
        """() => [...document.querySelectorAll("#dashboard svg")].filter(svg => {
            const panel = svg.closest("section").getBoundingClientRect();
            return svg.getBoundingClientRect().right > panel.right;
        }).length"""
    )
    assert overflow == 0


def seed_history(app: t.Any) -> int:
    """An hour-like history in the demo's 10-second steps: quiet first, then
    the activity command running. Returns the newest complete step."""
    store = app.extensions["condpoll"].stats_store
    size = app.config["CONDPOLL_STATS_BUCKET"]
    last = settled_until(size, 1.0, time.time()) - size
    rng = random.Random(7)

    def polls(reads, not_modified, size_bytes, full_us):
        full = reads - not_modified
        counts = dict.fromkeys(COUNTERS, 0)
        counts.update(
            requests=reads, reads=reads, not_modified=not_modified, full=full,
            validated=full, full_bytes=full * size_bytes, full_sized=full,
            bytes_sent=full * size_bytes, time_304_us=450 * not_modified,
            t304_2=not_modified, time_full_us=full * full_us, tfull_6=full,
        )  # fmt: skip
        return [counts[name] for name in COUNTERS]

    batch = {}
    for step in range(60):
        start = last - (59 - step) * size
        busy = step >= 30  # the activity command starts half way
        batch[("monitor.status", start)] = polls(
            20, 20 - (rng.randint(2, 6) if busy else 0), 900, 3500
        )
        batch[("monitor.dashboard", start)] = polls(
            7, 7 - (rng.randint(2, 4) if busy else 0), 3700, 9000
        )
        batch[("monitor.notifications", start)] = polls(2, 2, 2400, 4000)
        batch[("monitor.badge", start)] = polls(
            4, 4 - (busy and step % 4 == 0), 120, 2500
        )
    store.add("history", batch)
    return last


def test_the_stats_page_and_the_screenshots(browser, served_with_stats, tmp_path):
    folder = STATIC if os.environ.get("CONDPOLL_SCREENSHOTS") else tmp_path
    app = served_with_stats.app
    last = seed_history(app)
    page = open_demo(browser, served_with_stats.url, "htmx2")
    page.select_option("header select[name=user_id]", label="alice")
    page.click("header button:text('switch')")
    page.wait_for_selector("#notifications li.unread")
    page.evaluate(WATCH)
    shown(page, 4)
    change_state(app, "api", "degraded")
    page.wait_for_function("window.shown.includes('200')", timeout=5000)
    for panel in ("dashboard", "badge", "notifications"):  # every panel polled
        page.wait_for_function(
            f"document.querySelector('.indicator[data-for={panel}]').dataset.status",
            timeout=12000,
        )
    # The stats panel changes once per 10-second step, not on every flush:
    # of any three polls two seconds apart, at most one is a 200.
    page.wait_for_function(
        "document.querySelector('.indicator[data-for=stats]').dataset.unchanged > 0",
        timeout=8000,
    )
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.screenshot(path=str(folder / "demo-page.png"))

    stats = open_demo(
        browser, f"{served_with_stats.url}/condpoll/", "htmx2", ready="svg.ratio"
    )
    panels = stats.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("article.panel")]
            .map(panel => [panel.dataset.endpoint, {
                plots: panel.querySelectorAll("svg.condpoll-plot").length,
                bars: [...panel.querySelectorAll("rect.bar")].map(bar =>
                    [Number(bar.dataset.bucket), bar.dataset.ratio]),
                saved: panel.querySelector("text.total")?.textContent,
                verdict: panel.querySelector(".verdict").className,
            }]))"""
    )
    status = panels["monitor.status"]
    assert status["plots"] == 3
    bars = {bucket: float(ratio) for bucket, ratio in status["bars"]}
    # A step may have ended since the seed: the window then moves on by one,
    # and the new step shows once the test's own polls are flushed.
    assert 59 <= len(bars) <= 60
    assert all(last - step * 10 in bars for step in range(59))
    quiet = [bars[last - step * 10] for step in range(30, 59)]
    busy = [bars[last - step * 10] for step in range(30)]
    assert set(quiet) == {1.0} and min(busy) < 0.95
    assert status["saved"].endswith(" saved")
    assert "verdict-working" in status["verdict"]
    assert panels["monitor.dashboard"]["plots"] == 3
    assert not any(name.startswith("condpoll_stats") for name in panels)
    stats.wait_for_function(
        "document.getElementById('condpoll-plots').dataset.lastStatus === '304'",
        timeout=6000,
    )
    stats.screenshot(path=str(folder / "demo-stats.png"), full_page=True)
    assert page.errors == [] and stats.errors == []
