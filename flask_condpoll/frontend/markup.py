"""Polling markup for htmx 2, htmx 4 and Unpoly 3, as pure functions.

Every value is escaped; ids and tag names are checked, so no argument can
inject markup. The Jinja macros in ``condpoll/macros.html`` are thin
wrappers over these.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from collections.abc import Sequence

from markupsafe import escape
from markupsafe import Markup

from ..config_values import CLIENTS
from ..core.polling import check_interval
from ..core.polling import header_value

#: The event flask-condpoll's client files fire on an htmx element to poll it.
POLL_EVENT = "condpoll:poll"

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


#: Request headers that the browser sets otherwise on a poll than on the
#: page's own request (a page load is a navigation, a poll a script's
#: request), or that the polling client sets: never taken from the page.
#: Every ``HX-*`` and ``X-Up-*`` header counts too.
SCRIPT_HEADERS = frozenset(
    (
        "accept",
        "cache-control",
        "origin",
        "pragma",
        "prefer",
        "priority",
        "purpose",
        "referer",
        "sec-fetch-dest",
        "sec-fetch-mode",
        "sec-fetch-site",
        "sec-fetch-user",
        "sec-purpose",
        "upgrade-insecure-requests",
    )
)


def is_script_header(name: str) -> bool:
    """Whether a poll's client or browser decides header ``name`` (see
    :data:`SCRIPT_HEADERS`), rather than sending the page request's value."""
    name = name.lower()
    return name in SCRIPT_HEADERS or name.startswith(("hx-", "x-up-"))


def poll_headers(
    client: str, element_id: str, *, tag: str = "div", target: str | None = None
) -> dict[str, str]:
    """The request headers that ``client`` sends when it polls ``element_id``,
    as far as they are known before the page is shown.

    A page computes a fragment's tag with them, so that the tag matches the
    one the poll will get. As htmx 2, htmx 4 and Unpoly 3 send them:

    * htmx 2: ``HX-Request``, ``HX-Trigger`` (the element's id), ``HX-Target``
      (the id of the element swapped, when ``target`` is ``None`` or
      ``"#id"``) and ``Accept: */*``;
    * htmx 4: ``HX-Request``, ``HX-Source`` and, with no ``target``,
      ``HX-Target`` (``tag#id``), ``HX-Request-Type`` and ``Accept:
      text/html``;
    * Unpoly 3: ``X-Up-Target`` (``#id``) and ``Accept: */*``.

    The others depend on the browser's state (``HX-Current-URL``,
    ``X-Up-Version``, ``X-Up-Mode``...), so they are left out.

    :param tag: the polling element's tag name.
    :param target: the selector htmx swaps into instead of the element.
    """
    element_id = _checked_id(element_id)
    if check_client(client) == "unpoly":
        return {"X-Up-Target": f"#{element_id}", "Accept": "*/*"}
    if client == "htmx2":
        headers = {"HX-Request": "true", "HX-Trigger": element_id, "Accept": "*/*"}
        if target is None:
            headers["HX-Target"] = element_id
        elif target.startswith("#") and _ID.fullmatch(target[1:]) is not None:
            headers["HX-Target"] = target[1:]
        return headers
    source = f"{tag}#{element_id}"
    headers = {"HX-Request": "true", "HX-Source": source, "Accept": "text/html"}
    if target is None:
        headers.update({"HX-Target": source, "HX-Request-Type": "partial"})
    return headers


