"""Update latency: from a commit to the new content in Chromium's DOM.

    python -m benchmarks.latency [--clients htmx2,htmx4,unpoly] [--samples 30]
                                 [--interval 2] [--wait 25]

For each client, serves benchmarks/waiting_app.py from a threaded Werkzeug
server on loopback and opens its page in headless Chromium twice: once held
(the poll asks ``Prefer: wait``) and once plain (a poll every ``--interval``
seconds). Each sample waits a random time, uniform over one interval, so
that the commit falls at a random phase of the poll schedule; then it
commits a change (a new version and a bump of its registry names) and takes
the time from the commit (``time.time()``) to when a MutationObserver in the
page sees the new version (``performance.timeOrigin + performance.now()``):
both read the machine's wall clock, and their offset is measured and printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import random
import statistics
import sys
import time
import typing as t
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version

from benchmarks.browser import launch
from benchmarks.browser import missing
from benchmarks.browser import NODE_MODULES
from benchmarks.browser import serving
from benchmarks.instructions import cpu_model
from benchmarks.waiting_app import create_app
from flask_condpoll.settings import CLIENTS

#: Each mode's view in the waiting app: it declares ``wait=`` or not.
ENDPOINTS = {"held": "waiting", "plain": "plain"}
#: The median latency the spec asks of held polls, in milliseconds.
TARGET_MS = 150

#: When each text of the item first appears in the DOM, on the wall clock (ms).
OBSERVER = """window.shown = {};
new MutationObserver(() => {
    const text = document.querySelector("#item .v")?.textContent;
    if (text && !(text in window.shown)) {
        window.shown[text] = performance.timeOrigin + performance.now();
    }
}).observe(document, {childList: true, subtree: true, characterData: true});"""
CLOCK = "performance.timeOrigin + performance.now()"


@dataclass
class Row:
    """One client and mode: its latencies in milliseconds, and the machine's
    one-minute load average when it ended."""

    client: str
    mode: str
    latencies: list[float]
    load: float
    #: The page clock minus ``time.time()`` and its uncertainty, in ms.
    offset: tuple[float, float]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least
    ``share`` of ``values`` at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def clock_offset(page: t.Any, tries: int = 10) -> tuple[float, float]:
    """The page's clock minus ``time.time()`` in ms, and its uncertainty
    (half the shortest of ``tries`` round trips)."""
    estimates = []
    for _ in range(tries):
        before = time.time() * 1000
        shown = page.evaluate(CLOCK)
        after = time.time() * 1000
        estimates.append((after - before, shown - (before + after) / 2))
    trip, offset = min(estimates)
    return offset, trip / 2


def until(condition: t.Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not start polling")
        time.sleep(0.02)


def measure(
    browser: t.Any, client: str, mode: str, args: argparse.Namespace, rng: random.Random
) -> Row:
    """Open a fresh page for ``client`` in ``mode``; time ``args.samples`` changes."""
    held = create_app(client, interval=args.interval, wait=args.wait)
    with serving(held.app) as url:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.add_init_script(OBSERVER)
            page.goto(f"{url}/?endpoint={ENDPOINTS[mode]}")
            # Idle and polling: the first poll is held, or was answered.
            until(lambda: held.held_now or held.polls, args.interval + 10)
            latencies = []
            for n in range(1, args.samples + 1):
                time.sleep(rng.uniform(0, args.interval))
                committed = time.time() * 1000
                held.change()
                shown = page.wait_for_function(
                    "text => window.shown[text]",
                    arg=f"version {n}",
                    polling=20,
                    timeout=(2 * args.interval + 10) * 1000,
                ).json_value()
                latencies.append(shown - committed)
            offset = clock_offset(page)
        finally:
            context.close()
    return Row(client, mode, latencies, os.getloadavg()[0], offset)


def library_versions() -> str:
    names = {"htmx2": "htmx", "htmx4": "htmx", "unpoly": "unpoly"}
    found = []
    for folder, name in names.items():
        package = json.loads((NODE_MODULES / folder / "package.json").read_text())
        found.append(f"{name} {package['version']}")
    return ", ".join(found)


def report(
    rows: list[Row], args: argparse.Namespace, chromium: str, loads: tuple[float, ...]
) -> None:
    """Print the machine, the versions, the table and the verdicts."""
    end = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"# flask-condpoll update latency, {date.today().isoformat()}")
    print(f"{platform.platform()}; {cpu_model()}, {os.cpu_count()} CPUs")
    print(
        f"python {platform.python_version()}, flask {version('flask')},"
        f" werkzeug {version('werkzeug')}, playwright {version('playwright')},"
        f" chromium {chromium}; {library_versions()}"
    )
    print(f"load average at start {' '.join(f'{x:.2f}' for x in loads)}, at end {end}")
    worst = max(rows, key=lambda row: abs(row.offset[0]))
    print(
        f"page clock - time.time(): {worst.offset[0]:+.2f} ms at most"
        f" (+-{worst.offset[1]:.2f} ms)"
    )
    print(
        f"commit -> DOM change, ms; poll interval {args.interval:g} s,"
        f" held up to {args.wait:g} s; the commit at a random phase"
    )
    print()
    print(
        f"{'client':<8}{'mode':<7}{'n':>4}{'median':>9}{'p90':>9}{'p99':>9}"
        f"{'max':>9}{'interval/2':>12}{'load':>6}"
    )
    half = args.interval * 500
    for row in rows:
        values = row.latencies
        print(
            f"{row.client:<8}{row.mode:<7}{len(values):>4}"
            f"{statistics.median(values):>9.1f}{percentile(values, 0.9):>9.1f}"
            f"{percentile(values, 0.99):>9.1f}{max(values):>9.1f}"
            f"{half:>12.0f}{row.load:>6.2f}"
        )
    print()
    for row in rows:
        if row.mode == "held":
            median = statistics.median(row.latencies)
            verdict = "met" if median < TARGET_MS else "MISSED"
            print(
                f"{row.client} held median {median:.1f} ms,"
                f" target < {TARGET_MS} ms: {verdict}"
            )


def clients(value: str) -> list[str]:
    chosen = value.split(",")
    unknown = [c for c in chosen if c not in CLIENTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown client {unknown[0]!r}, must be one of: {', '.join(CLIENTS)}"
        )
    return chosen


def main(argv: t.Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--clients",
        type=clients,
        default=list(CLIENTS),
        help=f"comma-separated (default: {','.join(CLIENTS)})",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=30,
        help="changes per client and mode (default: %(default)s)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        help="poll interval, and the window of each change (default: %(default)s)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=25.0,
        help="longest hold, in seconds (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error(f"--samples must be at least 1, not {args.samples}")
    gap = missing()
    if gap is not None:
        sys.exit(f"{gap[0]} is unavailable: {gap[1]}")
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    loads = os.getloadavg()
    rng = random.Random()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            rows = [
                measure(browser, client, mode, args, rng)
                for client in args.clients
                for mode in ENDPOINTS
            ]
            report(rows, args, browser.version, loads)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
