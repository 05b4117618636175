"""gunicorn serving :mod:`tests.proxies.wsgi`, and what its access log says
the app answered."""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..redis_server import free_port
from ..services import unavailable
from .daemon import Daemon

ROOT = Path(__file__).resolve().parents[2]

#: Request headers logged for each request, after its id, method, path and status.
LOGGED = ("if-none-match", "hx-ptag", "if-match")

#: The header that names a test's request in the app's access log.
REQUEST_ID = "X-Test-Id"


@dataclass(frozen=True)
class Seen:
    """One request as the app saw and answered it."""

    method: str
    path: str
    status: int
    headers: dict[str, str]  # the LOGGED request headers it carried


class Backend:
    """The app under gunicorn on a loopback port, with an access log per request id."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
        if gunicorn is None:
            unavailable("gunicorn", "not installed")
        self.port = free_port()
        self.access_log = tmp / "access.log"
        fields = [f"%({{{REQUEST_ID.lower()}}}i)s", "%(m)s", "%(U)s", "%(s)s"]
        fields += [f"%({{{name}}}i)s" for name in LOGGED]
        command = [
            gunicorn, "--workers", "1", "--threads", "16",
            "--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT),
            "--access-logfile", str(self.access_log),
            "--access-logformat", "\t".join(fields),
            "tests.proxies.wsgi:app",
        ]  # fmt: skip
        if _has_control_socket():
            command.insert(1, "--no-control-socket")
        env = os.environ | {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "proxies",
            "PYTHONPATH": str(ROOT),
        }
        self.daemon = Daemon("gunicorn", command, self.port, tmp / "gunicorn.log", env)

    def seen(self, request_id: str, timeout: float = 5) -> list[Seen]:
        """The app's answers to the requests with this id, waiting for one."""
        deadline = time.monotonic() + timeout
        while not (found := self.answers(request_id)):
            if time.monotonic() > deadline:
                return []
            time.sleep(0.02)
        return found

    def answers(self, request_id: str) -> list[Seen]:
        """The app's answers to the requests with this id, logged so far."""
        found = []
        text = self.access_log.read_text() if self.access_log.exists() else ""
        for line in text.splitlines():
            logged_id, method, path, status, *values = line.split("\t")
            if logged_id == request_id:
                headers = {
                    name: value.replace('\\"', '"')
                    for name, value in zip(LOGGED, values, strict=True)
                    if value != "-"
                }
                found.append(Seen(method, path, int(status), headers))
        return found


def _has_control_socket() -> bool:
    """Recent gunicorn opens a control socket in ~/.gunicorn by default."""
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)
