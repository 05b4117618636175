"""What a :func:`~flask_condpoll.conditional` view declares, checked when it is
decorated so that mistakes surface at import time, not on the first request."""

from __future__ import annotations

import inspect
import typing as t
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import timedelta

from .config_values import check_ascii_value
from .config_values import check_header_names
from .config_values import check_uri_reference
from .core.polling import Poll

Generator = Callable[..., t.Any]

#: The longest a view may hold a poll (``wait=``), in seconds.
MAX_WAIT = 300

#: The furthest in the future ``expires=`` may reach: caches need no more.
MAX_EXPIRES = timedelta(days=365)
Mixin = Callable[[], object]


def is_async(func: object) -> bool:
    """Whether calling ``func`` returns a coroutine (``async def`` or ``__call__``)."""
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004
    )


class Declaration:
    """What a :func:`~flask_condpoll.conditional` view declared. Compared by
    identity; see :func:`~flask_condpoll.conditional` for the arguments."""

    __slots__ = (
        "app_mixins",
        "awaitables",
        "cache_control",
        "content_location",
        "etag",
        "expires",
        "last_modified",
        "mixins",
        "poll",
        "query",
        "require_precondition",
        "vary",
        "wait",
        "weak",
    )

    def __init__(
        self,
        etag: Generator | None = None,
        last_modified: Generator | None = None,
        *,
        weak: bool | None = None,
        vary: Sequence[str] | None = None,
        cache_control: str | None = None,
        require_precondition: bool = False,
        expires: timedelta | None = None,
        content_location: str | Generator | None = None,
        query: bool | Iterable[str] = True,
        mixins: Iterable[Mixin] = (),
        app_mixins: bool = True,
        wait: float | None = None,
        poll: float | Poll | None = None,
    ) -> None:
        if etag is None and last_modified is None:
            raise TypeError(
                "conditional() needs an 'etag' or a 'last_modified' generator:"
                " @conditional(etag=items_version)."
            )
        self.etag = _callable(etag, "etag")
        self.last_modified = _callable(last_modified, "last_modified")
        self.weak = _flag(weak, "weak", optional=True)
        self.vary = None if vary is None else check_header_names(vary, "vary")
        self.cache_control = check_ascii_value(cache_control, "cache_control")
        self.require_precondition = bool(
            _flag(require_precondition, "require_precondition")
        )
        self.expires = _expires(expires)
        if content_location is not None and not (
            isinstance(content_location, str) or callable(content_location)
        ):
            raise TypeError(
                "content_location must be a string or a callable of the view's"
                f" arguments, not {content_location!r}."
            )
        if isinstance(content_location, str):
            check_uri_reference(content_location, "content_location")
        self.content_location = content_location
        self.query = _query(query)
        if isinstance(mixins, str) or not isinstance(mixins, Iterable):
            raise TypeError(f"mixins must be a list of functions, not {mixins!r}.")
        self.mixins = tuple(_callable(m, "mixins") for m in mixins)
        self.app_mixins = bool(_flag(app_mixins, "app_mixins"))
        if wait is not None:
            if isinstance(wait, bool) or not isinstance(wait, int | float):
                raise TypeError(
                    f"wait must be the longest hold in seconds, not {wait!r}."
                )
            if not 0 < wait <= MAX_WAIT:
                raise ValueError(
                    f"wait must be above 0 and at most {MAX_WAIT} seconds,"
                    f" not {wait!r}."
                )
        self.wait = None if wait is None else float(wait)
        self.poll = Poll.of(poll)
        #: The callables whose result must be awaited.
        self.awaitables = frozenset(
            f
            for f in (etag, last_modified, content_location, *self.mixins)
            if callable(f) and is_async(f)
        )

    def check_view(self, view: Callable[..., t.Any]) -> None:
        """Check that the generators accept the keyword arguments of ``view``.

        :raises TypeError: naming the generator, the arguments and the fix.
        """
        names = view_arguments(view)
        if names is not None:
            self.check_arguments(names, repr(view.__qualname__))

    def check_arguments(self, names: Iterable[str], view: str) -> None:
        """Check that the generators accept these keyword arguments.

        :param names: the arguments the view is called with.
        :param view: the view, as the error message names it.
        :raises TypeError: naming the generator, the arguments and the fix.
        """
        names = list(names)
        for label, generator in (
            ("etag", self.etag),
            ("last_modified", self.last_modified),
            ("content_location", self.content_location),
        ):
            if not callable(generator):
                continue
            try:
                signature = inspect.signature(generator)
            except (TypeError, ValueError):
                continue  # a builtin without a signature: nothing to check
            try:
                signature.bind(**dict.fromkeys(names))
            except TypeError as exc:
                listed = ", ".join(names) or "no arguments"
                raise TypeError(
                    f"The {label} generator {generator!r} of the view {view}"
                    f" cannot be called with the view's keyword arguments"
                    f" ({listed}): {exc}. It is called with exactly the view's"
                    " arguments; give it the same parameters, or **kwargs."
                ) from None
            missing = [
                name
                for name in getattr(generator, "required_arguments", ())
                if name not in names
            ]
            if missing:
                listed = ", ".join(names) or "no arguments"
                raise TypeError(
                    f"The {label} generator {generator!r} of the view {view}"
                    f" reads the view argument(s) {', '.join(missing)}, but the"
                    f" view is called with {listed}. Name the URL variable the"
                    " same (or pass arg= to row_version, params= to"
                    " collection_version)."
                )


def view_arguments(view: Callable[..., t.Any]) -> list[str] | None:
    """The keyword arguments Flask passes to ``view``, or ``None`` if open-ended.

    A method defined in a class body (``MethodView.get``) is called bound, so
    its first parameter is not among them.
    """
    try:
        parameters = list(inspect.signature(view).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    qualname = getattr(view, "__qualname__", "")
    in_class = "." in qualname and not qualname.rsplit(".", 1)[0].endswith(">")
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    if in_class and parameters and parameters[0].kind in positional:
        parameters = parameters[1:]
    return [
        p.name
        for p in parameters
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _callable(value: t.Any, name: str) -> t.Any:
    if value is not None and not callable(value):
        raise TypeError(
            f"{name} must be a function (or another callable), not {value!r}."
        )
    return value


def _flag(value: object, name: str, *, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        allowed = "True, False or None" if optional else "True or False"
        raise TypeError(f"{name} must be {allowed}, not {value!r}.")
    return value


def _expires(expires: object) -> timedelta | None:
    if expires is None:
        return None
    if not isinstance(expires, timedelta):
        raise TypeError(
            f"expires must be a datetime.timedelta, not {expires!r}; write"
            f" expires=timedelta(seconds={expires!r})."
        )
    if not timedelta(0) <= expires <= MAX_EXPIRES:
        raise ValueError(
            f"expires must be from timedelta(0) to timedelta(days=365), not"
            f" {expires!r}: Expires is a date at most a year ahead."
        )
    return expires


def _query(query: bool | Iterable[str]) -> bool | tuple[str, ...]:
    if isinstance(query, bool):
        return query
    if isinstance(query, str) or not isinstance(query, Iterable):
        raise TypeError(
            "query must be True (the whole query string), False (none) or a"
            f" list of parameter names, not {query!r}."
        )
    names = tuple(query)
    if not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"query must list parameter names, not {query!r}.")
    return names
