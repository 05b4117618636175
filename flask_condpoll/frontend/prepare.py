"""The tags a page embeds in its polling elements: computed before the page
reads its data (:func:`prepare_poll`), looked up by the macros
(:func:`condpoll_etag`), with the headers each poll will carry."""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Callable

from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException

from ..core.tags import UnsupportedValue
from ..fragments import Fragment
from ..fragments import fragment_validators
from ..fragments import own_validators
from ..fragments import resolve
from ..state import get_state
from ..validators import NoValidators
from ..validators import Validators
from .markup import check_client
from .markup import is_script_header
from .markup import poll_headers

logger = logging.getLogger("flask_condpoll")

#: The WSGI environ key of the validators :func:`prepare_poll` computed in
#: this request, by endpoint and :class:`~flask_condpoll.validators.Target`.
PREPARED = "condpoll.prepared"


def prepare_poll(
    endpoint: str,
    element_id: str,
    *,
    client: str | None = None,
    view_args: t.Mapping[str, t.Any] | None = None,
    tag: str = "div",
    target: str | None = None,
) -> str | None:
    """Compute a polled fragment's tag now, for this page's ``poll`` and
    ``etag`` macros.

    Call it in the page's view **before the view reads the data the fragment
    shows**, with the arguments of the macro call that renders it (from
    ``docs/examples/polling.py``)::

        @app.get("/")
        def page():
            session["user_id"] = 1
            prepare_poll("badge", "badge", tag="span")  # before reading the count
            return render_template("polling_page.html", count=COUNTS[1])

    The embedded tag then never describes newer data than the page shows: the
    first poll is a 304 if nothing changed since, a 200 with the change if
    something did. The macros never compute a tag themselves; unprepared,
    they render none (except in the fragment view's own response), and the
    first poll is answered in full. A second call for the same poll in one
    request returns the first one's tag.

    :param endpoint: the fragment view's endpoint, as for the macro.
    :param element_id: the polling element's id.
    :param client: the polling client; ``CONDPOLL_CLIENT`` by default.
    :param view_args: the fragment view's arguments, as for the macro.
    :param tag: the polling element's tag name, as for the macro.
    :param target: the macro's ``target``.
    :returns: the ``ETag`` header value, or ``None`` when the generators
        cannot tell now (a failure is logged once per outage).
    :raises ValueError: if ``endpoint`` is not a conditional view, or for an
        unknown client or an invalid id.
    """
    fragment = resolve(
        endpoint, view_args, poll_request_headers(client, element_id, tag, target)
    )
    return _tag(fragment.endpoint, lambda: _prepared(fragment))


def condpoll_etag(
    endpoint: str,
    element_id: str,
    client: str | None = None,
    view_args: t.Mapping[str, t.Any] | None = None,
    tag: str = "div",
    target: str | None = None,
) -> str | None:
    """The ``ETag`` a poll of the fragment will be checked against, if this
    request knows it: prepared by :func:`prepare_poll`, or computed before
    the fragment view itself ran. ``None`` otherwise: never computed late.

    :raises ValueError: as :func:`prepare_poll`.
    """
    fragment = resolve(
        endpoint, view_args, poll_request_headers(client, element_id, tag, target)
    )

    def known() -> Validators | None:
        prepared: dict[object, Validators] = request.environ.get(PREPARED, {})
        found = prepared.get((fragment.endpoint, fragment.target))
        return own_validators(fragment) if found is None else found

    return _tag(fragment.endpoint, known)


def poll_request_headers(
    client: str | None, element_id: str, tag: str, target: str | None
) -> dict[str, str]:
    """The headers a poll of ``element_id`` from this page will carry, as far
    as they are known: the client's own (see
    :func:`~flask_condpoll.frontend.markup.poll_headers`), and the browser's
    from the page's request (``Accept-Language``, ``Cookie``...) for the rest.
    """
    page = {
        name: value
        for name, value in request.headers.items()
        if not is_script_header(name)
    }
    own = poll_headers(checked_client(client), element_id, tag=tag, target=target)
    return page | own


def checked_client(client: str | None) -> str:
    """``client``, or ``CONDPOLL_CLIENT``, checked."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return check_client(client or get_state(app).settings.client)


def _prepared(fragment: Fragment) -> Validators:
    """The fragment's validators, computed on the first call in a request."""
    prepared: dict[object, Validators] = request.environ.setdefault(PREPARED, {})
    key = (fragment.endpoint, fragment.target)
    if key not in prepared:
        prepared[key] = fragment_validators(fragment)
    return prepared[key]


def _tag(endpoint: str, validators: Callable[[], Validators | None]) -> str | None:
    """The tag of ``validators()``, or ``None`` if its generators fail."""
    try:
        found = validators()
    except NoValidators:
        return None
    except (UnsupportedValue, HTTPException):
        raise
    except Exception as exc:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if get_state(app).failures.failed(endpoint, exc):
            logger.error(
                "Version generator failed for %r while rendering its poll;"
                " its first poll will be answered in full.",
                endpoint,
                exc_info=exc,
            )
        return None
    return None if found is None else found.header
