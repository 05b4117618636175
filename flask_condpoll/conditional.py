"""The :func:`conditional` view decorator: declares validators and wraps the
view in a :class:`~flask_condpoll.flow.Flow` per request."""

from __future__ import annotations

import functools
import typing as t
import weakref
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import timedelta

from .awaiting import await_parts
from .core.polling import Poll
from .decide import begin
from .declaration import Declaration
from .declaration import Generator
from .declaration import is_async
from .declaration import Mixin
from .flow import Flow

F = t.TypeVar("F", bound=Callable[..., t.Any])

#: Original view functions that :func:`conditional` wrapped: finding one of
#: them registered as a view means the decorators are in the wrong order.
decorated_views: weakref.WeakSet[Callable[..., t.Any]] = weakref.WeakSet()

# Attributes Flask reads from a view function when it is registered.
_VIEW_ATTRIBUTES = frozenset(
    ("__name__", "methods", "required_methods", "provide_automatic_options")
)


def conditional(
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
) -> ConditionalDecorator:
    """Answer conditional requests before the view runs.

    Place it directly above the view function, below the route decorator and
    any authentication decorator, so that an anonymous request never learns a
    version::

        @app.get("/lists/<int:list_id>/items")
        @login_required
        @conditional(etag=items_version)
        def items(list_id): ...

    :param etag: called with the view's keyword arguments; returns any
        stable value (see :func:`flask_condpoll.core.tags.encode`) that changes
        whenever the response would, or ``None`` when there is no current
        representation. May be ``async def``. The wire tag is a keyed hash of
        it, the target URI, every mixin and the ``vary`` headers.
    :param last_modified: called with the view's keyword arguments; returns
        a datetime (naive means UTC) or ``None``.
    :param weak: send the tag as weak (``W/"..."``). Defaults to
        ``CONDPOLL_WEAK``, which by default means weak unless a conditional
        view of the same URL takes writes: If-Match compares strongly, so
        such a URL gets strong tags.
    :param vary: a list of request headers that select a different
        representation; mixed into the tag, in order, and sent in ``Vary``.
        Defaults to ``CONDPOLL_VARY``.
    :param cache_control: ``Cache-Control`` for every response, in visible
        ASCII. Defaults to ``CONDPOLL_FRAGMENT_CACHE_CONTROL`` for polling
        requests (those with ``HX-Request`` or ``X-Up-Target``) and
        ``CONDPOLL_CACHE_CONTROL`` for the others.
    :param require_precondition: answer ``428 Precondition Required`` to an
        unsafe method without If-Match, If-None-Match or If-Unmodified-Since.
    :param expires: sends ``Expires`` this far in the future: from
        ``timedelta(0)`` to a year.
    :param content_location: a ``Content-Location`` value, or a callable of
        the view's keyword arguments that returns one; a callable that fails
        leaves the header out (see :doc:`/concepts`).
    :param query: which part of the query string selects the representation
        and goes into the tag: ``True`` (all of it, the default), ``False``
        (none), or a list of parameter names.
    :param mixins: extra ETag mixins for this view, after the app's.
    :param app_mixins: ``False`` leaves the app's mixins (such as the current
        user) out of this view's tag: only for responses that are the same
        for everyone (see :doc:`/security`).
    :param wait: hold a poll whose tag is current for up to this many seconds
        when it asks to be held (``Prefer: wait=N``), and answer it as soon as
        the data changes (see :doc:`/waiting`).
    :param poll: how often clients poll this view: seconds, or a
        :class:`~flask_condpoll.Poll` with adaptive back-off. Every response
        then tells the client when to poll next (``Poll-Interval``), and the
        ``poll`` macro uses it (see :doc:`/polling`).
    :raises TypeError: for arguments of the wrong type, naming the argument.
    :raises ValueError: for values out of range or that cannot be sent,
        naming the argument.
    """
    return ConditionalDecorator(
        Declaration(
            etag,
            last_modified,
            weak=weak,
            vary=vary,
            cache_control=cache_control,
            require_precondition=require_precondition,
            expires=expires,
            content_location=content_location,
            query=query,
            mixins=mixins,
            app_mixins=app_mixins,
            wait=wait,
            poll=poll,
        )
    )


class ConditionalDecorator:
    """What :func:`conditional` returns: apply it to a view function."""

    __slots__ = ("declaration",)

    def __init__(self, declaration: Declaration) -> None:
        self.declaration = declaration

    def __call__(self, view: F) -> F:
        if not callable(view):
            raise TypeError(
                f"@conditional(...) decorates a view function, not {view!r}."
            )
        declaration = self.declaration
        declaration.check_view(view)
        wrapper: t.Any
        if is_async(view):

            async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                awaited = await await_parts(declaration, kwargs)
                flow = begin(declaration, kwargs, awaited)
                if not isinstance(flow, Flow):
                    return flow
                try:
                    rv = await view(*args, **kwargs)
                except BaseException as exc:
                    flow.aborted(exc)
                    raise
                return flow.finish(rv)

        else:

            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                flow = begin(declaration, kwargs)
                if not isinstance(flow, Flow):
                    return flow
                try:
                    rv = view(*args, **kwargs)
                except BaseException as exc:
                    flow.aborted(exc)
                    raise
                return flow.finish(rv)

        functools.update_wrapper(wrapper, view)
        wrapper.condpoll = declaration
        decorated_views.add(view)
        return t.cast(F, wrapper)

    def __getattr__(self, name: str) -> t.NoReturn:
        if name in _VIEW_ATTRIBUTES:
            raise TypeError(
                "@conditional was registered as the view itself. Call it with"
                " its generator and put it directly above the view function,"
                " below the route decorator:\n\n"
                '    @app.get("/items")\n'
                "    @conditional(etag=items_version)\n"
                "    def items(): ..."
            )
        raise AttributeError(name)
