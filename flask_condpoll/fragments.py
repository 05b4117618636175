"""Another conditional view's validators, from inside a request: the tag of a
polled fragment, rendered into the page that embeds it.

The tag a page embeds must never describe newer data than the fragment's
content in that page, or the first poll is a 304 that keeps the old content
until the data changes again. :func:`validators_for` computes them when it
is called, so a page calls it before it reads its data (``prepare_poll``
does, and remembers the tag for the macros). In the fragment view's own
request, the validators it computed before it ran serve (:func:`own_validators`).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from urllib.parse import parse_qsl
from urllib.parse import unquote_to_bytes
from urllib.parse import urlsplit

from flask import current_app
from flask import request
from flask import url_for
from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict

from .awaiting import run_parts
from .current import current_flow
from .declaration import Declaration
from .plans import plan_for
from .plans import ViewPlan
from .registry.base import RegistryUnavailable
from .state import CondPollState
from .state import get_state
from .validators import compute
from .validators import NoValidators
from .validators import query_part
from .validators import stripped
from .validators import Target
from .validators import Validators

if t.TYPE_CHECKING:
    from flask import Flask


class Fragment(t.NamedTuple):
    """A request to a conditional view, as a page would make it."""

    app: Flask
    state: CondPollState
    endpoint: str
    declaration: Declaration
    plan: ViewPlan
    target: Target
    kwargs: dict[str, t.Any]


def validators_for(
    endpoint: str,
    view_args: Mapping[str, t.Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Validators:
    """Compute the validators that a request to a conditional view would get.

    A page uses it to render a polled fragment's current tag into the HTML,
    so that the first poll can already be a 304. It runs in the current
    request, with its user and session, for the URL that ``url_for(endpoint,
    **view_args)`` builds.

    **Call it before the page reads the data the fragment shows**: a tag
    computed after a commit that the page's content misses would answer the
    first poll with a 304, and the page would keep the old content. For the
    ``poll`` and ``etag`` macros, :func:`~flask_condpoll.frontend.prepare_poll`
    does this. Inside the fragment view's own request, for the same URL, the
    validators it computed before it ran are returned. The generators get
    ``view_args``; whatever else they read (``request.args``, a header not
    in ``headers``) is the page's request, not the poll's: keep what selects
    the fragment in its view arguments.

    :param endpoint: the conditional view's endpoint; ``".name"`` is relative
        to the current blueprint, as in :func:`~flask.url_for`.
    :param view_args: its keyword arguments, as its URL rule would give them;
        extra arguments become the query string, as in ``url_for``.
    :param headers: the request headers the poll will carry (those named in
        its ``vary`` matter), such as ``{"HX-Request": "true"}``.
    :returns: the validators; without a tag (``header`` is ``None``: render
        none, the first poll is answered in full) when the generators cannot
        give a trustworthy version now (they raise
        :class:`~flask_condpoll.NoValidators`, or the registry is
        unreachable).
    :raises ValueError: if ``endpoint`` is not a conditional view.
    """
    return fragment_validators(resolve(endpoint, view_args, headers))


def fragment_validators(fragment: Fragment) -> Validators:
    """What :func:`validators_for` returns for a resolved ``fragment``."""
    own = own_validators(fragment)
    if own is not None:
        return own
    app, state, _, declaration, plan, target, kwargs = fragment
    awaited = run_parts(app, declaration, plan, kwargs) if plan.awaits else None
    try:
        return compute(state, plan, declaration, target, kwargs, awaited)
    except (NoValidators, RegistryUnavailable):
        return Validators(None, None, plan.weak, None)


def resolve(
    endpoint: str,
    view_args: Mapping[str, t.Any] | None,
    headers: Mapping[str, str] | None,
) -> Fragment:
    """The request to ``endpoint`` that ``view_args`` and ``headers`` make.

    :raises ValueError: if ``endpoint`` is not a conditional view.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    endpoint = absolute_endpoint(endpoint)
    declaration = declaration_for(app, endpoint)
    plan = plan_for(state, declaration, endpoint)
    args = dict(view_args or {})
    url = urlsplit(url_for(endpoint, **args))
    lookup = Headers(dict(headers or {}))
    selection = declaration.query
    target = Target(
        unquote_to_bytes(url.path).decode("latin-1"),
        query_part(
            selection,
            url.query,
            None
            if isinstance(selection, bool)
            else MultiDict(parse_qsl(url.query, keep_blank_values=True)),
        ),
        tuple(stripped(lookup.get(name)) for name in plan.vary),
    )
    kwargs = {k: v for k, v in args.items() if k in _rule_arguments(app, endpoint)}
    return Fragment(app, state, endpoint, declaration, plan, target, kwargs)


def own_validators(fragment: Fragment) -> Validators | None:
    """The fragment's validators if this is the fragment view's own request
    (for the same URL, in any representation): computed before it ran."""
    flow = current_flow()
    if (
        flow is None
        or flow.endpoint != fragment.endpoint
        or flow.declaration is not fragment.declaration
        or flow.kwargs != fragment.kwargs
    ):
        return None
    own = flow.refreshed or flow.validators
    mine = flow.target(request._get_current_object())  # type: ignore[attr-defined]
    target = fragment.target
    if own is None or (mine.path, mine.query) != (target.path, target.query):
        return None
    if mine.vary == target.vary:
        return own
    return _represented(fragment, own, flow.awaited)


def _represented(
    fragment: Fragment, own: Validators, awaited: Mapping[object, object] | None
) -> Validators:
    """``own`` for another representation of the same URL (other ``vary``
    values): the generators' results stand, only the tag is made again."""
    _, state, _, declaration, plan, target, kwargs = fragment
    results: dict[object, object] = dict(awaited or {})
    if declaration.last_modified is not None:
        results[declaration.last_modified] = own.last_modified
    if declaration.etag is not None:  # last: one callable may serve both
        results[declaration.etag] = own.value
    return compute(state, plan, declaration, target, kwargs, results)


def absolute_endpoint(endpoint: str) -> str:
    """Resolve ``".name"`` against the current blueprint, as ``url_for`` does."""
    if not endpoint.startswith("."):
        return endpoint
    blueprint = request.blueprint
    return f"{blueprint}{endpoint}" if blueprint else endpoint[1:]


def declaration_for(app: Flask, endpoint: str) -> Declaration:
    """The declaration of the conditional view at ``endpoint`` (its GET).

    :raises ValueError: if there is none.
    """
    view = app.view_functions.get(endpoint)
    declaration = getattr(view, "condpoll", None)
    if declaration is None:
        get = getattr(getattr(view, "view_class", None), "get", None)
        declaration = getattr(get, "condpoll", None)
    if declaration is None:
        raise ValueError(f"{endpoint!r} is not a view decorated with @conditional.")
    return t.cast(Declaration, declaration)


def _rule_arguments(app: Flask, endpoint: str) -> set[str]:
    names: set[str] = set()
    for rule in app.url_map.iter_rules(endpoint):
        names.update(rule.arguments)
        names.update(rule.defaults or ())
    return names
