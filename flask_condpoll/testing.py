"""Check your own conditional views from your test suite.

::

    from flask_condpoll.testing import check_conditional

    def test_items_are_conditional(client):
        check_conditional(client, "/lists/1/items", change=add_item)
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from flask.testing import FlaskClient
from werkzeug.http import parse_date
from werkzeug.test import TestResponse

from . import signals

#: Headers that a 304 must repeat from the 200 it stands for (RFC 9110 §15.4.5).
REPEATED_HEADERS = ("ETag", "Cache-Control", "Vary", "Expires", "Content-Location")

#: Seconds two ``Expires`` dates computed on two requests may differ.
EXPIRES_TOLERANCE = 5


@dataclass(frozen=True)
class ConditionalCheck:
    """What :func:`check_conditional` saw.

    :param response: the first full response.
    :param etag: its ``ETag`` header, or ``None``.
    :param last_modified: its ``Last-Modified`` header, or ``None``.
    :param changed_etag: the ``ETag`` after ``change`` ran, or ``None``.
    """

    response: TestResponse
    etag: str | None
    last_modified: str | None
    changed_etag: str | None = None


def check_conditional(
    client: FlaskClient,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    change: Callable[[], object] | None = None,
    unsafe_method: str | None = None,
    write: Mapping[str, t.Any] | None = None,
) -> ConditionalCheck:
    """Assert that the view at ``url`` answers conditional requests correctly.

    Checks, in order: a GET gives 200 with validators; echoing them gives a
    body-less 304 that repeats the 200's headers without running the view;
    HEAD behaves like GET; after ``change()`` the old validators give a 200
    with a new tag; ``unsafe_method`` with a stale If-Match gives 412 without
    running the view; and ``unsafe_method`` with the ETag a GET hands out
    passes its precondition (the write runs: pass its body in ``write``).

    :param client: the app's test client.
    :param url: the view's URL.
    :param headers: extra request headers (``HX-Request``, a cookie, ...).
    :param change: a function that changes the data behind the view.
    :param unsafe_method: a write method the URL accepts, such as ``"PUT"``;
        it may be served by another view function than the GET.
    :param write: keyword arguments for the write's request, such as
        ``{"json": {...}}``.
    :raises AssertionError: naming the first check that failed.
    """
    base = dict(headers or {})
    first = client.get(url, headers=base)
    _expect(first.status_code == 200, f"GET {url} gave {first.status!r}, not 200 OK.")
    etag, modified = first.headers.get("ETag"), first.headers.get("Last-Modified")
    _expect(
        etag is not None or modified is not None,
        f"GET {url} gave no ETag and no Last-Modified.",
    )
    echo = dict(base)
    if etag is not None:
        echo["If-None-Match"] = etag
    else:
        echo["If-Modified-Since"] = t.cast(str, modified)

    for method in ("GET", "HEAD"):
        with _recorder(client) as seen:
            short = client.open(url, method=method, headers=echo)
        _expect(
            short.status_code == 304,
            f"{method} {url} with its own validators gave {short.status!r}, not 304.",
        )
        _expect(short.data == b"", f"The 304 for {method} {url} has a body.")
        _expect(
            seen == ["not_modified"],
            f"{method} {url} ran the view to answer 304 instead of answering first.",
        )
        for name in REPEATED_HEADERS:
            _expect(
                _same_header(name, short.headers.get(name), first.headers.get(name)),
                f"The 304 for {method} {url} has {name}: {short.headers.get(name)!r},"
                f" the 200 had {first.headers.get(name)!r}.",
            )

    head = client.head(url, headers=base)
    _expect(head.status_code == 200, f"HEAD {url} gave {head.status!r}, not 200.")
    _expect(head.data == b"", f"HEAD {url} returned a body.")
    _expect(
        head.headers.get("ETag") == etag,
        f"HEAD {url} has ETag {head.headers.get('ETag')!r}, GET had {etag!r}.",
    )

    changed_etag = None
    if change is not None:
        change()
        after = client.get(url, headers=echo)
        _expect(
            after.status_code == 200,
            f"GET {url} after the change gave {after.status!r}, not 200: a stale 304.",
        )
        changed_etag = after.headers.get("ETag")
        if etag is not None:
            _expect(
                changed_etag is not None and changed_etag != etag,
                f"GET {url} after the change kept the ETag {etag!r}.",
            )

    if unsafe_method is not None:
        stale = dict(base, **{"If-Match": '"condpoll-stale"'})
        with _recorder(client) as seen:
            refused = client.open(url, method=unsafe_method, headers=stale)
        _expect(
            refused.status_code == 412,
            f"{unsafe_method} {url} with a stale If-Match gave {refused.status!r},"
            " not 412.",
        )
        _expect(
            "full" not in seen,
            f"{unsafe_method} {url} ran the view despite a stale If-Match.",
        )
        current = client.get(url, headers=base).headers.get("ETag")
        _expect(current is not None, f"GET {url} gave no ETag to write with.")
        _expect(
            not str(current).startswith("W/"),
            f"GET {url} hands out a weak ETag ({current}), which If-Match never"
            " accepts: declare the views of this URL with weak=False (or leave"
            " weak unset).",
        )
        accepted = client.open(
            url,
            method=unsafe_method,
            headers=dict(base, **{"If-Match": str(current)}),
            **dict(write or {}),
        )
        _expect(
            accepted.status_code not in (412, 428),
            f"{unsafe_method} {url} with the ETag a GET handed out ({current}) gave"
            f" {accepted.status!r}: a read-then-write can never succeed.",
        )

    return ConditionalCheck(first, etag, modified, changed_etag)


def _same_header(name: str, short: str | None, full: str | None) -> bool:
    """Equal, except that two Expires dates may be a little apart."""
    if name != "Expires" or short is None or full is None:
        return short == full
    first, second = parse_date(short), parse_date(full)
    if first is None or second is None:
        return short == full
    return abs((first - second).total_seconds()) <= EXPIRES_TOLERANCE


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


@contextmanager
def _recorder(client: FlaskClient) -> Iterator[list[str]]:
    """Record how requests were answered while inside: ``"full"`` when the
    view ran, ``"not_modified"`` when a 304 was sent before it."""
    seen: list[str] = []
    app = client.application

    def full(sender: object, **extra: object) -> None:
        seen.append("full")

    def not_modified(sender: object, **extra: object) -> None:
        seen.append("not_modified")

    with (
        signals.full_response_sent.connected_to(full, app),
        signals.not_modified_sent.connected_to(not_modified, app),
    ):
        yield seen
