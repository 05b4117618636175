"""A page embeds a polled fragment's tag computed before it read the data the
fragment shows, with the headers the poll will carry."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import typing as t

import pytest
from flask import before_render_template
from flask import Flask
from flask import render_template_string
from flask import request

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import NoValidators
from flask_condpoll.frontend import prepare_poll

TAG = re.compile(r'(?:data-condpoll-etag|hx-ptag|up-etag)="([^"]*)"')

BADGE = """{% import "condpoll/macros.html" as condpoll -%}
{% call condpoll.poll("badge", "badge", tag="span") %}{{ count }}{% endcall %}"""

#: What each client's poll of the badge carries, as they send it.
POLLS = {
    "htmx2": {
        "HX-Request": "true",
        "HX-Trigger": "badge",
        "HX-Target": "badge",
        "Accept": "*/*",
    },
    "htmx4": {
        "HX-Request": "true",
        "HX-Request-Type": "partial",
        "HX-Source": "span#badge",
        "HX-Target": "span#badge",
        "Accept": "text/html",
    },
    "unpoly": {"X-Up-Target": "#badge", "Accept": "*/*"},
}
#: How an unchanged poll is answered (htmx 4 sends HX-PTag).
UNCHANGED = {"htmx2": 304, "htmx4": 204, "unpoly": 304}


def embedded(markup: str) -> str | None:
    found = TAG.search(markup)
    return None if found is None else html.unescape(found[1])


def poll(app: Flask, client: str, tag: str | None, **headers: str) -> t.Any:
    field = "HX-PTag" if client == "htmx4" else "If-None-Match"
    sent = {**POLLS[client], **headers, **({field: tag} if tag else {})}
    return app.test_client().get("/badge", headers=sent)


def make_app(client: str = "htmx2", **declared: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="s", TESTING=True, CONDPOLL_CLIENT=client, CONDPOLL_STATS_URL=None
    )
    CondPoll(app)
    app.count = 1
    app.commits = []  # counts that land while the page renders

    def version() -> int:
        return t.cast(int, app.count)

    @app.get("/badge")
    @conditional(etag=version, **declared)
    def badge() -> str:
        return render_template_string(BADGE, count=app.count)

    @app.get("/")
    def page() -> str:
        if "prepare" in request.args:
            prepare_poll("badge", "badge", tag="span")
        count = app.count  # the page reads its data
        return render_template_string(BADGE, count=count)

    def commit_elsewhere(sender: Flask, **extra: t.Any) -> None:
        if app.commits:
            app.count = app.commits.pop()

    before_render_template.connect(commit_elsewhere, app, weak=False)
    return app


class TestNeverNewerThanThePage:
    """Between the page's read and its rendering, a commit lands elsewhere."""

    def test_without_prepare_no_tag_is_embedded(self):
        app = make_app()
        app.commits.append(2)
        page = app.test_client().get("/").get_data(as_text=True)
        assert ">1</span>" in page
        assert embedded(page) is None
        assert poll(app, "htmx2", None).status_code == 200

    def test_a_prepared_tag_is_the_one_before_the_read(self):
        app = make_app()
        app.commits.append(2)
        page = app.test_client().get("/?prepare").get_data(as_text=True)
        assert ">1</span>" in page
        response = poll(app, "htmx2", embedded(page))
        assert response.status_code == 200, "a 304 would keep 1 although it is 2"
        assert ">2</span>" in response.get_data(as_text=True)

    @pytest.mark.parametrize("client", list(POLLS))
    def test_without_a_commit_the_first_poll_is_unchanged(self, client):
        app = make_app(client)
        page = app.test_client().get("/?prepare").get_data(as_text=True)
        assert poll(app, client, embedded(page)).status_code == UNCHANGED[client]

    def test_a_second_prepare_returns_the_first_tag(self):
        app = make_app()
        with app.test_request_context("/"):
            first = prepare_poll("badge", "badge", tag="span")
            app.count = 2
            assert prepare_poll("badge", "badge", tag="span") == first


