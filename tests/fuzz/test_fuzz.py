"""Bounded coverage-guided fuzzing in CI: 20 seconds per target."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..services import unavailable

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("CONDPOLL_FUZZ_SECONDS", "20"))


@pytest.mark.parametrize("target", ["preconditions", "field_syntax", "poll_markup"])
def test_fuzz(target, tmp_path):
    try:
        import atheris  # noqa: F401
    except ImportError as exc:
        unavailable("atheris", exc)
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.targets", target,
         f"-max_total_time={SECONDS}", "-rss_limit_mb=2048",
         f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done" in result.stderr
