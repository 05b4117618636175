"""The conditional request whose generators are running, without proxies.

A read through Flask's context proxies (``request.method``,
``current_app.extensions``) costs many times a read of a context variable, and
the version generators make several per request. While a conditional view
decides, it publishes what they need here; outside a decision (a generator
called from a plain view, a command or a test), the helpers fall back to the
proxies.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from flask import current_app
from flask import has_request_context
from flask import request

from .state import get_state

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from flask import Flask

    from .state import CondPollState


class Running(t.Protocol):
    """What a decision publishes (a :class:`~flask_condpoll.flow.Flow`)."""

    app: Flask
    state: CondPollState
    method: str
    environ: WSGIEnvironment


#: The decision under way in this context, if any.
RUNNING: ContextVar[Running | None] = ContextVar("condpoll.running", default=None)


def current_flask_app() -> Flask:
    """The app handling this request (or the app context's)."""
    running = RUNNING.get()
    if running is not None:
        return running.app
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def current_state() -> CondPollState:
    """The extension's state in the current app (see :func:`.get_state`)."""
    running = RUNNING.get()
    return get_state(current_flask_app()) if running is None else running.state


def current_request() -> tuple[str, WSGIEnvironment] | None:
    """The current request's method and WSGI environ, or ``None`` outside one."""
    running = RUNNING.get()
    if running is not None:
        return running.method, running.environ
    if not has_request_context():
        return None
    current = request._get_current_object()  # type: ignore[attr-defined]
    return current.method, current.environ
