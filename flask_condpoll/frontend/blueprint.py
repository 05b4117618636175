"""The blueprint and template globals behind the ``condpoll/macros.html`` macros."""

from __future__ import annotations

import hashlib
import typing as t
from functools import cache
from importlib import resources

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import Response
from flask import url_for
from markupsafe import Markup

from ..config_values import CLIENTS
from ..core.polling import check_interval
from ..core.polling import MAX_INTERVAL
from ..core.polling import MIN_INTERVAL
from ..fragments import absolute_endpoint
from ..fragments import declaration_for
from ..settings import Settings
from ..state import get_state
from .markup import poll_element
from .markup import script_tags
from .prepare import checked_client
from .prepare import condpoll_etag

#: Files in ``flask_condpoll/frontend/static`` served at content-hashed URLs:
#: the polling schedule, one adapter per client, and the stats page's files.
ASSETS = (
    "condpoll-poll.js",
    "condpoll-htmx2.js",
    "condpoll-htmx4.js",
    "condpoll-unpoly.js",
    "condpoll-stats.js",
    "condpoll-stats.css",
)

#: Per client, the files the ``scripts`` macro loads after the library.
CLIENT_FILES = {
    client: ("condpoll-poll.js", f"condpoll-{client}.js") for client in CLIENTS
}

#: The first wait of a poller whose view declares no ``poll=``, in seconds.
DEFAULT_INTERVAL = 2.0

IMMUTABLE = "public, max-age=31536000, immutable"

blueprint = Blueprint("condpoll", __name__, template_folder="templates")


@cache
def _asset(name: str) -> tuple[str, bytes]:
    data = resources.files(__package__).joinpath("static", name).read_bytes()
    return hashlib.sha256(data).hexdigest()[:16], data


def asset_url(name: str) -> str:
    """The content-hashed URL of a static file shipped with the package."""
    return url_for("condpoll.asset", digest=_asset(name)[0], name=name)


@blueprint.get("/_condpoll/<digest>/<name>")
def asset(digest: str, name: str) -> Response:
    if name not in ASSETS or digest != _asset(name)[0]:
        abort(404)
    mimetype = "text/css" if name.endswith(".css") else "text/javascript"
    response = current_app.response_class(_asset(name)[1], mimetype=mimetype)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def _settings() -> Settings:
    return get_state(current_app._get_current_object()).settings  # type: ignore[attr-defined]


def condpoll_poll(
    content: str,
    endpoint: str,
    element_id: str,
    interval: float | None = None,
    swap: str = "outerHTML",
    target: str | None = None,
    client: str | None = None,
    pause_hidden: bool | None = None,
    tag: str = "div",
    view_args: t.Mapping[str, t.Any] | None = None,
    jitter: float | None = None,
    backoff_cap: float | None = None,
    timeout: float | None = None,
    wait: float | None = None,
) -> Markup:
    """A polling element for ``endpoint`` carrying the tag its first poll will
    be checked against, if this request knows it (see
    :func:`~flask_condpoll.frontend.prepare_poll`).

    ``interval`` defaults to the view's ``poll=`` (else 2 seconds), times the
    factor in force; while polling is stopped, the element waits
    ``CONDPOLL_POLL_RESUME_CHECK`` before asking, or never polls without it.
    ``wait`` defaults to the view's ``wait=``: the element then asks to be
    held. The other options default to their ``CONDPOLL_POLL_*`` settings.
    """
    client = checked_client(client)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    settings = state.settings
    args = dict(view_args or {})
    declaration = declaration_for(app, absolute_endpoint(endpoint))
    if interval is None:
        poll = declaration.poll
        interval = DEFAULT_INTERVAL if poll is None else poll.interval
    if wait is None:
        wait = declaration.wait
    interval = check_interval(interval, "poll interval")
    factor = state.polling.factor()
    first = settings.poll_resume_check
    if factor is not None:
        first = min(max(interval * factor, MIN_INTERVAL), MAX_INTERVAL)
    return poll_element(
        client,
        url=url_for(endpoint, **args),
        element_id=element_id,
        interval=first,
        content=content,
        etag=condpoll_etag(endpoint, element_id, client, args, tag, target),
        swap=swap,
        target=target,
        pause_hidden=settings.poll_pause_hidden
        if pause_hidden is None
        else pause_hidden,
        tag=tag,
        jitter=settings.poll_jitter if jitter is None else jitter,
        backoff_cap=settings.poll_backoff_cap if backoff_cap is None else backoff_cap,
        timeout=settings.poll_timeout if timeout is None else timeout,
        wait=wait,
    )


def condpoll_scripts(
    client: str | None = None,
    library_url: str | None = None,
    extension_url: str | None = None,
    nonce: str | None = None,
) -> Markup:
    """Script tags: the library, htmx 4's ``hx-ptag``, then our client files."""
    client = checked_client(client)
    settings = _settings()
    library_url = library_url or settings.library_url
    if library_url is None:
        raise ValueError(
            f"No URL for the {client!r} library: pass library_url= or set"
            " CONDPOLL_LIBRARY_URL."
        )
    if client == "htmx4":
        extension_url = extension_url or settings.extension_url
        if extension_url is None:
            raise ValueError(
                "No URL for htmx 4's hx-ptag extension: pass extension_url= or"
                " set CONDPOLL_EXTENSION_URL."
            )
    return script_tags(
        client,
        library_url=library_url,
        extension_url=extension_url if client == "htmx4" else None,
        client_urls=[asset_url(name) for name in CLIENT_FILES[client]],
        nonce=nonce,
    )


#: The functions available in every template.
TEMPLATE_GLOBALS = {
    "condpoll_etag": condpoll_etag,
    "condpoll_poll": condpoll_poll,
    "condpoll_scripts": condpoll_scripts,
}
