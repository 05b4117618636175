"""The blueprint, the template macros and HX-PTag, through Flask."""

from __future__ import annotations

import pytest
from flask import Flask
from flask import render_template_string

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import validators_for
from flask_condpoll.frontend import asset_url
from flask_condpoll.frontend import IMMUTABLE
from flask_condpoll.frontend import prepare_poll


@pytest.fixture
def app():
    return make_app()


def make_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="s",
        TESTING=True,
        CONDPOLL_LIBRARY_URL="/static/htmx.js",
        CONDPOLL_EXTENSION_URL="/static/hx-ptag.js",
    )
    app.config.update(config)
    CondPoll(app)
    app.version = 1

    @app.get("/lists/<int:list_id>")
    @conditional(etag=lambda list_id: app.version)
    def items(list_id):
        return render_template_string(PANEL, list_id=list_id)

    return app


PANEL = """{% import "condpoll/macros.html" as condpoll -%}
{% call condpoll.poll("items", "list", interval=5, view_args={"list_id": list_id}) -%}
items of {{ list_id }}
{%- endcall %}"""


class TestAssets:
    def test_hashed_url_is_immutable(self, app):
        with app.test_request_context():
            url = asset_url("condpoll-htmx2.js")
        response = app.test_client().get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.mimetype == "text/javascript"
        assert b'htmx.defineExtension("condpoll"' in response.data

    @pytest.mark.parametrize(
        "url",
        ["/_condpoll/0000000000000000/condpoll-htmx2.js", "/_condpoll/x/other.js"],
    )
    def test_wrong_digest_or_name_is_404(self, app, url):
        assert app.test_client().get(url).status_code == 404


class TestMacros:
    def test_poll_carries_the_tag_of_its_first_poll(self, app):
        client = app.test_client()
        with app.test_request_context():
            prepare_poll("items", "list", view_args={"list_id": 3})
            html = render_template_string(PANEL, list_id=3)
        poll_tag = client.get("/lists/3", headers={"HX-Request": "true"}).headers[
            "ETag"
        ]
        assert f'data-condpoll-etag="{poll_tag.replace(chr(34), "&#34;")}"' in html
        assert 'hx-get="/lists/3"' in html
        response = client.get(
            "/lists/3", headers={"HX-Request": "true", "If-None-Match": poll_tag}
        )
        assert response.status_code == 304

    def test_fragment_response_reuses_its_own_validators(self, app):
        calls = []
        app.view_functions["items"].condpoll.etag = lambda list_id: calls.append(1) or 1
        app.test_client().get("/lists/3", headers={"HX-Request": "true"})
        assert calls == [1]

    def test_unpoly_tag_uses_the_target_header(self):
        app = make_app(CONDPOLL_CLIENT="unpoly")
        with app.test_request_context():
            prepare_poll("items", "list", view_args={"list_id": 3})
            html = render_template_string(PANEL, list_id=3)
        tag = (
            app.test_client()
            .get("/lists/3", headers={"X-Up-Target": "#list"})
            .headers["ETag"]
        )
        assert tag.replace('"', "&#34;") in html
        assert 'up-source="/lists/3"' in html

    def test_scripts_macro(self, app):
        template = (
            '{% import "condpoll/macros.html" as c %}{{ c.scripts(nonce="abc") }}'
        )
        with app.test_request_context():
            htmx2 = render_template_string(template)
            schedule = asset_url("condpoll-poll.js")
            urls = {c: asset_url(f"condpoll-{c}.js") for c in ("htmx2", "htmx4")}
        other = make_app(CONDPOLL_CLIENT="htmx4")
        with other.test_request_context():
            htmx4 = render_template_string(template)
        assert htmx2 == (
            f'<script src="/static/htmx.js" nonce="abc"></script>'
            f'<script src="{schedule}" nonce="abc"></script>'
            f'<script src="{urls["htmx2"]}" nonce="abc"></script>'
        )
        assert htmx4 == (
            '<script src="/static/htmx.js" nonce="abc"></script>'
            '<script src="/static/hx-ptag.js" nonce="abc"></script>'
            f'<script src="{schedule}" nonce="abc"></script>'
            f'<script src="{urls["htmx4"]}" nonce="abc"></script>'
        )

    def test_scripts_need_a_library_url(self):
        app = make_app(CONDPOLL_LIBRARY_URL=None)
        template = '{% import "condpoll/macros.html" as c %}{{ c.scripts() }}'
        with (
            app.test_request_context(),
            pytest.raises(ValueError, match="CONDPOLL_LIBRARY_URL"),
        ):
            render_template_string(template)

    def test_unknown_client_in_config(self):
        app = Flask(__name__)
        app.config["CONDPOLL_CLIENT"] = "jquery"
        with pytest.raises(ValueError, match="must be one of: htmx2, htmx4, unpoly"):
            CondPoll(app)

    def test_validators_for_a_plain_view(self, app):
        app.add_url_rule("/plain", "plain", lambda: "x")
        with app.test_request_context(), pytest.raises(ValueError, match="not a view"):
            validators_for("plain")


class TestPTag:
    """htmx 4: HX-PTag is a validator for GET/HEAD and is echoed to htmx."""

    def test_sent_on_200_and_204_to_htmx_requests(self, app):
        client = app.test_client()
        htmx = {"HX-Request": "true"}
        full = client.get("/lists/1", headers=htmx)
        assert full.headers["HX-PTag"] == full.headers["ETag"]
        short = client.get("/lists/1", headers=htmx | {"HX-PTag": full.headers["ETag"]})
        # Only HX-PTag matched: no cache sent a conditional request, so no 304.
        assert short.status_code == 204
        assert short.data == b""
        assert short.headers["HX-PTag"] == full.headers["ETag"]
        assert short.headers["ETag"] == full.headers["ETag"]
        assert short.headers["Cache-Control"] == "no-store"
        both = client.get(
            "/lists/1",
            headers=htmx
            | {"HX-PTag": full.headers["ETag"], "If-None-Match": full.headers["ETag"]},
        )
        assert both.status_code == 304

    def test_not_sent_to_other_requests(self, app):
        assert "HX-PTag" not in app.test_client().get("/lists/1").headers

    def test_stale_ptag_gives_200_with_the_new_one(self, app):
        client = app.test_client()
        htmx = {"HX-Request": "true"}
        old = client.get("/lists/1", headers=htmx).headers["ETag"]
        app.version = 2
        response = client.get("/lists/1", headers=htmx | {"HX-PTag": old})
        assert response.status_code == 200
        assert response.headers["HX-PTag"] != old

    def test_ignored_by_writes(self, app):
        app.add_url_rule(
            "/w",
            "w",
            conditional(etag=lambda: 1)(lambda: "written"),
            methods=["POST", "GET"],
        )
        client = app.test_client()
        tag = client.get("/w", headers={"HX-Request": "true"}).headers["ETag"]
        response = client.post("/w", headers={"HX-Request": "true", "HX-PTag": tag})
        assert response.status_code == 200