def poll_element(
    client: str,
    *,
    url: str,
    element_id: str,
    interval: float | None,
    content: str = "",
    etag: str | None = None,
    swap: str = "outerHTML",
    target: str | None = None,
    pause_hidden: bool = True,
    tag: str = "div",
    jitter: float = 0.1,
    backoff_cap: float = 120.0,
    timeout: float = 30.0,
    wait: float | None = None,
) -> Markup:
    """An element that polls ``url``, steered by flask-condpoll's client file.

    The client file waits ``interval`` seconds before the first poll, then
    what each response's ``Poll-Interval`` says. The response replaces the
    element (``swap="outerHTML"``, the default), so the fragment view renders
    the same element with its new content and tag.

    :param client: ``"htmx2"``, ``"htmx4"`` or ``"unpoly"``.
    :param url: the fragment's URL.
    :param element_id: the element's id: the client file keeps each
        poller's state under it, and Unpoly targets ``#element_id``.
    :param interval: seconds before the first poll, from 0.05 to 86400;
        ``None`` renders a stopped poller, which never polls.
    :param content: the element's current content (escaped unless Markup).
    :param etag: the fragment's current ``ETag`` header value, so that the
        first poll can already be a 304.
    :param swap: an htmx swap style. Unpoly always replaces the element.
    :param target: a CSS selector for htmx to swap into instead of the element.
    :param pause_hidden: no polls while the page is hidden, one at once on
        return if a wait has passed.
    :param tag: the element's tag name.
    :param jitter: each wait is spread randomly by this fraction (0 to <1).
    :param backoff_cap: the longest wait, in seconds, after repeated errors.
    :param timeout: seconds after which an unanswered poll is an error.
    :param wait: ask the server to hold each unchanged poll up to this many
        seconds (``Prefer: wait``) and poll again at once after a held
        answer; without ``Preference-Applied`` in the answer, the element
        polls on its interval (see :doc:`/waiting`).
    :raises ValueError: for an unknown client or an unsafe id, tag, swap,
        interval or option.
    """
    check_client(client)
    element_id = _checked_id(element_id)
    if _TAG.fullmatch(tag) is None:
        raise ValueError(f"Invalid tag name {tag!r}: use a lowercase HTML tag name.")
    try:
        first = None if interval is None else check_interval(interval, "poll interval")
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    if swap not in _SWAPS:
        raise ValueError(
            f"Invalid swap {swap!r}, must be one of: {', '.join(sorted(_SWAPS))}."
        )
    if isinstance(jitter, bool) or not (
        isinstance(jitter, int | float) and 0 <= jitter < 1
    ):
        raise ValueError(
            f"Invalid jitter {jitter!r}: use a fraction from 0 to below 1."
        )
    steering = {
        "data-condpoll-interval": header_value(first),
        "data-condpoll-jitter": f"{jitter:g}",
        "data-condpoll-cap": header_value(_seconds(backoff_cap, "backoff_cap")),
        "data-condpoll-timeout": header_value(_seconds(timeout, "timeout")),
        "data-condpoll-pause": "" if pause_hidden else None,
        "data-condpoll-wait": None
        if wait is None
        else f"{round(_seconds(wait, 'wait'))}",
    }
    attributes: dict[str, str | None] = {"id": element_id}
    if client == "unpoly":
        if target is not None or swap != "outerHTML":
            raise ValueError(
                "Unpoly reloads the polling element itself: 'target' and 'swap'"
                " do not apply."
            )
        attributes.update({"up-source": url, "up-etag": etag, **steering})
    else:
        attributes.update({"hx-get": url, "hx-trigger": POLL_EVENT})
        if client == "htmx2":
            attributes.update({"hx-ext": "condpoll", "data-condpoll-etag": etag})
        else:
            attributes["hx-ptag"] = etag
        attributes.update({**steering, "hx-swap": swap, "hx-target": target})
    return Markup("<{tag}{attributes}>{content}</{tag}>").format(
        tag=Markup(tag), attributes=_attributes(attributes), content=content
    )


def script_tags(
    client: str,
    *,
    library_url: str,
    extension_url: str | None = None,
    client_urls: Sequence[str] = (),
    nonce: str | None = None,
) -> Markup:
    """The script tags that load ``client``, then flask-condpoll's files.

    :param library_url: the URL of htmx or Unpoly itself.
    :param extension_url: htmx 4 only: the ``hx-ptag`` extension shipped
        with htmx, which sends the tags.
    :param client_urls: flask-condpoll's client files, in order.
    :param nonce: a CSP nonce for every tag.
    :raises ValueError: for htmx 4 without ``extension_url``.
    """
    urls = [library_url]
    if check_client(client) == "htmx4":
        if extension_url is None:
            raise ValueError("The 'htmx4' client needs its hx-ptag extension's URL.")
        urls.append(extension_url)
    urls.extend(client_urls)
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


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not (
        isinstance(value, int | float) and math.isfinite(value) and value > 0
    ):
        raise ValueError(f"Invalid {name} {value!r}: use a positive number of seconds.")
    return float(value)


def _attributes(attributes: Mapping[str, str | None]) -> Markup:
    """`` name="value"`` pairs, escaped; ``None`` values are left out."""
    return Markup("").join(
        Markup(' {}="{}"').format(Markup(name), escape(value))
        for name, value in attributes.items()
        if value is not None
    )
