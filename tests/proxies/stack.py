"""A proxy in front of the app: requests through it, and what the app saw."""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass

from .backend import Backend
from .backend import Seen
from .client import Reply
from .client import send
from .servers import Setup


@dataclass
class Stack:
    setup: Setup
    port: int  # the proxy's
    backend: Backend

    def send(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: t.Any
    ) -> Reply:
        return send(self.port, method, path, headers, **kw)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.send("GET", path, headers)

    def answer(self, reply: Reply) -> Seen:
        """How the app answered the request behind ``reply``."""
        seen = self.backend.seen(reply.id)
        assert len(seen) == 1, f"the app saw {reply.id} {len(seen)} times"
        return seen[0]

    def unseen(self, reply: Reply) -> bool:
        """Whether the proxy answered ``reply`` without asking the app."""
        mark = send(self.backend.port, "GET", "/status")  # logged after ``reply``
        assert self.backend.seen(mark.id)
        time.sleep(0.05)
        return not self.backend.answers(reply.id)
