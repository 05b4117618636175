"""Polls through each proxy: unchanged ones reach the app and come back 304
(htmx 4: 204), a change gives 200; a page reload costs a 304."""

from __future__ import annotations

import pytest

from flask_condpoll.settings import CLIENTS

from .client import login
from .demo import change_state
from .demo import delivered_tag
from .demo import poll_headers
from .demo import tag_header
from .demo import UNCHANGED

#: Every setup in front of the example app.
READING = ["nginx", "nginx-cache", "apache", "varnish", "varnish-builtin"]

#: What the client accepts: each compression a proxy may apply, or none.
ENCODINGS = ["identity", "gzip", "br"]


def cookies(stack, client: str | None, signed_in: bool) -> dict[str, str]:
    if not signed_in:
        return {}
    chosen = f"; client={client}" if client else ""
    return {"Cookie": login(stack.port, 1) + chosen}


def rendered_in_full(stack, headers: dict[str, str]) -> bool:
    """Whether the proxy drops If-None-Match: the builtin VCL looks up
    cookieless requests, renders in full, and answers 304 itself."""
    return not stack.setup.forwards_conditionals and "Cookie" not in headers


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("signed_in", [True, False], ids=["user", "anonymous"])
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("stack", READING, indirect=True)
def test_unchanged_polls_reach_the_app(stack, client, signed_in, encoding):
    cookie = cookies(stack, client, signed_in) | {"Accept-Encoding": encoding}
    first = stack.get("/status", poll_headers(client) | cookie)
    assert first.status == 200
    assert first.header("Cache-Control") == "no-store"
    compressed = stack.setup.compresses and encoding != "identity"
    assert first.header("Content-Encoding") == (encoding if compressed else None)
    tag = delivered_tag(client, first)

    unchanged = UNCHANGED[client]
    for _ in range(2):
        again = stack.get("/status", poll_headers(client, tag) | cookie)
        assert again.status == unchanged
        assert again.text == ""
        assert again.header("Cache-Control") == "no-store"
        seen = stack.answer(again)
        if rendered_in_full(stack, cookie) and client != "htmx4":
            assert (seen.status, seen.headers) == (200, {})
        else:
            assert seen.status == unchanged
            assert seen.headers == {tag_header(client).lower(): tag}

    state = change_state(stack)
    changed = stack.get("/status", poll_headers(client, tag) | cookie)
    assert changed.status == 200
    assert stack.answer(changed).status == 200
    assert f"api: {state}" in changed.text
    assert delivered_tag(client, changed) != tag


@pytest.mark.parametrize("signed_in", [True, False], ids=["user", "anonymous"])
@pytest.mark.parametrize("stack", READING, indirect=True)
def test_a_page_reload_is_a_304(stack, signed_in):
    cookie = cookies(stack, None, signed_in)
    page = stack.get("/", cookie)
    assert page.header("Cache-Control") == "private, no-cache"
    reload = stack.get("/", cookie | {"If-None-Match": page.header("ETag")})
    assert reload.status == 304
    app_status = 200 if rendered_in_full(stack, cookie) else 304
    assert stack.answer(reload).status == app_status


@pytest.mark.parametrize("client", CLIENTS)
def test_bypassing_nginx_cache_is_not_enough(stacks, client):
    """Why cache-map.conf turns the cache off: proxy_cache_bypass still
    removes If-None-Match from the request (not HX-PTag)."""
    stack = stacks["nginx-bypass"]
    tag = delivered_tag(client, stack.get("/status", poll_headers(client)))
    again = stack.get("/status", poll_headers(client, tag))
    seen = stack.answer(again)
    if client == "htmx4":
        assert (again.status, seen.status) == (204, 204)
    else:
        assert (again.status, seen.status, seen.headers) == (200, 200, {})
