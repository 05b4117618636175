"""The headers a conditional response carries, on the 200 and on its 304."""

from __future__ import annotations

import logging
import time
import typing as t
from collections.abc import Callable
from collections.abc import Mapping
from datetime import timedelta

from flask import Response
from werkzeug.http import http_date

from .config_values import check_uri_reference
from .plans import FRAGMENT_ENVIRON
from .plans import ViewPlan
from .validators import Awaited
from .validators import call
from .validators import Validators

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.datastructures import Headers

    from .state import CondPollState

logger = logging.getLogger("flask_condpoll")


def add_declared_headers(
    response: Response,
    validators: Validators | None,
    plan: ViewPlan,
    environ: WSGIEnvironment,
    *,
    expires: timedelta | None,
    location: str | None,
    fresh: bool,
) -> None:
    """Set the headers that a 200 and its 304 both carry (RFC 9110 §15.4.5).

    :param expires: the view's ``expires=``.
    :param location: its ``Content-Location`` value, if any.
    :param fresh: the response was built here (a 304 or 204), not by the view:
        ``Vary`` is set rather than merged with the view's (if it has one).
    """
    headers = response.headers
    if validators is not None and "HTTP_HX_REQUEST" in environ:
        tag = validators.header
        if tag is not None:
            headers["HX-PTag"] = tag
    if plan.vary:
        if fresh or not has_header(headers, "Vary"):
            headers["Vary"] = plan.vary_header
        else:
            response.vary.update(plan.vary)
    cache_control = (
        plan.fragment_cache_control if polled(environ) else plan.cache_control
    )
    if cache_control:
        headers["Cache-Control"] = cache_control
    if expires is not None:
        headers["Expires"] = http_date(time.time() + expires.total_seconds())
    if location is not None:
        headers["Content-Location"] = location


def polled(environ: WSGIEnvironment) -> bool:
    """Whether the request comes from htmx or Unpoly (a fragment's poll)."""
    return not environ.keys().isdisjoint(FRAGMENT_ENVIRON)


def has_header(headers: Headers, name: str) -> bool:
    """``name in headers``, without the exception Werkzeug raises and catches
    for every header a response does not have."""
    lowered = name.lower()
    return any(key.lower() == lowered for key, _ in headers)


def content_location(
    location: Callable[..., t.Any],
    kwargs: Mapping[str, t.Any],
    awaited: Awaited | None,
    *,
    state: CondPollState,
    endpoint: str | None,
    strict: bool,
) -> str | None:
    """Call a view's ``content_location`` callable for ``Content-Location``.

    It is left out, never a 500, when the callable raises or returns a value
    that cannot be sent (a line break decoded from the URL, say); each is
    logged once per outage. A value that is not a string is a programming
    error: with ``strict`` (debug and testing mode) it raises
    :class:`TypeError`.
    """
    failures = state.failures
    label = f"content_location of {endpoint!r}"
    try:
        value = call(location, kwargs, awaited)
    except Exception as exc:
        if failures.failed(label, exc):
            logger.error(
                "%s failed; responses go out without Content-Location until it"
                " recovers.",
                label,
                exc_info=exc,
            )
        return None
    try:
        checked = check_uri_reference(value, "content_location")
    except TypeError as exc:
        if strict:
            raise
        if failures.failed(label, exc):
            logger.error("%s left out: %s", label, exc)
        return None
    except ValueError as exc:
        if failures.failed(label, exc):
            logger.warning("%s cannot be sent, left out: %s", label, exc)
        return None
    if failures.active:
        failures.succeeded(label)
    return checked


def body_size(response: Response, method: str) -> int | None:
    """The body's length, or ``None`` when it is streamed (never consumed here)."""
    if method == "HEAD":
        return 0
    if response.is_streamed:
        return response.content_length
    return response.calculate_content_length()
