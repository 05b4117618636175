"""The decorator's behaviour: tags, mixins, vary, cache-control, failures, signals."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import current_validators
from flask_condpoll import signals

from .conftest import make_app
from .conftest import tag_of


class TestTags:
    def test_tag_is_opaque(self, app, client):
        @app.get("/secret/<int:n>")
        @conditional(etag=lambda n: ("orders", 48213, "2024-05-01"))
        def secret(n):
            return "x"

        tag = tag_of(client, "/secret/991")
        for leak in ("48213", "991", "orders", "2024"):
            assert leak not in tag

    def test_view_args_select_the_tag(self, app, client):
        @app.get("/lists/<int:list_id>")
        @conditional(etag=lambda list_id: 1)
        def lists(list_id):
            return "x"

        assert tag_of(client, "/lists/1") != tag_of(client, "/lists/2")

    def test_same_config_same_tag_across_apps(self, resource):
        one = make_app(resource).test_client()
        two = make_app(resource).test_client()
        assert tag_of(one, "/weak") == tag_of(two, "/weak")

    def test_other_secret_never_matches(self, resource):
        one = make_app(resource)
        two = make_app(resource)
        two.config["SECRET_KEY"] = "another secret"
        tag = tag_of(one.test_client(), "/weak")
        response = two.test_client().get("/weak", headers={"If-None-Match": tag})
        assert response.status_code == 200

    def test_condpoll_secret_key_wins(self, resource):
        one = make_app(resource)
        two = make_app(resource)
        two.config["CONDPOLL_SECRET_KEY"] = "dedicated"
        assert tag_of(one.test_client(), "/weak") != tag_of(two.test_client(), "/weak")

    def test_missing_secret_is_a_clear_error(self):
        app = Flask(__name__)
        app.testing = True
        CondPoll(app)

        @app.get("/")
        @conditional(etag=lambda: 1)
        def index():
            return "x"

        with pytest.raises(RuntimeError, match="SECRET_KEY or CONDPOLL_SECRET_KEY"):
            app.test_client().get("/")

    def test_unsupported_value_fails_open(self, app, client, caplog):
        @app.get("/odd")
        @conditional(etag=lambda: object())
        def odd():
            return "rendered"

        with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
            response = client.get("/odd")
        assert response.status_code == 200
        assert "ETag" not in response.headers
        assert "Cannot use a 'object' value in an ETag" in caplog.text


class TestMixins:
    @pytest.fixture
    def user_app(self):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True)
        condpoll = CondPoll(app)

        @condpoll.etag_mixin
        def who():
            return session.get("user_id")

        @app.post("/login/<int:user_id>")
        def login(user_id):
            session["user_id"] = user_id
            return "ok"

        @app.get("/inbox")
        @conditional(etag=lambda: "same data")
        def inbox():
            return f"inbox of {session.get('user_id')}"

        return app

    def test_user_switch_changes_the_tag(self, user_app):
        client = user_app.test_client()
        client.post("/login/1")
        tag = tag_of(client, "/inbox")
        client.post("/login/2")
        response = client.get("/inbox", headers={"If-None-Match": tag})
        assert response.status_code == 200
        assert response.data == b"inbox of 2"

    def test_replayed_tag_from_other_user_never_matches(self, user_app):
        alice, bob = user_app.test_client(), user_app.test_client()
        alice.post("/login/1")
        bob.post("/login/2")
        tag = tag_of(alice, "/inbox")
        assert bob.get("/inbox", headers={"If-None-Match": tag}).status_code == 200
        assert alice.get("/inbox", headers={"If-None-Match": tag}).status_code == 304

    def test_session_mixin_adds_vary_cookie_to_304(self, user_app):
        client = user_app.test_client()
        client.post("/login/1")
        tag = tag_of(client, "/inbox")
        response = client.get("/inbox", headers={"If-None-Match": tag})
        assert response.status_code == 304
        assert "Cookie" in response.headers["Vary"]

    def test_mixins_are_listed(self):
        condpoll = CondPoll()

        @condpoll.etag_mixin
        def locale():
            return "fr"

        assert condpoll.mixins == (locale,)


class TestVary:
    def test_default_vary(self, client):
        assert client.get("/weak").headers["Vary"] == "HX-Request, X-Up-Target"

    def test_fragment_and_page_never_share_a_tag(self, client):
        page = tag_of(client, "/weak")
        fragment = tag_of(client, "/weak", **{"HX-Request": "true"})
        unpoly = tag_of(client, "/weak", **{"X-Up-Target": "#news"})
        assert len({page, fragment, unpoly}) == 3
        response = client.get(
            "/weak", headers={"HX-Request": "true", "If-None-Match": page}
        )
        assert response.status_code == 200

    def test_per_view_vary(self, app, client):
        @app.get("/lang")
        @conditional(etag=lambda: 1, vary=["Accept-Language"])
        def lang():
            return "x"

        en = client.get("/lang", headers={"Accept-Language": "en"})
        assert en.headers["Vary"] == "Accept-Language"
        fr = client.get(
            "/lang",
            headers={"Accept-Language": "fr", "If-None-Match": en.headers["ETag"]},
        )
        assert fr.status_code == 200

    def test_vary_merges_with_the_views_own(self, app, client):
        @app.get("/own")
        @conditional(etag=lambda: 1)
        def own():
            return "x", 200, {"Vary": "Accept-Encoding"}

        vary = client.get("/own").headers["Vary"]
        assert vary == "Accept-Encoding, HX-Request, X-Up-Target"

    @pytest.mark.parametrize("bad", ["HX-Request", ["bad header"], [""]])
    def test_invalid_vary_is_rejected(self, bad):
        with pytest.raises((TypeError, ValueError)):
            conditional(etag=lambda: 1, vary=bad)

    def test_vary_string_config_is_rejected(self):
        app = Flask(__name__)
        app.config["CONDPOLL_VARY"] = "HX-Request"
        with pytest.raises(TypeError, match=r"write \['HX-Request'\]"):
            CondPoll(app)


class TestCacheControl:
    def test_page_revalidates(self, client):
        assert client.get("/weak").headers["Cache-Control"] == "private, no-cache"

    @pytest.mark.parametrize("header", ["HX-Request", "X-Up-Target"])
    def test_polls_are_never_stored(self, client, header):
        tag = tag_of(client, "/weak", **{header: "true"})
        response = client.get("/weak", headers={header: "true"})
        assert response.headers["Cache-Control"] == "no-store"
        short = client.get("/weak", headers={header: "true", "If-None-Match": tag})
        assert short.status_code == 304
        assert short.headers["Cache-Control"] == "no-store"

    def test_per_view_value_applies_to_both(self, app, client):
        @app.get("/public")
        @conditional(etag=lambda: 1, cache_control="public, max-age=60")
        def public():
            return "x"

        assert client.get("/public").headers["Cache-Control"] == "public, max-age=60"
        fragment = client.get("/public", headers={"HX-Request": "true"})
        assert fragment.headers["Cache-Control"] == "public, max-age=60"

    def test_config_defaults(self, resource):
        app = Flask(__name__)
        app.config.update(
            SECRET_KEY="s",
            CONDPOLL_CACHE_CONTROL="no-cache",
            CONDPOLL_FRAGMENT_CACHE_CONTROL=None,
            CONDPOLL_WEAK=False,
        )
        CondPoll(app)

        @app.get("/")
        @conditional(etag=lambda: 1)
        def index():
            return "x"

        client = app.test_client()
        page = client.get("/")
        assert page.headers["Cache-Control"] == "no-cache"
        assert not page.headers["ETag"].startswith("W/")
        assert (
            "Cache-Control" not in client.get("/", headers={"HX-Request": "1"}).headers
        )


class TestFailOpen:
    @pytest.fixture
    def broken(self, app):
        calls = []

        def explode(**kwargs):
            raise ConnectionError("database down")

        @app.route("/broken", methods=["GET", "PUT"])
        @conditional(etag=explode)
        def broken_view():
            calls.append(1)
            return "rendered anyway"

        return calls

    def test_view_runs_without_validators(self, client, broken, caplog):
        with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
            response = client.get("/broken", headers={"If-None-Match": "*"})
        assert response.status_code == 200
        assert response.data == b"rendered anyway"
        assert "ETag" not in response.headers
        assert "Cache-Control" not in response.headers
        assert "database down" in caplog.text
        assert "'broken_view'" in caplog.text

    def test_signal_is_sent(self, app, client, broken):
        seen = []
        with signals.generator_failed.connected_to(
            lambda sender, **kw: seen.append(kw), app
        ):
            client.get("/broken")
        assert seen[0]["endpoint"] == "broken_view"
        assert isinstance(seen[0]["exception"], ConnectionError)

    def test_conditional_write_is_not_let_through(self, client, broken):
        response = client.put("/broken", headers={"If-Match": '"anything"'})
        assert response.status_code == 503
        assert broken == []

    def test_unconditional_write_runs(self, client, broken):
        assert client.put("/broken").status_code == 200
        assert broken == [1]

    def test_failing_mixin_fails_open(self):
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "s"
        condpoll = CondPoll(app)

        @condpoll.etag_mixin
        def broken():
            raise LookupError("no user")

        @app.get("/")
        @conditional(etag=lambda: 1)
        def index():
            return "x"

        response = app.test_client().get("/")
        assert response.status_code == 200
        assert "ETag" not in response.headers

    def test_bad_last_modified_type_fails_open(self, app, client):
        @app.get("/bad-date")
        @conditional(last_modified=lambda: "yesterday")
        def bad_date():
            return "x"

        response = client.get("/bad-date")
        assert response.status_code == 200
        assert "Last-Modified" not in response.headers


class TestCurrentValidators:
    def test_view_sees_the_generator_value(self, app, client):
        @app.get("/v")
        @conditional(etag=lambda: ("rows", 3))
        def v():
            validators = current_validators()
            return f"{validators.value} {validators.etag is not None} {validators.weak}"

        assert client.get("/v").data == b"('rows', 3) True True"

    def test_generator_runs_once(self, app, client):
        calls = []

        def version():
            calls.append(1)
            return 1

        @app.get("/once")
        @conditional(etag=version)
        def once():
            return str(current_validators().value)

        client.get("/once")
        assert calls == [1]

    def test_none_outside_conditional_views(self, app):
        with app.test_request_context():
            assert current_validators() is None


class TestSignals:
    def collect(self, app, signal):
        seen = []
        return seen, signal.connected_to(
            lambda sender, **kw: seen.append((sender, kw)), app
        )

    def test_not_modified(self, app, client):
        tag = tag_of(client, "/weak")
        seen, ctx = self.collect(app, signals.not_modified_sent)
        with ctx:
            client.get("/weak", headers={"If-None-Match": tag})
        sender, kw = seen[0]
        assert sender is app
        assert kw["endpoint"] == "weak"
        assert kw["status"] == 304
        assert kw["size"] == 0
        assert kw["elapsed"] >= 0

    def test_full_response(self, app, client):
        seen, ctx = self.collect(app, signals.full_response_sent)
        with ctx:
            client.get("/weak")
            client.put("/weak")
            client.head("/weak")
        assert [(kw["status"], kw["size"], kw["validated"]) for _, kw in seen] == [
            (200, len(b"weak body"), True),
            (200, len(b"weak body"), False),
            (200, 0, True),
        ]

    def test_precondition_failed(self, app, client):
        seen, ctx = self.collect(app, signals.precondition_failed_sent)
        with ctx:
            client.put("/strong", headers={"If-Match": '"x"'})
            client.put("/guarded")
        assert [kw["status"] for _, kw in seen] == [412, 428]
        assert all(kw["size"] > 0 for _, kw in seen)

    def test_error_handlers_render_412(self, app, client):
        @app.errorhandler(412)
        def stale(error):
            return {"error": "stale"}, 412

        response = client.put("/strong", headers={"If-Match": '"x"'})
        assert response.status_code == 412
        assert response.json == {"error": "stale"}


class TestErrors:
    def test_needs_a_generator(self):
        with pytest.raises(TypeError, match="'etag' or 'last_modified'"):
            conditional()

    def test_extension_missing(self):
        app = Flask(__name__)

        @app.get("/")
        @conditional(etag=lambda: 1)
        def index():
            return "x"

        app.testing = True
        with pytest.raises(RuntimeError, match=r"CondPoll\(app\)"):
            app.test_client().get("/")

    def test_registered_twice(self, app):
        with pytest.raises(RuntimeError, match="already been registered"):
            CondPoll(app)

    def test_init_app_later(self):
        condpoll = CondPoll()
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "s"
        condpoll.init_app(app)

        @app.get("/")
        @conditional(etag=lambda: 1)
        def index():
            return "x"

        assert "ETag" in app.test_client().get("/").headers
        assert app.config["CONDPOLL_WEAK"] is True


def test_async_view(app, client):
    pytest.importorskip("asgiref")

    @app.get("/async")
    @conditional(etag=lambda: 1)
    async def async_view():
        return "async"

    assert client.get("/async").data == b"async"


def test_failures_are_logged_once_per_outage(app, client, caplog):
    healthy = {"ok": False}

    def flaky():
        if not healthy["ok"]:
            raise ConnectionError("down")
        return 1

    @app.get("/flaky")
    @conditional(etag=flaky)
    def flaky_view():
        return "x"

    with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
        for _ in range(5):
            assert client.get("/flaky").status_code == 200
        healthy["ok"] = True
        assert "ETag" in client.get("/flaky").headers
        healthy["ok"] = False
        client.get("/flaky")
    messages = [record.getMessage() for record in caplog.records]
    failed = (
        "Version generator failed for 'flaky_view';"
        " answering in full until it recovers."
    )
    assert messages == [
        failed,
        "Version generator for 'flaky_view' works again.",
        failed,
    ]
