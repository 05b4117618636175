"""The :func:`conditional` view decorator: the thin Flask glue around the core."""

from __future__ import annotations

import functools
import logging
import time
import typing as t
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from flask import Response
from werkzeug.datastructures import ETags
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import PreconditionFailed
from werkzeug.exceptions import PreconditionRequired
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.http import http_date
from werkzeug.http import parse_etags
from werkzeug.http import quote_etag

from . import signals
from .etag import TagMaker
from .extension import check_header_names
from .extension import CondPollState
from .extension import FRAGMENT_ENVIRON
from .extension import Resolved
from .preconditions import Current
from .preconditions import evaluate
from .preconditions import EXEMPT_METHODS
from .preconditions import http_datetime
from .preconditions import is_single_member
from .preconditions import is_valid_if_match
from .preconditions import Outcome
from .preconditions import SAFE_METHODS

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

logger = logging.getLogger("flask_condpoll")

Generator = Callable[..., t.Any]
F = t.TypeVar("F", bound=Callable[..., t.Any])

_G_KEY = "_condpoll_validators"


@dataclass(frozen=True, slots=True)
class Validators:
    """The validators computed for the current request, before the view ran.

    :param value: what the ``etag`` generator returned (``None`` when it
        returned ``None`` or was not declared).
    :param etag: the opaque tag sent on the wire, without quotes.
    :param weak: whether the tag is sent as weak.
    :param last_modified: what goes out in ``Last-Modified``: aware, UTC, whole
        seconds.
    """

    value: t.Any
    etag: str | None
    weak: bool
    last_modified: datetime | None

    @property
    def header(self) -> str | None:
        """The ``ETag`` header value (quoted, ``W/`` when weak), or ``None``."""
        return None if self.etag is None else quote_etag(self.etag, self.weak)


def current_validators() -> Validators | None:
    """Return the validators computed for this request, for use in the view.

    The view need not query the version again::

        @conditional(etag=items_version)
        def items(list_id):
            version = current_validators().value

    Returns ``None`` outside a :func:`conditional` view or when a generator
    failed.
    """
    return t.cast(Validators | None, g.get(_G_KEY))


class Declaration:
    """What a :func:`conditional` view declared. Compared by identity."""

    __slots__ = (
        "cache_control",
        "content_location",
        "etag",
        "expires",
        "last_modified",
        "require_precondition",
        "vary",
        "weak",
    )

    def __init__(
        self,
        etag: Generator | None,
        last_modified: Generator | None,
        weak: bool | None,
        vary: tuple[str, ...] | None,
        cache_control: str | None,
        require_precondition: bool,
        expires: timedelta | None,
        content_location: str | Generator | None,
    ) -> None:
        self.etag = etag
        self.last_modified = last_modified
        self.weak = weak
        self.vary = vary
        self.cache_control = cache_control
        self.require_precondition = require_precondition
        self.expires = expires
        self.content_location = content_location


def conditional(
    etag: Generator | None = None,
    last_modified: Generator | None = None,
    *,
    weak: bool | None = None,
    vary: t.Iterable[str] | None = None,
    cache_control: str | None = None,
    require_precondition: bool = False,
    expires: timedelta | None = None,
    content_location: str | Generator | None = None,
) -> Callable[[F], F]:
    """Answer conditional requests before the view runs.

    Place it directly above the view function and below any authentication
    decorator, so that an anonymous request never learns a version.

    :param etag: called with the view's keyword arguments; returns any
        stable value (see :func:`flask_condpoll.etag.encode`) that changes
        whenever the response would, or ``None`` when there is no current
        representation. The wire tag is a keyed hash of it, the endpoint, the
        view arguments, every mixin and the ``vary`` headers.
    :param last_modified: called with the view's keyword arguments; returns
        a datetime (naive means UTC) or ``None``.
    :param weak: send the tag as weak (``W/"..."``). Defaults to
        ``CONDPOLL_WEAK``. If-Match never matches a weak tag, so a view that
        guards writes uses ``weak=False``.
    :param vary: request headers that select a different representation;
        mixed into the tag and sent in ``Vary``. Defaults to ``CONDPOLL_VARY``.
    :param cache_control: ``Cache-Control`` for every response. Defaults to
        ``CONDPOLL_FRAGMENT_CACHE_CONTROL`` for polling requests (those with
        ``HX-Request`` or ``X-Up-Target``) and ``CONDPOLL_CACHE_CONTROL``
        for the others.
    :param require_precondition: answer ``428 Precondition Required`` to an
        unsafe method without If-Match or If-Unmodified-Since.
    :param expires: sends ``Expires`` this far in the future.
    :param content_location: a ``Content-Location`` value, or a callable of
        the view's keyword arguments that returns one.
    """
    if etag is None and last_modified is None:
        raise TypeError("conditional() needs an 'etag' or 'last_modified' generator.")
    declaration = Declaration(
        etag=etag,
        last_modified=last_modified,
        weak=weak,
        vary=None if vary is None else check_header_names(vary, "vary"),
        cache_control=cache_control,
        require_precondition=require_precondition,
        expires=expires,
        content_location=content_location,
    )

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(**kwargs: t.Any) -> t.Any:
            return _handle(declaration, view, kwargs)

        wrapper.condpoll = declaration  # type: ignore[attr-defined]
        return t.cast(F, wrapper)

    return decorator


