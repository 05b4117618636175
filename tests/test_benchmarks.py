"""The benchmark runs and prints its table and ratios (values are not judged
here: timing belongs to the benchmark, not to unit tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .services import redis_client

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
