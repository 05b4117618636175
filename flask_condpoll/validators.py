"""Running a view's generators and mixins into :class:`Validators`.

The tag is a keyed hash of what identifies the representation: the target
URI (path and, unless the view narrows it, query string), the generator's
value, every mixin's value and the ``vary`` header values. Not the endpoint:
two view functions serving one URL (``@app.get`` and ``@app.put``) agree on
the tag, or If-Match could never pass.
"""

from __future__ import annotations

import time
import typing as t
from collections.abc import Mapping
from datetime import datetime
from datetime import UTC

from .core.preconditions import Current
from .core.preconditions import http_datetime
from .core.tags import UnsupportedValue
from .declaration import Declaration

if t.TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

    from .plans import ViewPlan
    from .state import CondPollState

#: Results of async generators and mixins, awaited before the flow runs.
Awaited = Mapping[object, object]

#: The WSGI environ key of a per-request cache that generators may use (the
#: SQLAlchemy ones keep their query's row there). Cleared by
#: :func:`~flask_condpoll.refresh_validators`.
REQUEST_CACHE = "condpoll.cache"


#: The WSGI environ key of the callables to call once the decision is to run
#: the view, before it runs (see :func:`before_view`).
BEFORE_VIEW = "condpoll.before_view"


def before_view(
    environ: dict[str, t.Any], key: object, call: t.Callable[[], t.Any]
) -> None:
    """Call ``call`` once the view is going to run, before it does; once per
    ``key`` and request. A generator uses it to make the view read data at
    least as new as the version it read (see :mod:`.sqlalchemy.snapshots`)."""
    environ.setdefault(BEFORE_VIEW, {}).setdefault(key, call)


def request_cache(environ: dict[str, t.Any]) -> dict[object, t.Any]:
    """This request's cache (see :data:`REQUEST_CACHE`), created on first use."""
    cache: dict[object, t.Any] | None = environ.get(REQUEST_CACHE)
    if cache is None:
        cache = environ[REQUEST_CACHE] = {}
    return cache


def stripped(value: str | None) -> str | None:
    """A header value without the optional whitespace around it (RFC 9110 §5.5)."""
    return None if value is None else value.strip(" \t")


class NoValidators(Exception):
    """Raised by a generator that cannot give a trustworthy version for this
    request (not an outage): the request is answered without validators, and
    a write that carries a precondition gets 503. Nothing is logged."""


class Validators(t.NamedTuple):
    """The validators computed for the current request, before the view ran.

    :param value: what the ``etag`` generator returned (``None`` when it
        returned ``None`` or was not declared).
    :param etag: the opaque tag sent on the wire, without quotes.
    :param weak: whether the tag is sent as weak.
    :param last_modified: what goes out in ``Last-Modified``: aware, UTC, whole
        seconds, never later than the time it was computed.
    """

    value: t.Any
    etag: str | None
    weak: bool
    last_modified: datetime | None

    @property
    def header(self) -> str | None:
        """The ``ETag`` header value (quoted, ``W/`` when weak), or ``None``."""
        etag = self.etag
        if etag is None:
            return None
        # A tag is URL-safe base64 (see TagMaker): nothing in it needs quoting.
        return f'W/"{etag}"' if self.weak else f'"{etag}"'

    def current(self, declaration: Declaration) -> Current:
        """These validators as the pure core's :class:`Current`."""
        exists = (
            self.value is not None
            if declaration.etag is not None
            else self.last_modified is not None
        )
        return Current(exists, self.etag, self.weak, self.last_modified)


class Target(t.NamedTuple):
    """What identifies the requested representation, besides the data.

    :param path: ``SCRIPT_NAME`` + ``PATH_INFO``, as the WSGI server decoded them.
    :param query: the part of the query string in the tag, per the view's
        ``query=`` (the raw string, selected parameters, or ``None``).
    :param vary: the values of the view's ``vary`` headers, stripped.
    """

    path: str
    query: object
    vary: tuple[str | None, ...]


def query_part(
    selection: bool | tuple[str, ...], raw: str, args: MultiDict[str, str] | None
) -> object:
    """The query string's share of the tag, per a view's ``query=``."""
    if selection is True:
        return raw
    if selection is False:
        return None
    assert args is not None
    return tuple(tuple(args.getlist(name)) for name in selection)


def call(func: t.Any, kwargs: Mapping[str, t.Any], awaited: Awaited | None) -> t.Any:
    """Call a generator or mixin, using its awaited result where there is one."""
    if awaited is not None and func in awaited:
        result = awaited[func]
        if isinstance(result, BaseException):
            raise result
        return result
    return func(**kwargs)


def compute(
    state: CondPollState,
    plan: ViewPlan,
    declaration: Declaration,
    target: Target,
    kwargs: Mapping[str, t.Any],
    awaited: Awaited | None = None,
) -> Validators:
    """Run the generators and mixins and build the tag.

    :raises UnsupportedValue: when a generator or mixin returns a value that
        cannot go into a tag or a date (a programming error).
    """
    etag, last_modified = declaration.etag, declaration.last_modified
    if awaited is None:  # the usual case: no async part, nothing awaited
        value = None if etag is None else etag(**kwargs)
        modified = None if last_modified is None else last_modified(**kwargs)
    else:
        value = None if etag is None else call(etag, kwargs, awaited)
        modified = (
            None if last_modified is None else call(last_modified, kwargs, awaited)
        )
    if modified is not None:
        modified = last_modified_value(modified, declaration)
    tag = None
    if value is not None:
        if awaited is None:
            mixins = [mixin() for mixin in plan.mixins]
        else:
            mixins = [call(mixin, {}, awaited) for mixin in plan.mixins]
        tag = state.tags.make(
            target.path, target.query, value, mixins, representation=target.vary
        )
    return Validators(value, tag, plan.weak, modified)


def last_modified_value(value: object, declaration: Declaration) -> datetime | None:
    """Check a ``last_modified`` result; return it as sent, capped at now.

    RFC 9110 §8.8.2.1: a Last-Modified later than the response's Date is
    replaced by the Date.
    """
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise UnsupportedValue(
            f"The last_modified generator {declaration.last_modified!r} returned"
            f" {value!r}: it must return a datetime (naive means UTC) or None."
        )
    modified = http_datetime(value)
    now = datetime.fromtimestamp(int(time.time()), UTC)
    return now if modified > now else modified
