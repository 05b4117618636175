"""Benchmarks: flask-condpoll against a full render, hand-written code,
Werkzeug, Django and an empty 304.

    python -m benchmarks.run [--mode wallclock] [--rounds 5] [--duration 3]
    python -m benchmarks.run --mode instructions [--n1 200] [--n2 1200]

The wall-clock mode (the default) serves every scenario from one gunicorn
(2 sync workers) on 127.0.0.1 and loads it with Debian's wrk (installed if
missing) or, failing that, a Python client, interleaved round by round. It
prints requests/s, p50/p99 latency, bytes per response and server CPU per
request for each scenario (medians over rounds), then the ratios the project
targets. The instruction mode counts instructions per request under
callgrind instead (see :mod:`benchmarks.instructions`).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from benchmarks import instructions
from benchmarks import USER

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    description: str
    conditional: bool = False  # send the current tag (the 304 path)


SCENARIOS = [
    Scenario("A", f"/a/{USER}", "full render, no validators"),
    Scenario("B304", f"/b/{USER}", "hand-written version query, 304", True),
    Scenario("B200", f"/b/{USER}", "hand-written version query, 200"),
    Scenario("C304", f"/c/{USER}", "Werkzeug add_etag + make_conditional, 304", True),
    Scenario("D", "/d", "bare Flask view returning 304 (the floor)"),
    Scenario("E304", f"/e/{USER}", "condpoll aggregate, 304", True),
    Scenario("E200", f"/e/{USER}", "condpoll aggregate, 200"),
    Scenario("F304", f"/f/{USER}", "condpoll in-process registry, 304", True),
    Scenario("G304", f"/redis/f/{USER}", "condpoll Redis registry, 304", True),
    Scenario("S304", f"/stats/e/{USER}", "condpoll aggregate + stats on, 304", True),
    Scenario(
        "T304", f"/timing/e/{USER}", "condpoll aggregate + Server-Timing, 304", True
    ),
    Scenario("M304", f"/scraped/e/{USER}", "condpoll + stats + /metrics, 304", True),
    Scenario("X304", "/example/dashboard", "example dashboard, 304", True),
    Scenario("X200", "/example/dashboard", "example dashboard, full render"),
]

#: (label, numerator, denominator, target) on requests per second.
TARGETS = [
    ("condpoll 304 (aggregate) / full render A", "E304", "A", 2.5),
    ("condpoll 304 (aggregate) / floor D", "E304", "D", 0.6),
    ("condpoll 304 (in-process registry) / floor D", "F304", "D", 0.85),
    ("condpoll 200 / full render A", "E200", "A", 0.95),
    ("condpoll 304 / Werkzeug 304 C", "E304", "C304", 2.5),
    ("stats on / stats off (304 path)", "S304", "E304", 0.95),
    ("Server-Timing on / off (304 path)", "T304", "E304", 0.95),
    ("metrics mounted / stats on (304 path)", "M304", "S304", 0.95),
    ("dashboard 304 / dashboard full render", "X304", "X200", 10.0),
    ("hand-written 304 B / A (reference)", "B304", "A", None),
    ("hand-written 304 B / floor D (reference)", "B304", "D", None),
    ("hand-written 200 B / A (reference)", "B200", "A", None),
    ("condpoll 304 (Redis registry) / floor D (reference)", "G304", "D", None),
]


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    bytes_per_response: float
    cpu_us: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str | None:
    """Debian's wrk, installed if missing; None means use the Python client."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0:
        return found
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        check=False,
    )
    return shutil.which("wrk")


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    wrk: str, url: str, headers: dict[str, str], seconds: float
) -> dict[str, float]:
    command = [wrk, "-t1", "-c4", f"-d{max(1, round(seconds))}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)", out, re.M)
        assert match, out
        return float(match[1]) * _UNITS[match[2]]

    requests = re.search(r"(\d+) requests in", out)
    read = re.search(r"requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert requests and read, out
    count = int(requests[1])
    scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[read[2]]
    return {
        "requests": count,
        "p50": latency("50"),
        "p99": latency("99"),
        "bytes": float(read[1]) * scale / max(count, 1),
        "errors": int(errors[1]) if errors else 0,
    }


def run_python(url: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    """A bounded threaded client, for machines without wrk."""
    latencies: list[float] = []
    sizes: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            request = urllib.request.Request(url, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    size = len(response.read())
            except urllib.error.HTTPError as error:
                size = len(error.read())
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                sizes.append(size)

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "bytes": statistics.mean(sizes),
        "errors": 0,
    }


#: GETs that collect a scenario's tags: every worker answers one of them
#: unless the kernel hands all of them to one worker (odds below 1 in 10^5).
TAG_SAMPLES = 20


def current_tags(url: str) -> str:
    """An If-None-Match listing every current tag of ``url``.

    The in-process registry draws an epoch per worker process, so its tags
    differ between the two workers, and a client that kept one tag would get
    a 200 from the other (the reason to use Redis with several workers).
    Listing each worker's tag keeps every request of the scenario a 304.
    """
    tags: list[str] = []
    for _ in range(TAG_SAMPLES):
        with urllib.request.urlopen(url, timeout=10) as response:
            tag = response.headers.get("ETag")
        assert tag, f"{url} sent no ETag"
        if tag not in tags:
            tags.append(tag)
    return ", ".join(tags)


def expected_status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return error.code


def start_server(workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    from benchmarks.app import build_database

    database = os.path.join(workdir, "bench.db")
    example = os.path.join(workdir, "example.db")
    build_database(database)
    env = os.environ | {
        "BENCH_DATABASE": database,
        "BENCH_EXAMPLE_DATABASE": f"sqlite:///{example}",
        "BENCH_INSTANCE": workdir,
        "BENCH_REDIS": os.environ.get(
            "CONDPOLL_TEST_REDIS", "redis://127.0.0.1:6379/0"
        ),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "example_app", "seed"],
        env=env | {"DATABASE_URL": f"sqlite:///{example}"},
        check=True,
        capture_output=True,
    )
    port = free_port()
    gunicorn = (
        shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    )
    server = subprocess.Popen(
        [
            gunicorn, "--workers", "2", "--worker-class", "sync",
            "--preload", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT),
            "--log-level", "warning", "benchmarks.app:create_app()",
        ],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/a/{USER}", timeout=2).read()
            return server, base
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the benchmark server did not start") from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode", choices=("wallclock", "instructions"), default="wallclock"
    )
    wallclock = parser.add_argument_group("wall-clock mode")
    wallclock.add_argument("--rounds", type=int, default=5)
    wallclock.add_argument("--duration", type=int, default=3, help="seconds per run")
    wallclock.add_argument(
        "--python-client", action="store_true", help="do not use wrk"
    )
    instructions.add_arguments(parser)
    args = parser.parse_args()
    if args.mode == "instructions":
        instructions.run(args)
    else:
        run_wallclock(args)


def run_wallclock(args: argparse.Namespace) -> None:
    """Load every scenario with wrk, round by round, and print the medians."""
    wrk = None if args.python_client else ensure_wrk()
    with tempfile.TemporaryDirectory() as workdir:
        server, base = start_server(workdir)
        try:
            pids = worker_pids(server.pid)
            headers: dict[str, dict[str, str]] = {}
            for scenario in SCENARIOS:
                url = base + scenario.path
                headers[scenario.name] = (
                    {"If-None-Match": current_tags(url)} if scenario.conditional else {}
                )
                status = expected_status(url, headers[scenario.name])
                want = 304 if scenario.conditional or scenario.name == "D" else 200
                assert status == want, (
                    f"{scenario.name}: {url} gave {status}, not {want}"
                )
            samples: dict[str, list[Sample]] = {s.name: [] for s in SCENARIOS}
            for round_number in range(args.rounds):
                order = (
                    SCENARIOS[round_number % len(SCENARIOS) :]
                    + SCENARIOS[: round_number % len(SCENARIOS)]
                )
                for scenario in order:
                    url = base + scenario.path
                    before = cpu_seconds(pids)
                    if wrk:
                        result = run_wrk(
                            wrk, url, headers[scenario.name], args.duration
                        )
                    else:
                        result = run_python(url, headers[scenario.name], args.duration)
                    used = cpu_seconds(pids) - before
                    assert not result["errors"], f"{scenario.name}: errors"
                    samples[scenario.name].append(
                        Sample(
                            rps=result["requests"] / args.duration,
                            p50_ms=result["p50"],
                            p99_ms=result["p99"],
                            bytes_per_response=result["bytes"],
                            cpu_us=used / max(result["requests"], 1) * 1e6,
                        )
                    )
                print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    report(samples, args, wrk)


def report(
    samples: dict[str, list[Sample]], args: argparse.Namespace, wrk: str | None
) -> None:
    def median(name: str, field: str) -> float:
        return statistics.median(getattr(s, field) for s in samples[name])

    print(f"# flask-condpoll benchmarks, {time.strftime('%Y-%m-%d')}")
    print(
        f"python {platform.python_version()}, flask {version('flask')},"
        f" werkzeug {version('werkzeug')}, sqlalchemy {version('sqlalchemy')},"
        f" gunicorn {version('gunicorn')}; {os.cpu_count()} CPUs, {platform.machine()};"
        f" load: {'wrk -t1 -c4' if wrk else 'Python client, 4 threads'};"
        f" {args.rounds} rounds x {args.duration:g} s, medians"
    )
    print()
    columns = ("req/s", "p50 ms", "p99 ms", "bytes", "cpu us")
    print(f"{'scenario':<8}" + "".join(f"{c:>9}" for c in columns) + "  what")
    fields = ("rps", "p50_ms", "p99_ms", "bytes_per_response", "cpu_us")
    for scenario in SCENARIOS:
        values = [median(scenario.name, field) for field in fields]
        cells = "".join(
            f"{v:>9.2f}" if i in (1, 2) else f"{v:>9.0f}" for i, v in enumerate(values)
        )
        print(f"{scenario.name:<8}{cells}  {scenario.description}")
    print()
    print(f"{'ratio (req/s)':<54} {'value':>6} {'target':>7}  result")
    for label, top, bottom, target in TARGETS:
        value = median(top, "rps") / median(bottom, "rps")
        verdict = "" if target is None else ("met" if value >= target else "MISSED")
        shown = "" if target is None else f">= {target:g}"
        print(f"{label:<54} {value:>6.2f} {shown:>7}  {verdict}")


if __name__ == "__main__":
    main()