def _state(app: t.Any) -> CondPollState:
    try:
        return t.cast(CondPollState, app.extensions["condpoll"])
    except KeyError:
        raise RuntimeError(
            "The current Flask app has no 'CondPoll' extension. Create one with"
            " 'CondPoll(app)' or call 'init_app(app)' before serving conditional"
            " views."
        ) from None


def _handle(
    declaration: Declaration, view: Callable[..., t.Any], kwargs: dict[str, t.Any]
) -> Response:
    start = time.perf_counter()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    method = request.method
    if method in EXEMPT_METHODS:
        return app.make_response(app.ensure_sync(view)(**kwargs))  # type: ignore[no-any-return]
    state = _state(app)
    settings = state.resolve(declaration)
    tags = state.tags
    environ = request.environ
    try:
        validators = _compute(
            tags,
            state.mixins,
            declaration,
            settings,
            request.endpoint,
            kwargs,
            [environ.get(key) for key in settings.vary_environ],
        )
    except Exception as exc:
        _log_failure(state, exc)
        if signals.generator_failed.receivers:
            _send(signals.generator_failed, app, 0, 0, start, exception=exc)
        if method not in SAFE_METHODS and _has_write_precondition(declaration):
            # Failing open here would let a write through unchecked.
            raise ServiceUnavailable(
                "The precondition could not be evaluated. Try again later."
            ) from exc
        return _run_view(app, view, kwargs, start, None, settings, declaration)
    if state.failing:
        _log_recovery(state)
    g._condpoll_validators = validators

    outcome = evaluate(
        method,
        Current(
            exists=validators.value is not None
            if declaration.etag is not None
            else validators.last_modified is not None,
            etag=validators.etag,
            weak=validators.weak,
            last_modified=validators.last_modified,
        ),
        if_match=_if_match(environ),
        if_none_match=_if_none_match(environ),
        if_modified_since=_date(environ, "HTTP_IF_MODIFIED_SINCE"),
        if_unmodified_since=_date(environ, "HTTP_IF_UNMODIFIED_SINCE"),
        ptag=_ptag(environ),
        require_precondition=declaration.require_precondition,
    )
    if outcome is Outcome.PROCEED:
        return _run_view(app, view, kwargs, start, validators, settings, declaration)
    if outcome is Outcome.NOT_MODIFIED:
        response = app.response_class(status=304)
        _declared_headers(response, validators, settings, declaration, kwargs)
        if signals.not_modified_sent.receivers:
            _send(signals.not_modified_sent, app, 304, 0, start)
        return response  # type: ignore[no-any-return]
    error: HTTPException = (
        PreconditionFailed()
        if outcome is Outcome.PRECONDITION_FAILED
        else PreconditionRequired()
    )
    response = app.make_response(app.handle_http_exception(error))
    if signals.precondition_failed_sent.receivers:
        _send(
            signals.precondition_failed_sent,
            app,
            response.status_code,
            _body_size(response),
            start,
        )
    return response  # type: ignore[no-any-return]


