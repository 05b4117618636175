"""Steering the pollers from the server: the interval each view declares,
the operator's factor and stop switch, adaptive back-off, and stopping one
poller for good. See :doc:`/polling`."""

from __future__ import annotations

from ..core.polling import HEADER
from ..core.polling import Poll
from .control import Override
from .control import PollControl
from .control import store_for
from .steering import Steering
from .steering import stop_polling

__all__ = [
    "HEADER",
    "Override",
    "Poll",
    "PollControl",
    "Steering",
    "stop_polling",
    "store_for",
]
