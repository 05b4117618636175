"""The decorator's behaviour: tags, mixins, vary, cache-control, failures, signals."""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import pytest
from flask import abort
from flask import Flask
from flask import request
from flask import Response
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import current_validators
from flask_condpoll import signals

from .conftest import BEFORE
from .conftest import LAST_MODIFIED
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
        two = make_app(resource, SECRET_KEY="another secret")
        tag = tag_of(one.test_client(), "/weak")
        response = two.test_client().get("/weak", headers={"If-None-Match": tag})
        assert response.status_code == 200

    def test_condpoll_secret_key_wins(self, resource):
        one = make_app(resource)
        two = make_app(resource, CONDPOLL_SECRET_KEY="dedicated")
        assert tag_of(one.test_client(), "/weak") != tag_of(two.test_client(), "/weak")

    def test_missing_secret_fails_at_start_up(self):
        app = Flask(__name__)
        with pytest.raises(RuntimeError, match="SECRET_KEY or CONDPOLL_SECRET_KEY"):
            CondPoll(app)

    def test_unsupported_value_raises_while_testing(self, app, client):
        @app.get("/odd")
        @conditional(etag=lambda: object())
        def odd():
            return "rendered"

        with pytest.raises(TypeError, match="Cannot use a 'object' value in an ETag"):
            client.get("/odd")

    def test_unsupported_value_fails_open_in_production(self, app, client, caplog):
        app.testing = False

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
        # Still private: without a tag the page is no more shareable.
        assert response.headers["Cache-Control"] == "private, no-cache"
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

    def test_bad_last_modified_type_fails_open_in_production(self, app, client):
        app.testing = False

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
        with pytest.raises(TypeError, match="an 'etag' or a 'last_modified'"):
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
        assert app.config["CONDPOLL_WEAK"] is None


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


class TestOptionalWhitespace:
    """RFC 9110 §5.5: whitespace around a field value is not part of it."""

    @pytest.mark.parametrize("pad", [" ", "\t", " \t "])
    def test_create_only_guard_with_trailing_whitespace(self, client, resource, pad):
        response = client.put("/strong", headers={"If-None-Match": f"*{pad}"})
        assert response.status_code == 412
        assert resource.calls == []

    @pytest.mark.parametrize("pad", [" ", "\t"])
    def test_every_field(self, client, pad):
        tag = tag_of(client, "/strong")
        padded = {
            "If-None-Match": f"{pad}{tag}{pad}",
            "If-Modified-Since": f"{pad}{LAST_MODIFIED}{pad}",
        }
        for name, value in padded.items():
            response = client.get("/strong", headers={name: value})
            assert response.status_code == 304, name
        put = client.put("/strong", headers={"If-Match": f"{pad}{tag}{pad}"})
        assert put.status_code == 200
        stale = client.put(
            "/strong", headers={"If-Unmodified-Since": f"{pad}{BEFORE}{pad}"}
        )
        assert stale.status_code == 412
        ptag = client.get(
            "/strong", headers={"HX-Request": "true", "HX-PTag": f"{pad}{tag}{pad}"}
        )
        assert ptag.status_code in (200, 204)

    def test_over_a_real_socket(self, app, resource):
        """Werkzeug's dev server passes the whitespace through to the app."""
        import http.client
        import threading

        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port)
            connection.putrequest("PUT", "/strong")
            connection.putheader("If-None-Match", "* ")
            connection.putheader("Content-Length", "0")
            connection.endheaders()
            assert connection.getresponse().status == 412
            assert resource.calls == []
        finally:
            server.shutdown()
            thread.join()


class TestInvalidDates:
    @pytest.mark.parametrize(
        "value",
        [
            "Fri, 31 Dec 9999 23:59:59 -0100",
            "Mon, 01 Jan 0001 00:00:00 +0100",
            "Sat, 01 Jan 10000 00:00:00 GMT",
            "99999999999999999999",
            "Wed, 01 May 2024 12:00:00 +0000",
        ],
    )
    @pytest.mark.parametrize("field", ["If-Modified-Since", "If-Unmodified-Since"])
    @pytest.mark.parametrize("method", ["GET", "PUT"])
    def test_are_ignored_never_a_500(self, client, resource, value, field, method):
        response = client.open("/weak", method=method, headers={field: value})
        assert response.status_code == 200
        assert resource.calls == [method]


class TestLastModified:
    def test_never_later_than_now(self, app, client):
        """RFC 9110 §8.8.2.1: a future modification date is replaced by the
        response's own date."""
        from werkzeug.http import parse_date

        @app.get("/future")
        @conditional(last_modified=lambda: datetime.now(UTC) + timedelta(hours=1))
        def future():
            return "x"

        before = datetime.now(UTC).replace(microsecond=0)
        response = client.get("/future")
        sent = parse_date(response.headers["Last-Modified"])
        assert before <= sent <= datetime.now(UTC)
        response = client.get(
            "/future", headers={"If-Modified-Since": response.headers["Last-Modified"]}
        )
        assert response.status_code in (200, 304)

    def test_a_304_repeats_no_representation_metadata(self, client):
        tag = tag_of(client, "/weak")
        response = client.get("/weak", headers={"If-None-Match": tag})
        assert "Last-Modified" not in response.headers


