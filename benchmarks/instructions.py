"""Instructions per request under callgrind: deterministic, unlike wall-clock.

    python -m benchmarks.run --mode instructions [--n1 200] [--n2 1200]

Each scenario's :mod:`benchmarks.workload` runs twice under ``valgrind
--tool=callgrind``: N1 and N2 requests after the same warm-up. Start-up,
warm-up and exit are the same in both runs, so the difference of the two
totals (callgrind's ``Ir``) divided by N2 - N1 is the cost of one request.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from benchmarks.app import build_database
from benchmarks.workload import BY_NAME
from benchmarks.workload import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
#: The rows' fixed ``updated_at``, so that every run reads the same data.
UPDATED_AT = datetime(2026, 1, 1, 12, 0, 0, 123456)

#: (label, numerator, denominator, target): instructions of the numerator
#: over those of the denominator, so higher means a cheaper denominator.
TARGETS = [
    ("registry 304 vs bare 304, same app", "Dk", "R", 0.8),
    ("aggregate 304 vs Django @condition 304", "J304", "P", 2.0),
    ("aggregate 304 vs full render", "A", "P", 6.0),
    ("200 path vs plain render", "A", "M", 0.95),
    ("stats on vs stats off, 304 path", "P", "S", 0.97),
    ("bare 304 with R's headers vs registry 304 (reference)", "H", "R", None),
    ("bare Flask vs bare 304 with CondPoll (reference)", "D", "Dk", None),
    ("Django render vs Flask render (reference)", "JA", "A", None),
    ("Django bare 304 vs Flask bare 304 (reference)", "JD", "D", None),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The instruction mode's options."""
    group = parser.add_argument_group("instruction mode")
    group.add_argument("--n1", type=int, default=200, help="requests, first run")
    group.add_argument("--n2", type=int, default=1200, help="requests, second run")
    group.add_argument("--warmup", type=int, default=50, help="requests before both")
    group.add_argument(
        "--scenarios",
        type=lambda value: value.split(","),
        default=list(BY_NAME),
        help="comma-separated names (default: all)",
    )
    group.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="runs at once"
    )


def valgrind() -> str:
    found = shutil.which("valgrind")
    if not found:
        raise SystemExit("The instruction mode needs valgrind (apt-get install it).")
    return found


def callgrind_total(path: Path) -> int:
    """The total ``Ir`` of a callgrind output file."""
    match = re.search(r"^(?:totals|summary): (\d+)", path.read_text(), re.M)
    if not match:
        raise SystemExit(f"no totals in {path}")
    return int(match[1])


class Runner:
    """Runs one scenario's workload, natively or under callgrind."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.database = workdir / "bench.db"
        self.valgrind = valgrind()

    def run(self, name: str, requests: int, run: str, callgrind: bool) -> Path:
        """Run ``name`` with a fresh instance folder; return callgrind's output."""
        instance = self.workdir / f"{name}-{run}"
        instance.mkdir()
        out = instance / "callgrind.out"
        command = [
            sys.executable, "-m", "benchmarks.workload", name, str(requests),
            "--warmup", str(self.args.warmup),
        ]  # fmt: skip
        env = os.environ | {
            "PYTHONHASHSEED": "0",
            "PYTHONPATH": str(ROOT),
            "BENCH_DATABASE": str(self.database),
            "BENCH_INSTANCE": str(instance),
        }
        if callgrind:
            tool = [self.valgrind, "--tool=callgrind", f"--callgrind-out-file={out}"]
            command = tool + command
            # Both counted runs must find the same bytecode files: none writes.
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode:
            raise SystemExit(f"{name} ({run}) failed:\n{result.stderr[-3000:]}")
        return out

    def per_request(self, name: str) -> float:
        """Instructions per request: (I(N2) - I(N1)) / (N2 - N1)."""
        n1: int = self.args.n1
        n2: int = self.args.n2
        low = callgrind_total(self.run(name, n1, "1", callgrind=True))
        high = callgrind_total(self.run(name, n2, "2", callgrind=True))
        return (high - low) / (n2 - n1)


def measure(args: argparse.Namespace) -> dict[str, float]:
    """Instructions per request of each chosen scenario."""
    with tempfile.TemporaryDirectory() as directory:
        runner = Runner(args, Path(directory))
        build_database(str(runner.database), UPDATED_AT)
        for name in args.scenarios:
            # Fails fast on a wrong status, before the slow counted runs.
            runner.run(name, 0, "check", callgrind=False)
        with ThreadPoolExecutor(args.jobs) as pool:
            counts = pool.map(runner.per_request, args.scenarios)
            return dict(zip(args.scenarios, counts, strict=True))


def cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    return match[1].strip() if match else "unknown CPU"


def valgrind_version() -> str:
    out = subprocess.run([valgrind(), "--version"], capture_output=True, text=True)
    return out.stdout.strip()


def report(counts: dict[str, float], args: argparse.Namespace) -> None:
    """Print the machine, the versions, the table and the ratios."""
    print(f"# flask-condpoll instruction counts, {time.strftime('%Y-%m-%d')}")
    print(f"{platform.platform()}; {cpu_model()}, {os.cpu_count()} CPUs")
    print(
        f"python {platform.python_version()}, flask {version('flask')},"
        f" werkzeug {version('werkzeug')}, sqlalchemy {version('sqlalchemy')},"
        f" django {version('django')}, {valgrind_version()}"
    )
    print(
        f"callgrind Ir per request = (I({args.n2}) - I({args.n1}))"
        f" / {args.n2 - args.n1}, after {args.warmup} warm-up requests"
    )
    print()
    print(f"{'scenario':<9}{'instr/req':>10}  what")
    for name, count in counts.items():
        thousands = f"{count / 1000:.0f}k"
        print(f"{name:<9}{thousands:>10}  {BY_NAME[name].description}")
    print()
    print_ratios(counts)


def print_ratios(counts: dict[str, float]) -> None:
    """The targets' ratios among the scenarios measured."""
    title = "ratio of instructions per request"
    print(f"{title:<58} {'value':>6} {'target':>7}  result")
    for label, top, bottom, target in TARGETS:
        if top not in counts or bottom not in counts:
            continue
        value = counts[top] / counts[bottom]
        verdict = "" if target is None else ("met" if value >= target else "MISSED")
        shown = "" if target is None else f">= {target:g}"
        line = f"{label:<50} {top + '/' + bottom:<7} {value:>6.2f} {shown:>7}"
        print(f"{line}  {verdict}".rstrip())


def run(args: argparse.Namespace) -> None:
    """Measure and print the instruction mode's table and ratios."""
    unknown = sorted(set(args.scenarios) - set(BY_NAME))
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(unknown)}")
    if args.n2 <= args.n1:
        raise SystemExit("--n2 must be larger than --n1")
    order = [scenario.name for scenario in SCENARIOS]
    args.scenarios = sorted(set(args.scenarios), key=order.index)
    report(measure(args), args)
