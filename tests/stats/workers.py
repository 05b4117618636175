"""The stats test app (tests/apps/stats_app.py) served by gunicorn workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..redis_server import free_port
from ..services import unavailable

ROOT = Path(__file__).resolve().parent.parent

#: How often the served app's workers flush, in seconds (``stats_target``).
FLUSH_INTERVAL = 0.5


def start_gunicorn(
    env: dict[str, str], workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the app with ``env`` on a free loopback port; return the
    process and the base URL once a worker answers."""
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
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            # A probe that times out while workers boot is still served later:
            # probe a view that is not counted.
            urllib.request.urlopen(f"{base}/ready", timeout=2).read()
            return process, base
        except OSError:
            assert process.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
