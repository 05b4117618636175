"""The benchmarks run and print their tables and ratios (values are not
judged here: timing belongs to the benchmarks, not to unit tests)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.browser import missing
from benchmarks.instructions import TARGETS
from benchmarks.latency import ENDPOINTS
from benchmarks.workload import SCENARIOS
from flask_condpoll.settings import CLIENTS

from .services import redis_client
from .services import unavailable

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_prints_its_ratios():
    pytest.importorskip("gunicorn")
    redis_client()  # the Redis-registry scenario needs the service
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--rounds", "1", "--duration", "1",
         "--python-client"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for line in (
        "E304 ",
        "F304 ",
        "condpoll 304 (aggregate) / floor D",
        "stats on / stats off",
    ):
        assert line in result.stdout


def test_instruction_mode_prints_every_scenario_and_ratio():
    if shutil.which("valgrind") is None:
        unavailable("valgrind", "not on PATH")
    pytest.importorskip("django")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--mode", "instructions",
         "--n1", "2", "--n2", "6", "--warmup", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for scenario in SCENARIOS:
        assert re.search(rf"^{scenario.name} +\d+k  ", result.stdout, re.M)
    for label, top, bottom, _ in TARGETS:
        assert re.search(rf"^{re.escape(label)} +{top}/{bottom} ", result.stdout, re.M)


def test_latency_prints_every_client_and_mode():
    gap = missing()
    if gap is not None:
        unavailable(*gap)
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.latency", "--samples", "2",
         "--interval", "0.5", "--wait", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "load average at start " in result.stdout
    assert "page clock - time.time(): " in result.stdout
    for client in CLIENTS:
        for mode in ENDPOINTS:
            row = rf"^{client} +{mode} +2( +-?\d+\.\d){{4}} +250 +\d+\.\d\d$"
            assert re.search(row, result.stdout, re.M), result.stdout
        assert f"{client} held median " in result.stdout
