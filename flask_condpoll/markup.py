"""Polling markup for htmx 2, htmx 4 and Unpoly 3, as pure functions.

Every value is escaped; ids and tag names are checked, so no argument can
inject markup. The Jinja macros in ``condpoll/macros.html`` are thin
wrappers over these.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from markupsafe import escape
from markupsafe import Markup

#: The supported polling clients.
CLIENTS = ("htmx2", "htmx4", "unpoly")

#: Poll intervals allowed, in seconds.
MIN_INTERVAL, MAX_INTERVAL = 0.05, 86400

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_TAG = re.compile(r"[a-z][a-z0-9-]*")
_SWAPS = frozenset(
    ("innerHTML", "outerHTML", "beforebegin", "afterbegin", "beforeend", "afterend")
)


def check_client(client: str) -> str:
    """Return ``client`` if it is supported.

    :raises ValueError: naming the valid clients.
    """
    if client not in CLIENTS:
        raise ValueError(
            f"Unsupported polling client {client!r}, must be one of:"
            f" {', '.join(CLIENTS)}."
        )
    return client


def poll_headers(client: str, element_id: str) -> dict[str, str]:
    """The request headers that ``client`` sends when it polls ``element_id``.

    A page computes a fragment's tag with them, so that the tag matches the
    one the poll will get.
    """
    if check_client(client) == "unpoly":
        return {"X-Up-Target": f"#{_checked_id(element_id)}"}
    return {"HX-Request": "true"}


def poll_element(
    client: str,
    *,
    url: str,
    element_id: str,
    interval: float,
    content: str = "",
    etag: str | None = None,
    swap: str = "outerHTML",
    target: str | None = None,
    pause_hidden: bool = True,
    tag: str = "div",
) -> Markup:
    """An element that polls ``url`` every ``interval`` seconds.

    The response replaces the element (``swap="outerHTML"``, the default), so
    the fragment view renders the same element with its new content and tag.

    :param client: ``"htmx2"``, ``"htmx4"`` or ``"unpoly"``.
    :param url: the fragment's URL.
    :param element_id: the element's id; Unpoly targets ``#element_id``.
    :param interval: seconds between polls, from 0.05 to 86400.
    :param content: the element's current content (escaped unless Markup).
    :param etag: the fragment's current ``ETag`` header value, so that the
        first poll can already be a 304.
    :param swap: an htmx swap style. Unpoly always replaces the element.
    :param target: a CSS selector for htmx to swap into instead of the element.
    :param pause_hidden: skip polls while the page is hidden. Unpoly always
        does; htmx 4 needs ``htmx.config`` to allow ``[...]`` trigger filters.
    :param tag: the element's tag name.
    :raises ValueError: for an unknown client or an unsafe id, tag, swap or
        interval.
    """
    check_client(client)
    element_id = _checked_id(element_id)
    if _TAG.fullmatch(tag) is None:
        raise ValueError(f"Invalid tag name {tag!r}: use a lowercase HTML tag name.")
    if not (
        isinstance(interval, int | float)
        and math.isfinite(interval)
        and MIN_INTERVAL <= interval <= MAX_INTERVAL
    ):
        raise ValueError(
            f"Invalid poll interval {interval!r}: use seconds from {MIN_INTERVAL}"
            f" to {MAX_INTERVAL}."
        )
    if swap not in _SWAPS:
        raise ValueError(
            f"Invalid swap {swap!r}, must be one of: {', '.join(sorted(_SWAPS))}."
        )
    attributes: dict[str, str | None] = {"id": element_id}
    if client == "unpoly":
        if target is not None or swap != "outerHTML":
            raise ValueError(
                "Unpoly reloads the polling element itself: 'target' and 'swap'"
                " do not apply."
            )
        attributes.update(
            {
                "up-poll": "",
                "up-source": url,
                "up-interval": str(round(interval * 1000)),
                "up-etag": etag,
            }
        )
    else:
        trigger = f"every {_duration(interval)}"
        attributes["hx-get"] = url
        if client == "htmx2":
            attributes.update(
                {
                    "hx-trigger": trigger,
                    "hx-ext": "condpoll",
                    "data-condpoll-etag": etag,
                    "data-condpoll-pause": "" if pause_hidden else None,
                }
            )
        else:
            if pause_hidden:
                trigger += " [!document.hidden]"
            attributes.update({"hx-trigger": trigger, "hx-ptag": etag})
        attributes.update({"hx-swap": swap, "hx-target": target})
    return Markup("<{tag}{attributes}>{content}</{tag}>").format(
        tag=Markup(tag), attributes=_attributes(attributes), content=content
    )


def script_tags(
    client: str,
    *,
    library_url: str,
    extension_url: str | None = None,
    nonce: str | None = None,
) -> Markup:
    """The script tags that load ``client`` and its ETag adapter.

    :param library_url: the URL of htmx or Unpoly itself.
    :param extension_url: htmx 2: flask-condpoll's adapter; htmx 4: the
        ``hx-ptag`` extension shipped with htmx; Unpoly needs none.
    :param nonce: a CSP nonce for every tag.
    :raises ValueError: if ``client`` needs an extension and none is given.
    """
    urls = [library_url]
    if check_client(client) != "unpoly":
        if extension_url is None:
            raise ValueError(f"The {client!r} client needs its extension's URL.")
        urls.append(extension_url)
    return Markup("").join(
        Markup("<script{}></script>").format(_attributes({"src": url, "nonce": nonce}))
        for url in urls
    )


def _checked_id(element_id: str) -> str:
    if _ID.fullmatch(element_id) is None:
        raise ValueError(
            f"Invalid element id {element_id!r}: use letters, digits, '-' and '_',"
            " starting with a letter."
        )
    return element_id


def _duration(seconds: float) -> str:
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def _attributes(attributes: Mapping[str, str | None]) -> Markup:
    """`` name="value"`` pairs, escaped; ``None`` values are left out."""
    return Markup("").join(
        Markup(' {}="{}"').format(Markup(name), escape(value))
        for name, value in attributes.items()
        if value is not None
    )