class TestTheFragmentsOwnRequest:
    def test_a_poll_embeds_its_own_tag(self):
        app = make_app()
        response = poll(app, "htmx2", None)
        assert embedded(response.get_data(as_text=True)) == response.headers["ETag"]

    def test_a_direct_visit_embeds_the_polls_tag(self):
        """A browser on the fragment's URL: the page's tag differs from the
        poll's (HX-Request is in the tag), and both come from the value the
        generator gave before the view ran."""
        app = make_app()
        calls = []
        declaration = app.view_functions["badge"].condpoll
        generator = declaration.etag
        declaration.etag = lambda: calls.append(1) or generator()
        direct = app.test_client().get("/badge")
        tag = embedded(direct.get_data(as_text=True))
        assert tag is not None and tag != direct.headers["ETag"]
        assert calls == [1]
        assert poll(app, "htmx2", tag).status_code == 304


class TestHeadersOfThePoll:
    """The tag is computed with the headers the poll will carry: the client's
    own, and the browser's from the page's request for the rest."""

    @pytest.mark.parametrize("client", list(POLLS))
    def test_a_browser_header_comes_from_the_page(self, client):
        app = make_app(client, vary=["HX-Request", "X-Up-Target", "Accept-Language"])
        german = {"Accept-Language": "de-DE,de;q=0.9"}
        page = app.test_client().get("/?prepare", headers=german).get_data(as_text=True)
        tag = embedded(page)
        assert poll(app, client, tag, **german).status_code == UNCHANGED[client]
        assert poll(app, client, tag, **{"Accept-Language": "fr"}).status_code == 200

    @pytest.mark.parametrize("client", list(POLLS))
    def test_the_clients_own_headers_are_as_it_sends_them(self, client):
        vary = ["HX-Request", "X-Up-Target", *POLLS[client]]
        app = make_app(client, vary=vary)
        navigation = {
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "HX-Request": "true",  # a boosted page load, say
            "X-Up-Target": "body",
        }
        page = (
            app.test_client()
            .get("/?prepare", headers=navigation)
            .get_data(as_text=True)
        )
        tag = embedded(page)
        assert poll(app, client, tag).status_code == UNCHANGED[client]

    def test_headers_no_one_can_know_in_advance_are_left_out(self):
        app = make_app("unpoly", vary=["X-Up-Target", "X-Up-Version"])
        page = app.test_client().get("/?prepare", headers={"X-Up-Version": "3.14.3"})
        tag = embedded(page.get_data(as_text=True))
        version = {"X-Up-Version": "3.14.3"}
        assert poll(app, "unpoly", tag, **version).status_code == 200
        without = {"X-Up-Target": "#badge"}
        assert (
            app.test_client()
            .get("/badge", headers={**without, "If-None-Match": t.cast(str, tag)})
            .status_code
            == 304
        )


class TestFailures:
    def test_no_validators_prepares_no_tag(self, caplog):
        app = make_app()

        def unknown() -> int:
            raise NoValidators()

        app.view_functions["badge"].condpoll.etag = unknown
        with caplog.at_level(logging.DEBUG, logger="flask_condpoll"):
            page = app.test_client().get("/?prepare").get_data(as_text=True)
        assert embedded(page) is None
        assert caplog.text == ""

    def test_a_failing_generator_is_logged_once(self, caplog):
        app = make_app()

        def down() -> int:
            raise ConnectionError("database went away")

        app.view_functions["badge"].condpoll.etag = down
        with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
            for _ in range(2):
                page = app.test_client().get("/?prepare").get_data(as_text=True)
        assert embedded(page) is None
        assert caplog.text.count("Version generator failed for 'badge'") == 1

    def test_not_a_conditional_view(self):
        app = make_app()
        app.add_url_rule("/plain", "plain", lambda: "x")
        with app.test_request_context("/"), pytest.raises(ValueError, match="plain"):
            prepare_poll("plain", "badge")


def test_an_async_page_prepares_an_async_generators_tag():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
    CondPoll(app)

    async def version(doc_id: int) -> int:
        await asyncio.sleep(0)
        return 1

    @app.get("/docs/<int:doc_id>")
    @conditional(etag=version)
    async def read(doc_id: int) -> str:
        return "x"

    @app.get("/page")
    async def page() -> str:
        prepare_poll("read", "doc", view_args={"doc_id": 1})
        return render_template_string(
            '{% import "condpoll/macros.html" as c %}'
            '{% call c.poll("read", "doc", view_args={"doc_id": 1}) %}x{% endcall %}'
        )

    client = app.test_client()
    tag = embedded(client.get("/page").get_data(as_text=True))
    headers = {"HX-Request": "true", "If-None-Match": t.cast(str, tag)}
    assert client.get("/docs/1", headers=headers).status_code == 304