def validators_for(
    endpoint: str,
    view_args: Mapping[str, t.Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Validators | None:
    """Compute the validators that a request to a conditional view would get.

    A page uses it to render each polled fragment's current tag into the
    HTML, so that the first poll can already be a 304. Inside that view's own
    request, with the same arguments and ``vary`` headers, it returns the
    validators already computed.

    :param endpoint: the conditional view's endpoint.
    :param view_args: its keyword arguments, as its URL rule would give them.
    :param headers: the request headers the poll will carry (those named in
        its ``vary`` matter), such as ``{"HX-Request": "true"}``.
    :raises ValueError: if ``endpoint`` is not a conditional view.
    """
    state = _state(current_app)
    view = current_app.view_functions.get(endpoint)
    declaration: Declaration | None = getattr(view, "condpoll", None)
    if declaration is None:
        raise ValueError(f"{endpoint!r} is not a view decorated with @conditional.")
    settings = state.resolve(declaration)
    args = dict(view_args or {})
    lookup = Headers(dict(headers or {}))
    vary_values = [lookup.get(name) for name in settings.vary]
    if (
        has_request_context()
        and request.endpoint == endpoint
        and request.view_args == args
        and vary_values == [request.environ.get(k) for k in settings.vary_environ]
    ):
        computed = current_validators()
        if computed is not None:
            return computed
    return _compute(
        state.tags, state.mixins, declaration, settings, endpoint, args, vary_values
    )


def _compute(
    tags: TagMaker,
    mixins: list[Callable[[], object]],
    declaration: Declaration,
    settings: Resolved,
    endpoint: str | None,
    kwargs: Mapping[str, t.Any],
    vary_values: list[str | None],
) -> Validators:
    """Run the generators and mixins and build the tag."""
    value = None if declaration.etag is None else declaration.etag(**kwargs)
    modified = (
        None
        if declaration.last_modified is None
        else declaration.last_modified(**kwargs)
    )
    if modified is not None:
        if not isinstance(modified, datetime):
            raise TypeError(
                "A 'last_modified' generator must return a datetime or None,"
                f" not {modified!r}."
            )
        modified = http_datetime(modified)
    tag = None
    if value is not None:
        tag = tags.make(
            endpoint,
            kwargs,
            value,
            [mixin() for mixin in mixins],
            vary_values,
        )
    return Validators(value, tag, settings.weak, modified)


def _log_failure(state: CondPollState, exc: Exception) -> None:
    """Log a generator failure once per endpoint and kind of error, not once
    per request: an outage would otherwise log a traceback per poll."""
    key = (request.endpoint, type(exc))
    if key not in state.failing:
        state.failing.add(key)
        logger.exception(
            "Version generator failed for %r; answering in full until it recovers.",
            request.endpoint,
        )


def _log_recovery(state: CondPollState) -> None:
    endpoint = request.endpoint
    recovered = {key for key in state.failing if key[0] == endpoint}
    if recovered:
        state.failing.difference_update(recovered)
        logger.warning("Version generator for %r works again.", endpoint)


def _has_write_precondition(declaration: Declaration) -> bool:
    headers = request.headers
    return (
        declaration.require_precondition
        or "If-Match" in headers
        or "If-Unmodified-Since" in headers
        or "If-None-Match" in headers
    )


def _if_match(environ: WSGIEnvironment) -> ETags | None:
    raw = environ.get("HTTP_IF_MATCH")
    if raw is None:
        return None
    # A malformed If-Match must fail, not be read leniently: an empty ETags
    # matches nothing.
    return request.if_match if is_valid_if_match(raw) else ETags()


def _if_none_match(environ: WSGIEnvironment) -> ETags | None:
    if "HTTP_IF_NONE_MATCH" not in environ:
        return None
    return request.if_none_match


def _ptag(environ: WSGIEnvironment) -> ETags | None:
    raw = environ.get("HTTP_HX_PTAG")
    return None if raw is None else parse_etags(raw)


def _date(environ: WSGIEnvironment, key: str) -> datetime | None:
    raw = environ.get(key)
    if raw is None or not is_single_member(raw):
        return None
    value = (
        request.if_modified_since
        if key == "HTTP_IF_MODIFIED_SINCE"
        else request.if_unmodified_since
    )
    return None if value is None else http_datetime(value)


def _run_view(
    app: t.Any,
    view: Callable[..., t.Any],
    kwargs: dict[str, t.Any],
    start: float,
    validators: Validators | None,
    settings: Resolved,
    declaration: Declaration,
) -> Response:
    response: Response = app.make_response(app.ensure_sync(view)(**kwargs))
    validated = (
        validators is not None
        and request.method in SAFE_METHODS
        and 200 <= response.status_code < 300
    )
    if validated:
        assert validators is not None
        if validators.etag is not None:
            response.set_etag(validators.etag, weak=validators.weak)
        if validators.last_modified is not None:
            response.last_modified = validators.last_modified
        _declared_headers(response, validators, settings, declaration, kwargs)
    if signals.full_response_sent.receivers:
        _send(
            signals.full_response_sent,
            app,
            response.status_code,
            _body_size(response),
            start,
            validated=validated,
        )
    return response


def _declared_headers(
    response: Response,
    validators: Validators,
    settings: Resolved,
    declaration: Declaration,
    kwargs: dict[str, t.Any],
) -> None:
    """Set the headers that a 200 and its 304 both carry (RFC 9110 §15.4.5)."""
    headers = response.headers
    environ = request.environ
    fresh = response.status_code == 304  # built here, not by the view
    if validators.etag is not None:
        tag = validators.header
        if fresh:
            headers["ETag"] = tag
        if "HTTP_HX_REQUEST" in environ:
            headers["HX-PTag"] = tag
    if settings.vary:
        if fresh:
            headers["Vary"] = settings.vary_header
        else:
            response.vary.update(settings.vary)
    fragment = any(key in environ for key in FRAGMENT_ENVIRON)
    cache_control = (
        settings.fragment_cache_control if fragment else settings.cache_control
    )
    if cache_control:
        headers["Cache-Control"] = cache_control
    if declaration.expires is not None:
        headers["Expires"] = http_date(
            time.time() + declaration.expires.total_seconds()
        )
    location = declaration.content_location
    if location is not None:
        headers["Content-Location"] = (
            location if isinstance(location, str) else location(**kwargs)
        )


def _body_size(response: Response) -> int:
    if request.method == "HEAD":
        return 0
    return response.calculate_content_length() or 0


def _send(
    signal: t.Any, app: t.Any, status: int, size: int, start: float, **extra: t.Any
) -> None:
    signal.send(
        app,
        endpoint=request.endpoint,
        method=request.method,
        status=status,
        size=size,
        elapsed=time.perf_counter() - start,
        **extra,
    )
