"""One request through a conditional view: read the fields, run the
generators, evaluate the preconditions, then answer from the declaration or
finish the view's response.

(Longer than most modules on purpose: it is the one path of a request, from
the fields to the response, and splitting it would scatter that order.)
"""

from __future__ import annotations

import logging
import time
import typing as t

from flask import Response
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import ServiceUnavailable

from . import signals
from .core.preconditions import NO_CONDITIONS
from .core.preconditions import SAFE_METHODS
from .declaration import Declaration
from .plans import ViewPlan
from .responses import add_declared_headers
from .responses import body_size
from .responses import content_location
from .state import CondPollState
from .validators import Awaited
from .validators import query_part
from .validators import stripped
from .validators import Target
from .validators import Validators

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request

logger = logging.getLogger("flask_condpoll")

#: The WSGI environ key holding the current request's :class:`Flow`.
FLOW_KEY = "condpoll.flow"


class Flow:
    """One request through a conditional view, from the generators to the response."""

    __slots__ = (
        "app",
        "awaited",
        "conditions",
        "decided",
        "declaration",
        "endpoint",
        "environ",
        "generated",
        "held",
        "kwargs",
        "method",
        "plan",
        "reason",
        "refreshed",
        "start",
        "state",
        "validators",
        "waited",
    )

    def __init__(
        self,
        app: Flask,
        state: CondPollState,
        declaration: Declaration,
        request: Request,
        kwargs: dict[str, t.Any],
        start: float,
    ) -> None:
        self.app = app
        self.state = state
        self.declaration = declaration
        self.environ = request.environ
        self.method = request.method
        self.endpoint = request.endpoint
        self.kwargs = kwargs
        self.start = start
        self.plan: ViewPlan | None = None
        self.conditions = NO_CONDITIONS
        self.validators: Validators | None = None
        self.refreshed: Validators | None = None
        self.awaited: Awaited | None = None
        #: Why this answer: one of :data:`~flask_condpoll.reasons.REASONS`.
        self.reason = "unconditional"
        #: ``time.perf_counter()`` when the generators had run, and when the
        #: decision was made (0.0 until then).
        self.generated = self.decided = 0.0
        #: Seconds this request was allowed to be held (``Prefer: wait``).
        self.held = 0.0
        #: Seconds it was held: left out of ``elapsed``, the server's work.
        self.waited = 0.0

    def target(self, request: Request) -> Target:
        """What identifies this request's representation (see :class:`Target`)."""
        environ = self.environ
        plan: ViewPlan = self.plan  # type: ignore[assignment]
        selection = self.declaration.query
        vary: tuple[str | None, ...]
        if environ.keys().isdisjoint(plan.vary_environ):
            vary = plan.no_vary  # the usual request: none of the headers
        else:
            vary = tuple([stripped(environ.get(key)) for key in plan.vary_environ])
        return Target(
            environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
            query_part(
                selection,
                environ.get("QUERY_STRING", ""),
                None if isinstance(selection, bool) else request.args,
            ),
            vary,
        )

    def failed(self, exc: Exception) -> Response | Flow:
        """A generator or mixin raised: log once, then fail open, or refuse a
        write whose precondition cannot be checked."""
        if self.state.failures.failed(self.endpoint, exc):
            logger.error(
                "Version generator failed for %r; answering in full until it recovers.",
                self.endpoint,
                exc_info=exc,
            )
        self.generator_failed(exc)
        return self.unvalidated("generator-failed")

    def generator_failed(self, exc: Exception) -> None:
        """Count a failed generator or mixin and tell the signal's receivers."""
        stats = self.state.stats
        if stats is not None:
            stats.count_generator_failed(self.endpoint)
        if signals.generator_failed.receivers:
            self.send(signals.generator_failed, 0, None, exception=exc)

    def unvalidated(self, reason: str = "no-validators") -> Response | Flow:
        """Go on without validators, or refuse a write whose precondition
        cannot be checked."""
        self.reason = reason
        self.generated = self.decided = time.perf_counter()
        if self.method not in SAFE_METHODS and (
            self.declaration.require_precondition or self.conditions.guards_write
        ):
            # Failing open would run the write without checking its precondition.
            error = ServiceUnavailable(
                "The precondition could not be evaluated. Try again later.",
                retry_after=1,
            )
            self.reason = "unverifiable-write"
            return self.refuse(error)
        return self

    def refuse(self, error: HTTPException) -> Response:
        """Answer with ``error`` through the app's error handlers."""
        app = self.app
        response: Response = app.make_response(app.handle_http_exception(error))
        self.hooks(response)
        stats, receivers = self.state.stats, signals.precondition_failed_sent.receivers
        if stats is not None or receivers:
            status, size = response.status_code, body_size(response, self.method)
            if stats is not None:
                stats.count_refused(self.endpoint, self.method, status, size)
            if receivers:
                self.send(signals.precondition_failed_sent, status, size)
        return response

    def not_modified(self, status: int) -> Response:
        """The body-less 304 (or 204) that stands for the 200."""
        response: Response = self.app.response_class(status=status)
        validators: Validators = self.validators  # type: ignore[assignment]
        headers = response.headers
        tag = validators.header
        if tag is not None:
            headers["ETag"] = tag
        self.declare(response, validators, fresh=True)
        if status == 204:
            # Cacheable by default (RFC 9110 §15.3.5): a shared cache would
            # send the empty answer to pollers that have no copy to keep.
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        self.hooks(response)
        stats = self.state.stats
        if stats is not None:
            stats.count_not_modified(self.endpoint, self.elapsed())
        if signals.not_modified_sent.receivers:
            self.send(signals.not_modified_sent, status, 0)
        return response

    def finish(self, rv: t.Any) -> Response:
        """Make the view's return value a response; add validators to a 2xx."""
        response: Response = self.app.make_response(rv)
        validated = False
        if 200 <= response.status_code < 300 and self.plan is not None:
            validators = self.refreshed or self.validators
            if self.method in SAFE_METHODS:
                self.declare(response, validators, fresh=False)
                validated = validators is not None
            if validators is not None and (validated or self.refreshed is not None):
                if validators.etag is not None:
                    response.set_etag(validators.etag, weak=validators.weak)
                if validators.last_modified is not None:
                    response.last_modified = validators.last_modified
        self.hooks(response)
        stats, receivers = self.state.stats, signals.full_response_sent.receivers
        if stats is not None or receivers:
            status, size = response.status_code, body_size(response, self.method)
            if stats is not None:
                stats.count_full(
                    self.endpoint, self.method, size, validated, self.elapsed()
                )
            if receivers:
                self.send(signals.full_response_sent, status, size, validated=validated)
        return response

    def declare(
        self, response: Response, validators: Validators | None, *, fresh: bool
    ) -> None:
        """Add the declared headers (see :func:`.responses.add_declared_headers`)."""
        declaration = self.declaration
        location = declaration.content_location
        if location is not None and not isinstance(location, str):
            location = content_location(
                location, self.kwargs, self.awaited, state=self.state,
                endpoint=self.endpoint, strict=self.app.debug or self.app.testing,
            )  # fmt: skip
        add_declared_headers(
            response, validators, self.plan, self.environ,  # type: ignore[arg-type]
            expires=declaration.expires, location=location, fresh=fresh,
        )  # fmt: skip

    def hooks(self, response: Response) -> None:
        """Let the app's response hooks (``CondPollState.response_hooks``)
        add to a response this flow answers with."""
        if self.held:
            response.headers["Preference-Applied"] = f"wait={round(self.held)}"
        for hook in self.state.response_hooks:
            hook(self, response)

    def aborted(self, exc: BaseException) -> None:
        """The view, a generator or a mixin raised instead of returning."""
        stats = self.state.stats
        if stats is not None:
            stats.count_aborted(self.endpoint, self.method)
        if signals.request_aborted.receivers:
            self.send(signals.request_aborted, aborted_status(exc), None, exception=exc)

    def send(
        self, signal: t.Any, status: int, size: int | None, **extra: t.Any
    ) -> None:
        signal.send(
            self.app,
            endpoint=self.endpoint,
            method=self.method,
            status=status,
            size=size,
            elapsed=self.elapsed(),
            **extra,
        )

    def elapsed(self) -> float:
        """Seconds of server work so far: a held poll's wait left out."""
        return time.perf_counter() - self.start - self.waited


def aborted_status(exc: BaseException) -> int:
    """The status an exception raised by a view is answered with: an
    ``HTTPException``'s code, or its response's (``abort(response)``), else 500."""
    if isinstance(exc, HTTPException):
        if exc.code is not None:
            return exc.code
        if exc.response is not None:
            return exc.response.status_code
    return 500
