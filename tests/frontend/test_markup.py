"""Polling markup as exact strings, and hostile values that must not inject."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from flask_condpoll.frontend.markup import is_script_header
from flask_condpoll.frontend.markup import poll_element
from flask_condpoll.frontend.markup import poll_headers
from flask_condpoll.frontend.markup import script_tags

TAG = 'W/"abc"'


#: The steering attributes every client gets with the default options.
STEERING = (
    ' data-condpoll-jitter="0.1" data-condpoll-cap="120000"'
    ' data-condpoll-timeout="30000" data-condpoll-pause=""'
)


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
            '<div id="status" hx-get="/status" hx-trigger="condpoll:poll"'
            ' hx-ext="condpoll" data-condpoll-etag="W/&#34;abc&#34;"'
            f' data-condpoll-interval="2000"{STEERING} hx-swap="outerHTML">x</div>'
        )

    def test_htmx4(self):
        html = poll_element(
            "htmx4", url="/status", element_id="status", interval=0.5, etag=TAG
        )
        assert html == (
            '<div id="status" hx-get="/status" hx-trigger="condpoll:poll"'
            ' hx-ptag="W/&#34;abc&#34;"'
            f' data-condpoll-interval="500"{STEERING} hx-swap="outerHTML"></div>'
        )

    def test_unpoly(self):
        html = poll_element(
            "unpoly", url="/status", element_id="status", interval=1.5, etag=TAG
        )
        assert html == (
            '<div id="status" up-source="/status" up-etag="W/&#34;abc&#34;"'
            f' data-condpoll-interval="1500"{STEERING}></div>'
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
            jitter=0,
            backoff_cap=60,
            timeout=5,
        )
        assert html == (
            '<span id="badge" hx-get="/b" hx-trigger="condpoll:poll"'
            ' hx-ext="condpoll" data-condpoll-interval="30000"'
            ' data-condpoll-jitter="0" data-condpoll-cap="60000"'
            ' data-condpoll-timeout="5000" hx-swap="innerHTML"'
            ' hx-target="#count"><b>3</b></span>'
        )

    def test_a_stopped_poller_never_polls(self):
        html = poll_element("htmx4", url="/s", element_id="s", interval=None)
        assert html == (
            '<div id="s" hx-get="/s" hx-trigger="condpoll:poll"'
            f' data-condpoll-interval="-1"{STEERING} hx-swap="outerHTML"></div>'
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
            {"interval": True},
            {"swap": 'outerHTML settle:1s" onclick="x'},
            {"jitter": 1},
            {"jitter": -0.1},
            {"jitter": "0.1"},
            {"backoff_cap": 0},
            {"backoff_cap": float("inf")},
            {"timeout": -5},
            {"timeout": "30"},
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
    """As htmx 2.0, htmx 4 and Unpoly 3 send them from Chromium."""
    assert poll_headers("htmx2", "s") == {
        "HX-Request": "true",
        "HX-Trigger": "s",
        "HX-Target": "s",
        "Accept": "*/*",
    }
    assert poll_headers("htmx4", "s", tag="span") == {
        "HX-Request": "true",
        "HX-Source": "span#s",
        "HX-Target": "span#s",
        "HX-Request-Type": "partial",
        "Accept": "text/html",
    }
    assert poll_headers("unpoly", "news") == {"X-Up-Target": "#news", "Accept": "*/*"}


@pytest.mark.parametrize(
    ("client", "target", "known"),
    [
        ("htmx2", "#panel", {"HX-Target": "panel"}),
        ("htmx2", ".panel", {}),
        ("htmx2", "closest div", {}),
        ("htmx4", "#panel", {}),
    ],
)
def test_poll_headers_with_a_target(client, target, known):
    headers = poll_headers(client, "s", target=target)
    targets = {
        k: v for k, v in headers.items() if k in ("HX-Target", "HX-Request-Type")
    }
    assert targets == known


@pytest.mark.parametrize(
    ("name", "scripted"),
    [
        ("Accept", True),
        ("sec-fetch-mode", True),
        ("HX-Current-URL", True),
        ("x-up-version", True),
        ("Accept-Language", False),
        ("Cookie", False),
        ("User-Agent", False),
    ],
)
def test_script_headers(name, scripted):
    assert is_script_header(name) is scripted


class TestScriptTags:
    def test_htmx2_with_nonce(self):
        html = script_tags(
            "htmx2", library_url="/h.js", client_urls=["/p.js", "/c.js"], nonce="n1"
        )
        assert html == (
            '<script src="/h.js" nonce="n1"></script>'
            '<script src="/p.js" nonce="n1"></script>'
            '<script src="/c.js" nonce="n1"></script>'
        )

    def test_htmx4_loads_hx_ptag_before_our_files(self):
        html = script_tags(
            "htmx4", library_url="/h.js", extension_url="/t.js", client_urls=["/c.js"]
        )
        assert html == (
            '<script src="/h.js"></script><script src="/t.js"></script>'
            '<script src="/c.js"></script>'
        )

    def test_unpoly_needs_no_extension(self):
        assert (
            script_tags("unpoly", library_url="/u.js")
            == '<script src="/u.js"></script>'
        )

    def test_htmx4_needs_its_extension(self):
        with pytest.raises(ValueError, match="needs its hx-ptag extension"):
            script_tags("htmx4", library_url="/h.js")

    def test_hostile_urls_are_escaped(self):
        html = script_tags(
            "unpoly", library_url='/u.js"></script><script>evil()', nonce='"x'
        )
        assert html == (
            '<script src="/u.js&#34;&gt;&lt;/script&gt;&lt;script&gt;evil()"'
            ' nonce="&#34;x"></script>'
        )
