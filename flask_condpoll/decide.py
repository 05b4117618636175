"""Deciding how to answer a request: run the view, answer 304, 204, 412 or
428 from the declaration, or hold an unchanged poll until its data changes."""

from __future__ import annotations

import logging
import time
import typing as t

from flask import current_app
from flask import request
from flask import Response
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import PreconditionFailed
from werkzeug.exceptions import PreconditionRequired

from .awaiting import run_parts
from .core.preconditions import conditions_from_environ
from .core.preconditions import evaluate
from .core.preconditions import EXEMPT_METHODS
from .core.preconditions import needs_precondition
from .core.preconditions import Outcome
from .core.preconditions import SAFE_METHODS
from .core.tags import UnsupportedValue
from .declaration import Declaration
from .flow import Flow
from .flow import FLOW_KEY
from .plans import plan_for
from .plans import ViewPlan
from .reasons import reason_for
from .running import RUNNING
from .state import get_state
from .validators import Awaited
from .validators import BEFORE_VIEW
from .validators import compute
from .validators import NoValidators
from .validators import REQUEST_CACHE
from .waiting import can_hold
from .waiting import hold
from .waiting import jittered
from .waiting import preferred_wait

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request

logger = logging.getLogger("flask_condpoll")


def begin(
    declaration: Declaration, kwargs: dict[str, t.Any], awaited: Awaited | None = None
) -> Response | Flow:
    """Everything before the view: a response if the view must not run, else
    the :class:`Flow` that finishes its response."""
    start = time.perf_counter()
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    flow = Flow(app, get_state(app), declaration, req, kwargs, start)
    method = flow.method
    if method in EXEMPT_METHODS:
        flow.reason = "exempt-method"
        return flow
    state = flow.state
    plan = flow.plan = plan_for(state, declaration, flow.endpoint)
    conditions = flow.conditions = conditions_from_environ(flow.environ)
    if declaration.require_precondition and needs_precondition(method, conditions):
        flow.reason = "precondition-required"
        return flow.refuse(PreconditionRequired())
    if awaited is None and plan.awaits:
        awaited = run_parts(app, declaration, plan, kwargs)
    flow.awaited = awaited
    flow.environ[FLOW_KEY] = flow
    running = RUNNING.set(flow)
    try:
        validators = compute(
            state, plan, declaration, flow.target(req), kwargs, awaited
        )
    except HTTPException as exc:
        flow.aborted(exc)
        raise
    except NoValidators:
        return flow.unvalidated()
    except UnsupportedValue as exc:
        if app.debug or app.testing:
            raise
        return flow.failed(exc)
    except Exception as exc:
        return flow.failed(exc)
    finally:
        RUNNING.reset(running)
    if state.failures.active and state.failures.succeeded(flow.endpoint):
        logger.warning("Version generator for %r works again.", flow.endpoint)
    flow.validators = validators
    flow.generated = time.perf_counter()
    outcome = evaluate(
        method,
        validators.current(declaration),
        conditions,
        require_precondition=declaration.require_precondition,
    )
    unchanged = outcome is Outcome.NOT_MODIFIED or outcome is Outcome.NO_CONTENT
    if declaration.wait is not None:
        if unchanged:
            outcome = held_outcome(flow, req, outcome)
        elif outcome is Outcome.PROCEED and method in ("GET", "HEAD"):
            # A change between two holds: answered at once, and the answer
            # says the server holds, so the client polls again at once.
            flow.held = hold_seconds(flow)
    flow.decided = time.perf_counter()
    flow.reason = reason_for(outcome, conditions, method in SAFE_METHODS)
    if outcome is Outcome.PROCEED:
        for call in flow.environ.pop(BEFORE_VIEW, {}).values():
            call()
        return flow
    if outcome is Outcome.NOT_MODIFIED or outcome is Outcome.NO_CONTENT:
        return flow.not_modified(int(outcome))
    if outcome is Outcome.PRECONDITION_FAILED:
        return flow.refuse(PreconditionFailed())
    return flow.refuse(PreconditionRequired())


def held_outcome(flow: Flow, req: Request, outcome: Outcome) -> Outcome:
    """Hold an unchanged poll that asks for it until its data changes (then
    :data:`Outcome.PROCEED` with the new validators) or the timeout."""
    seconds = hold_seconds(flow)
    if not seconds:
        return outcome
    flow.held = seconds
    declaration, state = flow.declaration, flow.state

    def changed() -> bool:
        nonlocal outcome
        flow.environ.pop(REQUEST_CACHE, None)
        running = RUNNING.set(flow)
        try:
            validators = compute(
                state, t.cast(ViewPlan, flow.plan), declaration,
                flow.target(req), flow.kwargs, flow.awaited,
            )  # fmt: skip
        except Exception:
            flow.validators, outcome = None, Outcome.PROCEED
            return True
        finally:
            RUNNING.reset(running)
        outcome = evaluate(
            flow.method, validators.current(declaration), flow.conditions
        )
        flow.validators = validators
        return outcome is Outcome.PROCEED

    names = wait_names(declaration, flow.kwargs) or ()
    recheck = state.settings.wait_recheck
    began = time.perf_counter()
    entered = hold(state.waiters, names, seconds, recheck, changed, flow.environ)
    flow.waited = time.perf_counter() - began
    if entered is None:
        flow.held = 0.0  # answered at once (the cap): the client keeps its interval
    return outcome


def hold_seconds(flow: Flow) -> float:
    """How long to hold this request: 0 when it did not ask, or cannot be."""
    asked = preferred_wait(flow.environ.get("HTTP_PREFER"))
    declaration, state = flow.declaration, flow.state
    if asked is None or flow.awaited is not None:
        return 0.0  # not asked, or an async view or part: it would block a loop
    if not can_hold(flow.environ):
        if state.failures.failed("<wait>", RuntimeError()):
            logger.warning(
                "Polls ask to be held but this server runs one request at a time"
                " per process (a sync worker): answering at once. Use threads or"
                " gevent to hold them (see the docs on waiting)."
            )
        return 0.0
    names = wait_names(declaration, flow.kwargs)
    if names is None:
        return 0.0
    registry = state.registry
    if names and (registry is None or not registry.subscribe(state.waiters.notify)):
        return 0.0
    wait = min(asked, t.cast(float, declaration.wait))
    return jittered(wait, state.settings.wait_jitter)


def wait_names(
    declaration: Declaration, kwargs: dict[str, t.Any]
) -> tuple[str, ...] | None:
    """The registry names whose bumps may change the validators; ``()`` when
    only a re-check can tell, ``None`` when a hold could never see a change."""
    names: list[str] = []
    for generator in (declaration.etag, declaration.last_modified):
        if generator is None:
            continue
        reader = getattr(generator, "wait_names", None)
        found = () if reader is None else reader(**kwargs)
        if found is None:
            return None
        names.extend(found)
    return tuple(names)
