"""Validators from inside a conditional view's request: the ones computed
before the view ran, and a write's new ones."""

from __future__ import annotations

import logging
import typing as t

from flask import has_request_context
from flask import request
from werkzeug.exceptions import HTTPException

from .awaiting import run_parts
from .core.tags import UnsupportedValue
from .flow import Flow
from .flow import FLOW_KEY
from .validators import compute
from .validators import NoValidators
from .validators import REQUEST_CACHE
from .validators import Validators

logger = logging.getLogger("flask_condpoll")


def current_flow() -> Flow | None:
    """The current request's :class:`~flask_condpoll.flow.Flow`, if a
    conditional view handles it and its generators ran (``validators`` is
    ``None`` when they failed); ``None`` outside a request."""
    if not has_request_context():
        return None
    return t.cast(Flow | None, request.environ.get(FLOW_KEY))


def current_validators() -> Validators | None:
    """Return the validators computed for this request, for use in the view.

    The view need not query the version again::

        @app.get("/lists/<int:list_id>/summary")
        @conditional(etag=items_version)
        def summary(list_id):
            count, changed = current_validators().value  # what items_version returned
            return {"items": count, "changed": changed}

    Returns ``None`` outside a :func:`~flask_condpoll.conditional` view (and
    outside any request) or when a generator failed. After
    :func:`refresh_validators`, returns the refreshed ones (or, if that
    failed, the ones computed before the view).
    """
    flow = current_flow()
    if flow is None:
        return None
    return flow.refreshed or flow.validators


def refresh_validators() -> Validators | None:
    """Compute this request's validators again and send them with the response.

    Call it in a write view once the change is visible to the generators, so
    that the client can make its next conditional write without a GET in
    between. With query versions, call it after ``flush()`` and before
    ``commit()``: the generators then read the request's own transaction,
    and the tag describes exactly what this write produced. ::

        @app.put("/docs/<int:doc_id>")
        @conditional(etag=row_version(Doc, arg="doc_id"), require_precondition=True)
        def put_doc(doc_id):
            doc = db.get_or_404(Doc, doc_id)
            doc.body = request.get_json()["body"]
            db.session.flush()
            refresh_validators()  # read in the write's own transaction
            db.session.commit()
            return {"body": doc.body}

    The new ``ETag`` (and ``Last-Modified``) go out on a 2xx response. RFC
    9110 §9.3.4 allows them on a PUT response only when the stored
    representation is exactly the request's content.

    A generator that fails now never fails the write: the response goes out
    without a new tag, and ``None`` is returned. As before the view, a
    :class:`~flask_condpoll.NoValidators` or an
    :class:`~werkzeug.exceptions.HTTPException` is not logged, any other
    exception is logged once per outage and sent as
    :data:`~flask_condpoll.signals.generator_failed`, and a value that cannot
    go into a tag raises in debug and testing mode.

    :returns: the new validators, or ``None`` when a generator failed.
    :raises RuntimeError: outside a :func:`~flask_condpoll.conditional` view.
    """
    flow = current_flow()
    if flow is None or flow.plan is None:
        raise RuntimeError(
            "refresh_validators() works inside a @conditional view only."
        )
    request.environ.pop(REQUEST_CACHE, None)
    flow.refreshed = None
    plan, declaration, app = flow.plan, flow.declaration, flow.app
    try:
        awaited = (
            run_parts(app, declaration, plan, flow.kwargs) if plan.awaits else None
        )
        flow.refreshed = compute(
            flow.state,
            plan,
            declaration,
            flow.target(request._get_current_object()),  # type: ignore[attr-defined]
            flow.kwargs,
            awaited,
        )
    except (NoValidators, HTTPException):
        pass
    except UnsupportedValue as exc:
        if app.debug or app.testing:
            raise
        _refresh_failed(flow, exc)
    except Exception as exc:
        _refresh_failed(flow, exc)
    return flow.refreshed


def _refresh_failed(flow: Flow, exc: Exception) -> None:
    if flow.state.failures.failed(flow.endpoint, exc):
        logger.error(
            "Version generator failed for %r in refresh_validators(); the"
            " response goes out without a new tag.",
            flow.endpoint,
            exc_info=exc,
        )
    flow.generator_failed(exc)
