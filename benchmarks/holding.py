"""Held polls at scale: many clients held by gunicorn, woken through Redis.

    python -m benchmarks.holding [--polls 1000] [--parts 50] [--workers 2]

Starts a private Redis and gunicorn (gevent workers) serving
benchmarks/holding_app.py, then ``--polls`` clients that each hold a poll
(``Prefer: wait``) on one of ``--parts`` partitions and re-poll at once
after every answer. Once all are held it measures the memory and CPU the
held polls cost, then bumps one partition at a time and measures how fast
its pollers get their 200 (and that every one of them gets exactly one,
and no one else any), and counts every status: there must be no 5xx.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Poller:
    """One client that keeps a poll held on its partition."""

    port: int
    part: int
    tag: str = ""
    answers: list[tuple[float, int]] = field(default_factory=list)
    stop: bool = False

    def run(self, wait: int) -> None:
        while not self.stop:
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=wait + 30
            )
            try:
                headers = {"Prefer": f"wait={wait}"}
                if self.tag:
                    headers["If-None-Match"] = self.tag
                connection.request("GET", f"/items/{self.part}", headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if status == 200:
                    self.tag = response.headers.get("ETag", "")
            except OSError:
                status = 0
            finally:
                connection.close()
            self.answers.append((time.monotonic(), status))
            if status == 0:
                time.sleep(0.2)


@dataclass
class Result:
    polls: int
    workers: int
    held_rss_kib_per_poll: float
    idle_cpu_us_per_poll_per_second: float
    latencies_ms: list[float]
    exactly_once: bool
    statuses: dict[int, int]
    shutdown_seconds: float


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def workers_of(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", directory],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def start_gunicorn(
    redis_url: str, workers: int, wait: int
) -> tuple[subprocess.Popen[bytes], int]:
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    assert gunicorn, "gunicorn is not installed"
    port = free_port()
    env = os.environ | {
        "HOLDING_REDIS": redis_url,
        "HOLDING_WAIT": str(wait),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [gunicorn, "--config", str(ROOT / "docs" / "examples" / "gunicorn_conf.py"),
         "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "benchmarks.holding_app:create_app()"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/items/0")
            connection.getresponse().read()
            break
        except OSError:
            assert process.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        finally:
            connection.close()
    return process, port


def run(polls: int, parts: int, workers: int, bumps: int, wait: int = 30) -> Result:
    from flask_condpoll.registry import partition_name
    from flask_condpoll.registry import RedisRegistry

    with tempfile.TemporaryDirectory() as directory:
        redis, url = start_redis(directory)
        server, port = start_gunicorn(url, workers, wait)
        pollers = [Poller(port, n % parts) for n in range(polls)]
        threads = [
            threading.Thread(target=p.run, args=(wait,), daemon=True) for p in pollers
        ]
        try:
            pids = workers_of(server.pid)
            idle_rss = rss_kib(pids)
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while sum(1 for p in pollers if p.answers) < polls:  # first 200s
                assert time.monotonic() < deadline, "pollers did not start"
                time.sleep(0.1)
            time.sleep(2)  # every poller is held again now
            held_rss = rss_kib(pids)
            before = cpu_seconds(pids)
            time.sleep(5)
            idle_cpu = cpu_seconds(pids) - before
            registry = RedisRegistry(url)
            latencies: list[float] = []
            exactly_once = True
            for bump in range(bumps):
                part = bump % parts
                counts = [len(p.answers) for p in pollers]
                bumped_at = time.monotonic()
                registry.bump(["items", partition_name("items", "part", part)])
                time.sleep(1.5)
                for poller, count in zip(pollers, counts, strict=True):
                    new = poller.answers[count:]
                    twos = [when for when, status in new if status == 200]
                    expected = 1 if poller.part == part else 0
                    exactly_once &= len(twos) == expected
                    latencies += [(when - bumped_at) * 1000 for when in twos]
        finally:
            for poller in pollers:
                poller.stop = True
            stopping = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(wait + 30)
            stopped = time.monotonic() - stopping
            redis.kill()
            redis.wait()
        statuses: dict[int, int] = {}
        for poller in pollers:
            for _, status in poller.answers:
                statuses[status] = statuses.get(status, 0) + 1
        return Result(
            polls,
            workers,
            (held_rss - idle_rss) / polls,
            idle_cpu * 1e6 / polls / 5,
            latencies,
            exactly_once,
            statuses,
            stopped,
        )


def report(result: Result) -> str:
    latencies = sorted(result.latencies_ms)
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
    return "\n".join(
        [
            f"held polls: {result.polls} on {result.workers} gevent workers",
            f"memory per held poll: {result.held_rss_kib_per_poll:.1f} KiB",
            "CPU per held poll while nothing changes:"
            f" {result.idle_cpu_us_per_poll_per_second:.1f} us/s",
            f"bump to 200: median {p50:.1f} ms, p99 {p99:.1f} ms"
            f" ({len(latencies)} answers)",
            "every poller of a bumped partition got exactly one 200:"
            f" {result.exactly_once}",
            f"statuses: {dict(sorted(result.statuses.items()))}",
            f"graceful stop with every poll held: {result.shutdown_seconds:.1f} s",
        ]
    )


def main(argv: t.Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--parts", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bumps", type=int, default=10)
    args = parser.parse_args(argv)
    result = run(args.polls, args.parts, args.workers, args.bumps)
    print(report(result))
    if any(status >= 500 or status == 0 for status in result.statuses):
        sys.exit("some polls failed")


if __name__ == "__main__":
    main()
