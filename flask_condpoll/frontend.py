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

from .conditional import validators_for
from .markup import check_client
from .markup import poll_element
from .markup import poll_headers
from .markup import script_tags

#: Files in ``flask_condpoll/static`` served at content-hashed URLs.
ASSETS = ("condpoll-htmx2.js",)

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
    response = current_app.response_class(_asset(name)[1], mimetype="text/javascript")
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def _client(client: str | None) -> str:
    return check_client(client or current_app.config["CONDPOLL_CLIENT"])


def condpoll_etag(
    endpoint: str,
    element_id: str,
    client: str | None = None,
    view_args: t.Mapping[str, t.Any] | None = None,
) -> str | None:
    """The current ``ETag`` of a polled fragment, as its poll will see it."""
    headers = poll_headers(_client(client), element_id)
    validators = validators_for(endpoint, view_args, headers)
    return None if validators is None else validators.header


def condpoll_poll(
    content: str,
    endpoint: str,
    element_id: str,
    interval: float = 2,
    swap: str = "outerHTML",
    target: str | None = None,
    client: str | None = None,
    pause_hidden: bool = True,
    tag: str = "div",
    view_args: t.Mapping[str, t.Any] | None = None,
) -> Markup:
    """A polling element for ``endpoint`` carrying its current tag."""
    client = _client(client)
    args = dict(view_args or {})
    return poll_element(
        client,
        url=url_for(endpoint, **args),
        element_id=element_id,
        interval=interval,
        content=content,
        etag=condpoll_etag(endpoint, element_id, client, args),
        swap=swap,
        target=target,
        pause_hidden=pause_hidden,
        tag=tag,
    )


def condpoll_scripts(
    client: str | None = None,
    library_url: str | None = None,
    extension_url: str | None = None,
    nonce: str | None = None,
) -> Markup:
    """Script tags for the client: the library, then its ETag adapter."""
    client = _client(client)
    config = current_app.config
    library_url = library_url or config["CONDPOLL_LIBRARY_URL"]
    if library_url is None:
        raise ValueError(
            f"No URL for the {client!r} library: pass library_url= or set"
            " CONDPOLL_LIBRARY_URL."
        )
    if client == "htmx2":
        extension_url = asset_url("condpoll-htmx2.js")
    elif client == "htmx4":
        extension_url = extension_url or config["CONDPOLL_EXTENSION_URL"]
        if extension_url is None:
            raise ValueError(
                "No URL for htmx 4's hx-ptag extension: pass extension_url= or"
                " set CONDPOLL_EXTENSION_URL."
            )
    return script_tags(
        client, library_url=library_url, extension_url=extension_url, nonce=nonce
    )


#: The functions available in every template.
TEMPLATE_GLOBALS = {
    "condpoll_etag": condpoll_etag,
    "condpoll_poll": condpoll_poll,
    "condpoll_scripts": condpoll_scripts,
}
