"""A public view (``app_mixins=False``, ``public, max-age``) is stored and
shared by caching proxies; per-user views never are."""

from __future__ import annotations

import uuid

import pytest

from .client import login

READING = ["nginx", "nginx-cache", "apache", "varnish", "varnish-builtin"]
NOTICE = "/shared/notice"


def fresh_notice() -> str:
    """The notice at a URL no cache has stored yet."""
    return f"{NOTICE}?fresh={uuid.uuid4().hex}"


@pytest.mark.parametrize("stack", READING, indirect=True)
def test_a_public_view_is_shared(stack):
    url = fresh_notice()
    first = stack.get(url)
    assert first.status == 200
    assert first.header("Cache-Control") == "public, max-age=30"
    assert first.header("Vary") in (None, "Accept-Encoding")
    assert stack.answer(first).status == 200
    again = stack.get(url)
    assert again.text == first.text
    assert stack.unseen(again) == stack.setup.shares


def test_nginx_shares_it_across_users(stacks):
    stack = stacks["nginx-cache"]
    url = fresh_notice()
    assert stack.get(url).header("X-Cache-Status") == "MISS"  # stored
    for user in (1, 2):
        reply = stack.get(url, {"Cookie": login(stack.port, user)})
        assert reply.header("X-Cache-Status") == "HIT"
        assert stack.unseen(reply)


def test_varnish_passes_requests_with_cookies(stacks):
    """The builtin VCL passes every request that carries a cookie."""
    stack = stacks["varnish"]
    url = fresh_notice()
    stack.get(url)  # stored
    reply = stack.get(url, {"Cookie": login(stack.port, 1)})
    assert stack.answer(reply).status == 200


@pytest.mark.parametrize("stack", READING, indirect=True)
@pytest.mark.parametrize("path", ["/", "/notifications/list", "/dashboard"])
def test_per_user_views_are_never_stored(stack, path):
    for cookie in (None, login(stack.port, 1)):
        headers = {"Cookie": cookie} if cookie else {}
        for _ in range(2):
            reply = stack.get(path, headers)
            assert reply.status == 200
            assert stack.answer(reply).status == 200


def test_a_shared_cache_never_stores_a_204(stacks):
    stack = stacks["varnish-builtin"]  # looks cookieless polls up
    url = fresh_notice()
    poll = {"HX-Request": "true"}
    tag = stack.get(url, poll | {"Cookie": "a=b"}).header("HX-PTag")  # passed
    ptag = stack.get(url, poll | {"HX-PTag": tag})  # looked up: a miss
    assert stack.answer(ptag).status == 204
    fresh = stack.get(url, poll)  # another poller, with no copy yet
    assert fresh.status == 200
