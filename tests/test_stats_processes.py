"""Stats from many worker processes add up exactly; a SIGKILL loses at most
the documented window."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import typing as t
import urllib.request
from pathlib import Path

import pytest

from flask_condpoll.stats_store import RedisStatsStore
from flask_condpoll.stats_store import SQLiteStatsStore

from .redis_server import free_port
from .services import redis_client
from .services import REDIS_URL
from .services import unavailable
from .services import unique

ROOT = Path(__file__).resolve().parent.parent
FLUSH_INTERVAL = 0.5


@pytest.fixture(params=["sqlite", "redis"])
def stats_target(request, tmp_path) -> t.Iterator[tuple[dict[str, str], t.Any]]:
    env = {"STATS_APP_INSTANCE": str(tmp_path), "STATS_APP_FLUSH": str(FLUSH_INTERVAL)}
    if request.param == "sqlite":
        env["STATS_APP_URL"] = "sqlite:///stats.db"
        yield env, SQLiteStatsStore(str(tmp_path / "stats.db"))
        return
    client = redis_client()
    prefix = unique("condpoll") + ":"
    env |= {"STATS_APP_URL": REDIS_URL, "STATS_APP_PREFIX": prefix}
    yield env, RedisStatsStore(REDIS_URL, prefix=prefix)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def start_gunicorn(
    env: dict[str, str], workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if gunicorn is None:
        unavailable("gunicorn", "not installed in this environment")
    port = free_port()
    process = subprocess.Popen(
        [
            gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--chdir", str(ROOT), "--graceful-timeout", "10",
            "tests.apps.stats_app:create_app()",
        ],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/poll"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return process, url
        except OSError:
            assert process.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)


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
    process, url = start_gunicorn(env, workers=4)
    try:
        sent = 1 + len(hammer(url, seconds=3))  # and the start-up probe
    finally:
        process.send_signal(signal.SIGTERM)  # graceful: workers flush at exit
        process.wait(30)
    assert stored_requests(store) == sent
    counts = store.totals()["poll"]
    assert counts[2] > 0  # 304s were counted as such


def test_sigkill_loses_at_most_the_flush_window(stats_target):
    env, store = stats_target
    process, url = start_gunicorn(env | {"STATS_APP_FLUSH_COUNT": "1000000"}, workers=1)
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
    sent = 1 + len(done)
    stored = stored_requests(store)
    in_window = sum(1 for when in done if when > killed_at - FLUSH_INTERVAL - 0.25)
    assert stored <= sent
    assert sent - stored <= in_window, (sent, stored, in_window)
