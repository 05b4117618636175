"""A declaration resolved against one application: the per-view work done once.

A :class:`ViewPlan` holds what every request to a view needs and that does not
change between requests: config defaults filled in, header names turned into
WSGI environ keys, and whether tags are weak, which depends on the URL map (a
URL whose conditional views take writes gets strong tags, or If-Match could
never pass).
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable
from collections.abc import Iterator

from .core.preconditions import EXEMPT_METHODS
from .core.preconditions import SAFE_METHODS
from .declaration import Declaration
from .declaration import is_async

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

    from .state import CondPollState

Mixin = Callable[[], object]

#: Request headers sent by polling clients (htmx, Unpoly). A request carrying
#: one of them gets ``CONDPOLL_FRAGMENT_CACHE_CONTROL``.
FRAGMENT_HEADERS = ("HX-Request", "X-Up-Target")


def environ_key(header: str) -> str:
    """The WSGI environ key holding a request header."""
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"


FRAGMENT_ENVIRON = tuple(map(environ_key, FRAGMENT_HEADERS))


class ViewPlan(t.NamedTuple):
    """One view's declaration with the app's defaults filled in."""

    weak: bool
    vary: tuple[str, ...]
    vary_environ: tuple[str, ...]
    #: The vary values of a request that sends none of the headers.
    no_vary: tuple[None, ...]
    vary_header: str
    cache_control: str | None
    fragment_cache_control: str | None
    mixins: tuple[Mixin, ...]
    mixin_count: int
    #: Whether a generator or a mixin is async (awaited before the rest).
    awaits: bool

    def recipe(self, declaration: Declaration) -> tuple[object, ...]:
        """What decides the part of a tag that If-Match compares, besides the
        generator's value and the URL (not ``vary``: see
        :func:`~flask_condpoll.core.tags.resource_part`)."""
        return (self.weak, declaration.query, self.mixins)


def plan_for(
    state: CondPollState, declaration: Declaration, endpoint: str | None
) -> ViewPlan:
    """Return the plan of ``declaration`` served at ``endpoint``, made once."""
    key = (declaration, endpoint)
    plan: ViewPlan | None = state.plans.get(key)
    if plan is None or plan.mixin_count != len(state.mixins):
        plan = state.plans[key] = _make_plan(state, declaration, endpoint)
    return plan


def _make_plan(
    state: CondPollState, declaration: Declaration, endpoint: str | None
) -> ViewPlan:
    settings = state.settings
    vary = settings.vary if declaration.vary is None else declaration.vary
    if declaration.cache_control is None:
        page, fragment = settings.cache_control, settings.fragment_cache_control
    else:
        page = fragment = declaration.cache_control
    weak = declaration.weak
    if weak is None:
        weak = settings.weak
    if weak is None:
        weak = not takes_writes(state.app, endpoint)
    app_mixins = tuple(state.mixins) if declaration.app_mixins else ()
    mixins = (*app_mixins, *declaration.mixins)
    return ViewPlan(
        weak=weak,
        vary=vary,
        vary_environ=tuple(map(environ_key, vary)),
        no_vary=(None,) * len(vary),
        vary_header=", ".join(vary),
        cache_control=page,
        fragment_cache_control=fragment,
        mixins=mixins,
        mixin_count=len(state.mixins),
        awaits=bool(declaration.awaitables) or any(map(is_async, mixins)),
    )


def declarations(app: Flask, rule: Rule) -> Iterator[tuple[str, Declaration]]:
    """``(method, declaration)`` for each conditional method of ``rule``.

    Covers views decorated directly, class-based views with
    ``decorators = [conditional(...)]``, and ``MethodView`` methods decorated
    one by one.
    """
    view = app.view_functions.get(rule.endpoint)
    own: Declaration | None = getattr(view, "condpoll", None)
    view_class = getattr(view, "view_class", None)
    for method in sorted(rule.methods or ()):
        if method in EXEMPT_METHODS:
            continue
        found = own
        if found is None and view_class is not None:
            handler = getattr(view_class, method.lower(), None)
            if handler is None and method == "HEAD":
                handler = getattr(view_class, "get", None)
            found = getattr(handler, "condpoll", None)
        if found is not None:
            yield method, found


def takes_writes(app: Flask, endpoint: str | None) -> bool:
    """Whether a URL of ``endpoint`` has a conditional view for an unsafe method.

    Views registered separately for the same URL (``@app.get`` and
    ``@app.put``) count together: they serve one resource.
    """
    rules = list(app.url_map.iter_rules())
    patterns = {url_pattern(rule) for rule in rules if rule.endpoint == endpoint}
    return any(
        method not in SAFE_METHODS
        for rule in rules
        if url_pattern(rule) in patterns
        for method, _ in declarations(app, rule)
    )


_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"

#: A variable part of a URL rule, as Werkzeug parses it: ``<name>``,
#: ``<converter:name>`` or ``<converter(arguments):name>``.
_VARIABLE = re.compile(rf"<(?:{_NAME}(?:\(.*?\))?:)?{_NAME}>")


def url_pattern(rule: Rule) -> tuple[str, str, str]:
    """The URL a rule serves, whatever its converters and argument names:
    ``/docs/<int:doc_id>`` and ``/docs/<id>`` both give ``/docs/<>``. Views
    registered on either serve one resource, so their tags must agree."""
    return (
        _VARIABLE.sub("<>", rule.rule),
        _VARIABLE.sub("<>", rule.host or ""),
        _VARIABLE.sub("<>", rule.subdomain or ""),
    )
