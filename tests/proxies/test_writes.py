"""Conditional writes through each proxy: GET, then PUT with the GET's ETag.

Compressing a response changes its strong tag (nginx weakens it, Apache
appends ``-gzip`` or ``-br``), and If-Match compares strongly: the write URLs
must be left uncompressed (deploy/*/writes.conf), or every write gets 412.
"""

from __future__ import annotations

import pytest

from .client import send

WRITING = [
    "nginx",
    "nginx-cache",
    "nginx-compress-all",
    "apache",
    "apache-compress-all",
    "varnish",
    "varnish-builtin",
]
URL = "/api/lists/1"


@pytest.fixture(scope="module", autouse=True)
def long_list(backend):
    """mod_deflate leaves a body of a few dozen bytes uncompressed when it
    arrives whole: a list long enough to be compressed every time."""
    tag = send(backend.port, "GET", URL).header("ETag")
    items = [f"item {number}" for number in range(20)]
    written = send(backend.port, "PUT", URL, {"If-Match": tag}, data={"items": items})
    assert written.status == 200


@pytest.mark.parametrize("encoding", ["gzip", "br"])
@pytest.mark.parametrize("stack", WRITING, indirect=True)
def test_get_then_put(stack, encoding):
    accept = {"Accept-Encoding": encoding}
    read = stack.get(URL, accept)
    assert read.status == 200
    tag = read.header("ETag")
    items = [*read.json()["items"], "tea"]
    write = stack.send("PUT", URL, {"If-Match": tag} | accept, data={"items": items})
    if stack.setup.protects_writes:
        assert read.header("Content-Encoding") is None
        assert tag.startswith('"')  # strong, as the app sent it
        assert write.status == 200
        assert write.json() == {"items": items}
        assert stack.get(URL).json() == {"items": items}
    else:
        assert read.header("Content-Encoding") == encoding
        suffix = {"gzip": '-gzip"', "br": '-br"'}[encoding]  # Apache's
        assert tag.startswith('W/"') or tag.endswith(suffix)
        assert write.status == 412  # refused by the app, not by the proxy
        assert stack.get(URL).json() == read.json()
    assert stack.answer(write).status == write.status
    assert stack.answer(write).headers == {"if-match": tag}


@pytest.mark.parametrize("stack", WRITING, indirect=True)
def test_a_stale_tag_is_refused(stack):
    tag = stack.get(URL).header("ETag")
    items = stack.get(URL).json()["items"]
    data = {"items": items}
    if stack.setup.protects_writes:
        assert stack.send("PUT", URL, {"If-Match": tag}, data=data).status == 200
    stale = stack.send("PUT", URL, {"If-Match": tag}, data=data)
    assert stale.status == 412
    assert stack.send("PUT", URL, data=data).status == 428