class TestHttpErrorsFromGenerators:
    @pytest.fixture
    def app(self, resource):
        app = make_app(resource)

        def lookup(doc_id):
            if doc_id == 404:
                abort(404)
            if doc_id == 403:
                abort(403)
            return doc_id

        @app.route("/docs/<int:doc_id>", methods=["GET", "PUT"])
        @conditional(etag=lookup)
        def doc(doc_id):
            resource.calls.append(request.method)
            return "doc"

        return app

    @pytest.mark.parametrize("status", [404, 403])
    @pytest.mark.parametrize("method", ["GET", "PUT"])
    def test_the_error_is_the_answer(
        self, app, client, resource, caplog, status, method
    ):
        with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
            response = client.open(
                f"/docs/{status}", method=method, headers={"If-Match": '"x"'}
            )
        assert response.status_code == status
        assert resource.calls == []
        assert caplog.records == []  # not an outage

    def test_it_is_counted(self, app, client):
        seen = []
        with signals.request_aborted.connected_to(
            lambda sender, **kw: seen.append(kw), app
        ):
            client.get("/docs/404")
        assert [kw["status"] for kw in seen] == [404]
        assert seen[0]["endpoint"] == "doc"

    @pytest.mark.parametrize("where", ["generator", "view"])
    def test_abort_with_a_response_reports_its_status(self, app, client, where):
        from flask import make_response

        def refuse():
            abort(make_response("no", 403))

        @app.get("/refused/<where>")
        @conditional(etag=lambda where: refuse() if where == "generator" else 1)
        def refused(where):
            refuse()

        seen = []
        with signals.request_aborted.connected_to(
            lambda sender, **kw: seen.append(kw["status"]), app
        ):
            assert client.get(f"/refused/{where}").status_code == 403
        assert seen == [403]


class TestRequirePreconditionAndCreation:
    @pytest.fixture
    def store(self, app):
        documents: dict[int, str] = {}

        @app.route("/files/<int:file_id>", methods=["GET", "PUT"])
        @conditional(
            etag=lambda file_id: documents.get(file_id), require_precondition=True
        )
        def files(file_id):
            if request.method == "PUT":
                created = file_id not in documents
                documents[file_id] = request.get_data(as_text=True)
                return "", 201 if created else 204
            return documents[file_id]

        return documents

    def test_if_none_match_star_creates_once(self, client, store):
        headers = {"If-None-Match": "*"}
        assert client.put("/files/1", data="a", headers=headers).status_code == 201
        assert client.put("/files/1", data="b", headers=headers).status_code == 412
        assert store == {1: "a"}

    def test_unconditional_write_is_428_even_while_the_generator_is_down(
        self, app, client
    ):
        @app.put("/down")
        @conditional(etag=lambda: 1 / 0, require_precondition=True)
        def down():
            return "written"

        assert client.put("/down").status_code == 428
        guarded = client.put("/down", headers={"If-Match": '"x"'})
        assert guarded.status_code == 503
        assert guarded.headers["Retry-After"] == "1"


class TestPTagAgainstIfNoneMatch:
    def test_a_stale_if_none_match_wins(self, client):
        tag = tag_of(client, "/weak", **{"HX-Request": "true"})
        response = client.get(
            "/weak",
            headers={"HX-Request": "true", "HX-PTag": tag, "If-None-Match": '"stale"'},
        )
        assert response.status_code == 200

    def test_no_cache_stores_the_204(self, app, client):
        """A 204 is cacheable by default (RFC 9110 §15.3.5): a shared cache
        that kept it would send the empty answer to pollers with no copy."""

        @app.get("/public")
        @conditional(
            etag=lambda: 1, cache_control="public, max-age=30", expires=timedelta(1)
        )
        def public():
            return "notice"

        poll = {"HX-Request": "true"}
        tag = client.get("/public", headers=poll).headers["HX-PTag"]
        answer = client.get("/public", headers=poll | {"HX-PTag": tag})
        assert answer.status_code == 204
        assert answer.headers["Cache-Control"] == "no-store"
        assert "Expires" not in answer.headers
        assert answer.headers["HX-PTag"] == tag
        page = client.get("/public").headers["ETag"]
        unchanged = client.get("/public", headers={"If-None-Match": page})
        assert unchanged.status_code == 304  # a 304 updates a stored 200
        assert unchanged.headers["Cache-Control"] == "public, max-age=30"


class TestStreaming:
    def test_a_streamed_body_is_never_consumed(self, app):
        produced = []

        def chunks():
            for n in range(10**9):  # endless, as a stream of events would be
                produced.append(n)
                yield f"chunk {n}\n"

        @app.get("/stream")
        @conditional(etag=lambda: 1)
        def stream():
            return Response(chunks(), mimetype="text/plain")

        sizes = []
        with signals.full_response_sent.connected_to(
            lambda sender, **kw: sizes.append(kw["size"]), app
        ):
            response = app.test_client().get("/stream", buffered=False)
        assert response.status_code == 200
        assert "ETag" in response.headers
        assert len(produced) <= 1
        assert sizes == [None]
        first = next(iter(response.response))
        assert first.startswith(b"chunk 0")
        response.close()


