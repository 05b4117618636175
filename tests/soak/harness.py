"""Load with a moving truth: pollers and a writer against gunicorn on loopback.

Each poller logs in as one user and polls that user's notification badge
like a browser adapter would, keeping its own tag. The writer posts
notifications at a known rate and records when each write had committed and
what the user's unread count became. A stale 304 is a poller that, after its
first poll started after a write, still shows a count below that write's.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from ..redis_server import free_port
from ..services import unavailable

ROOT = Path(__file__).resolve().parents[2]
SEEDED_UNREAD = 3  # the seed leaves three unread notifications per user
BADGE = "/notifications/badge"


@dataclass
class Poll:
    started: float
    ended: float
    status: int  # 0: the connection failed
    shows: int | None  # the unread count the poller shows afterwards


@dataclass
class Write:
    user: int
    committed: float
    count: int


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in out.stdout.split()]

    def stop(self) -> None:
        """Graceful: workers finish and flush their stats at exit."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def start(
    env: dict[str, str], workers: int = 4, app: str = "example_app:create_app()"
) -> Server:
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if gunicorn is None:
        unavailable("gunicorn", "not installed")
    full_env = os.environ | {"SECRET_KEY": "soak", "PYTHONPATH": str(ROOT)} | env
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "example_app", "seed", "--reset"],
        env=full_env, cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [
            gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--chdir", str(ROOT), "--graceful-timeout", "20", "--log-level", "warning",
            app,
        ],
        env=full_env,
    )  # fmt: skip
    server = Server(process, port, full_env)
    deadline = time.monotonic() + 30
    while request(port, "GET", "/status")[0] != 200:
        assert process.poll() is None, "gunicorn exited"
        assert time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.2)
    return server


def request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str = "",
) -> tuple[int, dict[str, str], str]:
    """One request on its own connection; status 0 when the connection fails."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        text = response.read().decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    except OSError:
        return 0, {}, ""
    finally:
        connection.close()


def login(port: int, user: int) -> str:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = request(port, "POST", "/login", form, f"user_id={user}")
    assert status == 302, status
    return headers["set-cookie"].split(";", 1)[0]


@dataclass
class Poller:
    user: int
    cookie: str
    polls: list[Poll] = field(default_factory=list)

    def run(self, port: int, interval: float, stop: float) -> None:
        tag, shows = None, None
        time.sleep(random.random() * interval)
        while time.monotonic() < stop:
            headers = {"HX-Request": "true", "Cookie": self.cookie}
            if tag:
                headers["If-None-Match"] = tag
            started = time.monotonic()
            status, response_headers, body = request(port, "GET", BADGE, headers)
            if status == 200:
                tag = response_headers.get("etag")
                found = re.search(r"(\d+) unread", body)
                shows = int(found[1]) if found else None
            self.polls.append(Poll(started, time.monotonic(), status, shows))
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


@dataclass
class Writer:
    users: list[int]
    path: str = "/notifications"
    writes: list[Write] = field(default_factory=list)
    failures: int = 0

    def run(self, port: int, rate: float, stop: float) -> None:
        counts = dict.fromkeys(self.users, SEEDED_UNREAD)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        rng = random.Random(7)
        while time.monotonic() < stop:
            user = rng.choice(self.users)
            status, _, _ = request(
                port, "POST", self.path, form, f"user_id={user}&text=soak"
            )
            if status == 302:
                counts[user] += 1
                self.writes.append(Write(user, time.monotonic(), counts[user]))
            else:
                self.failures += 1
            time.sleep(1 / rate)


@dataclass
class Run:
    pollers: list[Poller]
    writer: Writer

    @property
    def polls(self) -> list[Poll]:
        return [poll for poller in self.pollers for poll in poller.polls]

    def stale(self) -> list[str]:
        """Every poll that kept a count older than a write committed before it began."""
        found = []
        for write in self.writer.writes:
            for poller in self.pollers:
                if poller.user != write.user:
                    continue
                answered = (p for p in poller.polls if p.status in (200, 304))
                after = [p for p in answered if p.started > write.committed]
                if after and (after[0].shows or 0) < write.count:
                    shown = after[0].shows
                    found.append(f"user {write.user}: {shown} shown, {write.count} due")
        return found


def load(
    server: Server,
    *,
    users: int = 60,
    per_user: int = 5,
    interval: float = 1.0,
    rate: float = 4.0,
    seconds: float = 12.0,
    during: t.Callable[[], None] | None = None,
    write_path: str = "/notifications",
) -> Run:
    """Run pollers and the writer for ``seconds``; call ``during`` meanwhile."""
    ids = list(range(1, users + 1))
    pollers = [
        Poller(user, login(server.port, user)) for user in ids for _ in range(per_user)
    ]
    writer = Writer(ids, write_path)
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=p.run, args=(server.port, interval, stop))
        for p in pollers
    ]
    threads.append(threading.Thread(target=writer.run, args=(server.port, rate, stop)))
    for thread in threads:
        thread.start()
    if during is not None:
        during()
    for thread in threads:
        thread.join()
    return Run(pollers, writer)
