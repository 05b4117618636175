"""Polling markup as exact strings, and hostile values that must not inject."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from flask_condpoll.markup import poll_element
from flask_condpoll.markup import poll_headers
from flask_condpoll.markup import script_tags

TAG = 'W/"abc"'


class TestPollElement:
    def test_htmx2(self):
        html = poll_element(
            "htmx2",
            url="/status",
            element_id="status",
            interval=2,
            etag=TAG,
            content="x",
        )
        assert html == (
            '<div id="status" hx-get="/status" hx-trigger="every 2s" hx-ext="condpoll"'
            ' data-condpoll-etag="W/&#34;abc&#34;" data-condpoll-pause=""'
            ' hx-swap="outerHTML">x</div>'
        )

    def test_htmx4(self):
        html = poll_element(
            "htmx4", url="/status", element_id="status", interval=0.5, etag=TAG
        )
        assert html == (
            '<div id="status" hx-get="/status"'
            ' hx-trigger="every 500ms [!document.hidden]" hx-ptag="W/&#34;abc&#34;"'
            ' hx-swap="outerHTML"></div>'
        )

    def test_unpoly(self):
        html = poll_element(
            "unpoly", url="/status", element_id="status", interval=1.5, etag=TAG
        )
        assert html == (
            '<div id="status" up-poll="" up-source="/status" up-interval="1500"'
            ' up-etag="W/&#34;abc&#34;"></div>'
        )

    def test_options(self):
        html = poll_element(
            "htmx2",
            url="/b",
            element_id="badge",
            interval=30,
            swap="innerHTML",
            target="#count",
            pause_hidden=False,
            tag="span",
            content=Markup("<b>3</b>"),
        )
        assert html == (
            '<span id="badge" hx-get="/b" hx-trigger="every 30s" hx-ext="condpoll"'
            ' hx-swap="innerHTML" hx-target="#count"><b>3</b></span>'
        )

    def test_htmx4_without_pause_and_without_tag(self):
        html = poll_element(
            "htmx4", url="/s", element_id="s", interval=1, pause_hidden=False
        )
        assert html == (
            '<div id="s" hx-get="/s" hx-trigger="every 1s" hx-swap="outerHTML"></div>'
        )

    @pytest.mark.parametrize("client", ["htmx2", "htmx4", "unpoly"])
    def test_hostile_values_are_escaped(self, client):
        hostile = "\"><script>alert(1)</script><a x='"
        kwargs = {"target": hostile} if client != "unpoly" else {}
        html = poll_element(
            client,
            url=f"/s?q={hostile}",
            element_id="s",
            interval=1,
            etag=hostile,
            content=hostile,
            **kwargs,
        )
        assert "<script>" not in html
        assert "<a x=" not in html
        assert html.count("<") == 2  # the element's own tags only
        assert "&#34;&gt;&lt;script&gt;" in html

    @pytest.mark.parametrize(
        "bad",
        [
            {"element_id": 'x" onclick="evil'},
            {"element_id": "1abc"},
            {"element_id": ""},
            {"tag": "div onclick=evil"},
            {"tag": "DIV"},
            {"interval": 0},
            {"interval": -1},
            {"interval": float("nan")},
            {"interval": float("inf")},
            {"interval": 1e308},
            {"interval": 86401},
            {"interval": "2s"},
            {"swap": 'outerHTML settle:1s" onclick="x'},
        ],
    )
    def test_rejects_unsafe_arguments(self, bad):
        arguments = {"url": "/s", "element_id": "s", "interval": 1} | bad
        with pytest.raises(ValueError):
            poll_element("htmx2", **arguments)

    def test_unknown_client_lists_the_valid_ones(self):
        with pytest.raises(ValueError, match="must be one of: htmx2, htmx4, unpoly"):
            poll_element("htmx3", url="/s", element_id="s", interval=1)

    def test_unpoly_rejects_target_and_swap(self):
        with pytest.raises(ValueError, match="reloads the polling element itself"):
            poll_element("unpoly", url="/s", element_id="s", interval=1, target="#x")


def test_poll_headers():
    assert poll_headers("htmx2", "s") == {"HX-Request": "true"}
    assert poll_headers("htmx4", "s") == {"HX-Request": "true"}
    assert poll_headers("unpoly", "news") == {"X-Up-Target": "#news"}


class TestScriptTags:
    def test_htmx2_with_nonce(self):
        html = script_tags(
            "htmx2", library_url="/h.js", extension_url="/c.js", nonce="n1"
        )
        assert html == (
            '<script src="/h.js" nonce="n1"></script>'
            '<script src="/c.js" nonce="n1"></script>'
        )

    def test_unpoly_needs_no_extension(self):
        assert (
            script_tags("unpoly", library_url="/u.js")
            == '<script src="/u.js"></script>'
        )

    def test_htmx4_needs_its_extension(self):
        with pytest.raises(ValueError, match="needs its extension"):
            script_tags("htmx4", library_url="/h.js")

    def test_hostile_urls_are_escaped(self):
        html = script_tags(
            "unpoly", library_url='/u.js"></script><script>evil()', nonce='"x'
        )
        assert html == (
            '<script src="/u.js&#34;&gt;&lt;/script&gt;&lt;script&gt;evil()"'
            ' nonce="&#34;x"></script>'
        )