class TestAsyncGenerators:
    @pytest.fixture(autouse=True)
    def _asgiref(self):
        pytest.importorskip("asgiref")

    async def version(self) -> int:
        return 7

    def test_async_generator_with_a_sync_view(self, app, client):
        @app.get("/a")
        @conditional(etag=self.version)
        def a():
            return str(current_validators().value)

        response = client.get("/a")
        assert response.data == b"7"
        tag = response.headers["ETag"]
        assert client.get("/a", headers={"If-None-Match": tag}).status_code == 304

    def test_async_generator_with_an_async_view(self, app, client):
        @app.get("/b")
        @conditional(etag=self.version)
        async def b():
            return str(current_validators().value)

        response = client.get("/b")
        assert response.data == b"7"
        tag = response.headers["ETag"]
        assert client.get("/b", headers={"If-None-Match": tag}).status_code == 304

    def test_async_mixin(self):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True)
        condpoll = CondPoll(app)

        @condpoll.etag_mixin
        async def who():
            return request.headers.get("X-User")

        @app.get("/c")
        @conditional(etag=lambda: 1)
        def c():
            return "c"

        client = app.test_client()
        tag = client.get("/c", headers={"X-User": "a"}).headers["ETag"]
        again = {"X-User": "a", "If-None-Match": tag}
        assert client.get("/c", headers=again).status_code == 304
        other = {"X-User": "b", "If-None-Match": tag}
        assert client.get("/c", headers=other).status_code == 200


class TestPerViewMixins:
    @pytest.fixture
    def app(self):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True)
        condpoll = CondPoll(app)

        @condpoll.etag_mixin
        def user():
            return session.get("user_id")

        @app.post("/login/<int:user_id>")
        def login(user_id):
            session["user_id"] = user_id
            return "ok"

        @app.get("/public")
        @conditional(
            etag=lambda: 1, app_mixins=False, cache_control="public, max-age=60"
        )
        def public():
            return "the same for everyone"

        @app.get("/localized")
        @conditional(
            etag=lambda: 1, mixins=[lambda: request.args.get("lang")], query=False
        )
        def localized():
            return "x"

        return app

    def test_opting_out_shares_the_tag_between_users(self, app):
        alice, bob = app.test_client(), app.test_client()
        alice.post("/login/1")
        bob.post("/login/2")
        tag = tag_of(alice, "/public")
        response = bob.get("/public", headers={"If-None-Match": tag})
        assert response.status_code == 304
        assert "Cookie" not in response.headers.get("Vary", "")

    def test_extra_mixins_add_to_the_apps(self, app):
        client = app.test_client()
        client.post("/login/1")
        tag = tag_of(client, "/localized?lang=fr")
        assert (
            client.get("/localized?lang=fr", headers={"If-None-Match": tag}).status_code
            == 304
        )
        assert (
            client.get("/localized?lang=de", headers={"If-None-Match": tag}).status_code
            == 200
        )
        client.post("/login/2")
        assert (
            client.get("/localized?lang=fr", headers={"If-None-Match": tag}).status_code
            == 200
        )


class TestReasons:
    """Every answer knows which rule decided it, for explanations and metrics."""

    @pytest.fixture
    def reasons(self, app):
        seen: list[str] = []

        def hook(flow, response):
            seen.append((response.status_code, flow.reason))

        app.extensions["condpoll"].response_hooks.append(hook)
        return seen

    def test_each_rule(self, client, reasons):
        tag = tag_of(client, "/strong")
        fragment = tag_of(client, "/strong", **{"HX-Request": "1"})
        reasons.clear()
        client.get("/strong", headers={"If-None-Match": tag})
        client.get("/strong", headers={"If-Modified-Since": LAST_MODIFIED})
        client.get("/strong", headers={"HX-Request": "1", "HX-PTag": fragment})
        client.get("/strong", headers={"If-None-Match": '"old"'})
        client.get("/strong")
        client.put("/strong", headers={"If-Match": '"old"'})
        client.put("/strong", headers={"If-Unmodified-Since": BEFORE})
        client.put("/strong", headers={"If-None-Match": "*"})
        client.put("/strong", headers={"If-Match": tag})
        client.put("/guarded")
        assert reasons == [
            (304, "matched-if-none-match"),
            (304, "matched-if-modified-since"),
            (204, "matched-hx-ptag"),
            (200, "changed"),
            (200, "unconditional"),
            (412, "if-match-failed"),
            (412, "if-unmodified-since-failed"),
            (412, "if-none-match-failed"),
            (200, "preconditions-passed"),
            (428, "precondition-required"),
        ]

    def test_failures(self, app, client, reasons):
        app.testing = False

        @app.route("/down", methods=["GET", "PUT"])
        @conditional(etag=lambda: 1 / 0)
        def down():
            return "x"

        client.get("/down")
        client.put("/down", headers={"If-Match": '"x"'})
        assert reasons == [(200, "generator-failed"), (503, "unverifiable-write")]
