"""Stats from many worker processes add up exactly; a SIGKILL loses at most
the documented window."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import typing as t
import urllib.request

from .workers import FLUSH_INTERVAL
from .workers import start_gunicorn


def hammer(url: str, seconds: float, threads: int = 8) -> list[float]:
    """GET ``url`` from several threads for a bounded time; return the times
    at which each response had completed."""
    done: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(number: int) -> None:
        tag = None
        while time.monotonic() < stop:
            request = urllib.request.Request(url)
            if tag and number % 2:  # half the pollers send their tag
                request.add_header("If-None-Match", tag)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                    tag = response.headers.get("ETag")
            except urllib.error.HTTPError as error:
                assert error.code == 304, error.code
            with lock:
                done.append(time.monotonic())

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return done


def stored_requests(store: t.Any) -> int:
    return store.totals().get("poll", [0])[0]


def test_four_workers_add_up_exactly(stats_target):
    env, store = stats_target
    process, base = start_gunicorn(env, workers=4)
    url = f"{base}/poll"
    try:
        sent = len(hammer(url, seconds=3))
    finally:
        process.send_signal(signal.SIGTERM)  # graceful: workers flush at exit
        process.wait(30)
    assert stored_requests(store) == sent
    counts = store.totals()["poll"]
    assert counts[2] > 0  # 304s were counted as such


def test_sigkill_loses_at_most_the_flush_window(stats_target):
    env, store = stats_target
    process, base = start_gunicorn(
        env | {"STATS_APP_FLUSH_COUNT": "1000000"}, workers=1
    )
    url = f"{base}/poll"
    try:
        done = hammer(url, seconds=2)
        killed_at = time.monotonic()
        worker_pids = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        for pid in worker_pids:
            os.kill(int(pid), signal.SIGKILL)
    finally:
        process.kill()
        process.wait(30)
    time.sleep(FLUSH_INTERVAL)
    sent = len(done)
    stored = stored_requests(store)
    in_window = sum(1 for when in done if when > killed_at - FLUSH_INTERVAL - 0.25)
    assert stored <= sent
    assert sent - stored <= in_window, (sent, stored, in_window)
