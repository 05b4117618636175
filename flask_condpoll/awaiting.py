"""Async generators and mixins: awaited in an async view's event loop, or run
through Flask's ``async_to_sync`` for a sync view (and for a sync function
called from an async view)."""

from __future__ import annotations

import asyncio
import contextvars
import typing as t
from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from flask import Flask
from flask import request

from .core.preconditions import EXEMPT_METHODS
from .declaration import Declaration
from .declaration import is_async
from .plans import plan_for
from .plans import ViewPlan
from .state import get_state


def _parts(
    declaration: Declaration, plan: ViewPlan, kwargs: dict[str, t.Any]
) -> list[tuple[t.Any, dict[str, t.Any]]]:
    """The async generators and mixins of a request, with their arguments."""
    parts = [(f, kwargs) for f in declaration.awaitables if f not in declaration.mixins]
    parts += [(m, {}) for m in plan.mixins if is_async(m)]
    return parts


def run_parts(
    app: Flask, declaration: Declaration, plan: ViewPlan, kwargs: dict[str, t.Any]
) -> dict[object, object]:
    """Run a sync view's async generators and mixins through Flask.

    Called from an event loop (an async view calling
    :func:`~flask_condpoll.refresh_validators`), they run in a worker thread
    with this request's context, as Flask's ``async_to_sync`` cannot run
    inside a loop; the view waits for them.
    """
    if not _in_event_loop():
        return _run_parts(app, declaration, plan, kwargs)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as worker:
        job = worker.submit(context.run, _run_parts, app, declaration, plan, kwargs)
        return job.result()


def _run_parts(
    app: Flask, declaration: Declaration, plan: ViewPlan, kwargs: dict[str, t.Any]
) -> dict[object, object]:
    results: dict[object, object] = {}
    for func, arguments in _parts(declaration, plan, kwargs):
        try:
            results[func] = app.async_to_sync(_awaiting)(func, arguments)
        except Exception as exc:
            results[func] = exc
    return results


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def await_parts(
    declaration: Declaration, kwargs: dict[str, t.Any]
) -> dict[object, object]:
    """Await an async view's async generators and mixins."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    if request.method in EXEMPT_METHODS:
        return {}
    plan = plan_for(state, declaration, request.endpoint)
    results: dict[object, object] = {}
    for func, arguments in _parts(declaration, plan, kwargs):
        try:
            results[func] = await func(**arguments)
        except Exception as exc:
            results[func] = exc
    return results


async def _awaiting(func: t.Any, arguments: dict[str, t.Any]) -> t.Any:
    return await func(**arguments)
