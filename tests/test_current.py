"""Validators from inside a conditional view's request: the ones computed
before it ran, and a write's new ones."""

from __future__ import annotations

import asyncio
import logging

import pytest
from flask import Flask
from flask import request
from werkzeug.exceptions import NotFound

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import current_validators
from flask_condpoll import NoValidators
from flask_condpoll import refresh_validators
from flask_condpoll import signals
from flask_condpoll import validators_for
from flask_condpoll.core.tags import UnsupportedValue


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
    CondPoll(app)
    app.store = {"body": "v1", "version": 1}

    @app.get("/doc")
    @conditional(etag=lambda: app.store["version"])
    def read():
        return app.store["body"]

    @app.put("/doc")
    @conditional(etag=lambda: app.store["version"], require_precondition=True)
    def replace():
        before = current_validators()
        app.store.update(body=request.get_data(as_text=True))
        app.store["version"] += 1
        after = refresh_validators()
        assert current_validators() is after
        assert after.etag != before.etag
        return app.store["body"]

    @app.patch("/doc")
    @conditional(etag=lambda: app.store["version"])
    def silent():
        app.store["version"] += 1
        return "no new tag"

    return app


class TestRefresh:
    def test_chained_writes_need_no_get(self, app):
        client = app.test_client()
        tag = client.get("/doc").headers["ETag"]
        first = client.put("/doc", data="v2", headers={"If-Match": tag})
        assert first.status_code == 200
        second = client.put(
            "/doc", data="v3", headers={"If-Match": first.headers["ETag"]}
        )
        assert second.status_code == 200
        assert (
            client.get(
                "/doc", headers={"If-None-Match": second.headers["ETag"]}
            ).status_code
            == 304
        )
        assert (
            client.put("/doc", data="x", headers={"If-Match": tag}).status_code == 412
        )

    def test_writes_send_no_tag_unless_asked(self, app):
        client = app.test_client()
        tag = client.get("/doc").headers["ETag"]
        response = client.patch("/doc", headers={"If-Match": tag})
        assert response.status_code == 200
        assert "ETag" not in response.headers

    def test_outside_a_conditional_view(self, app):
        with (
            app.test_request_context(),
            pytest.raises(RuntimeError, match="inside a @conditional"),
        ):
            refresh_validators()


class TestRefreshFailures:
    """A generator that fails when refresh_validators() runs it again: the
    write is done, so the response goes out, without a new tag."""

    @pytest.fixture
    def store(self) -> dict[str, object]:
        return {"v": 1, "fail": None}

    @pytest.fixture
    def failing(self, store) -> Flask:
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
        CondPoll(app)

        def version(doc_id):
            if store["fail"] is not None and store["v"] > 1:
                raise store["fail"]
            return store["v"]

        @app.put("/docs/<int:doc_id>")
        @conditional(etag=version)
        def put_doc(doc_id):
            store["v"] += 1
            refreshed = refresh_validators()
            return {"v": store["v"], "refreshed": refreshed is not None}

        return app

    @pytest.mark.parametrize(
        "failure", [ConnectionError("lost"), NoValidators(), NotFound()]
    )
    def test_no_new_tag_and_no_500(self, failing, store, failure):
        store["fail"] = failure
        response = failing.test_client().put("/docs/1", headers={"If-Match": "*"})
        assert response.status_code == 200
        assert response.json == {"v": 2, "refreshed": False}
        assert "ETag" not in response.headers

    def test_an_outage_is_logged_and_signalled(self, failing, store, caplog):
        store["fail"] = ConnectionError("lost")
        failed = []

        def receive(sender, **kw):
            failed.append(kw["exception"])

        signals.generator_failed.connect(receive, failing)
        try:
            with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
                failing.test_client().put("/docs/1")
        finally:
            signals.generator_failed.disconnect(receive, failing)
        assert failed == [store["fail"]]
        assert "refresh_validators()" in caplog.text

    def test_no_validators_is_not_logged(self, failing, store, caplog):
        store["fail"] = NoValidators()
        with caplog.at_level(logging.DEBUG, logger="flask_condpoll"):
            failing.test_client().put("/docs/1")
        assert caplog.text == ""

    def test_after_a_failure_before_the_view(self, failing, store):
        """The generator failed before the view ran (an unguarded write went
        ahead): refresh_validators() tries again."""
        store.update(v=0, fail=ConnectionError("lost"))
        versions = iter([ConnectionError("lost"), 7])

        def flaky(doc_id):
            result = next(versions)
            if isinstance(result, Exception):
                raise result
            return result

        failing.view_functions["put_doc"].condpoll.etag = flaky
        response = failing.test_client().put("/docs/1")
        assert response.status_code == 200
        assert response.json["refreshed"] is True
        assert "ETag" in response.headers

    def test_an_unsupported_value_is_a_programming_error(self, failing, store):
        failing.view_functions["put_doc"].condpoll.etag = lambda doc_id: (
            object() if store["v"] > 1 else 1
        )
        with pytest.raises(UnsupportedValue):
            failing.test_client().put("/docs/1")


class TestAsyncViews:
    """Async generators and mixins from an async view: refresh_validators()
    and validators_for() run them though the view's event loop is running."""

    @pytest.fixture
    def async_app(self) -> Flask:
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
        condpoll = CondPoll(app)
        app.store = {"v": 1}

        @condpoll.etag_mixin
        async def tenant():
            await asyncio.sleep(0)
            return "acme"

        async def version(doc_id):
            await asyncio.sleep(0)
            return app.store["v"]

        @app.get("/docs/<int:doc_id>")
        @conditional(etag=version)
        async def read(doc_id):
            return {"v": app.store["v"]}

        @app.put("/docs/<int:doc_id>")
        @conditional(etag=version, require_precondition=True)
        async def write(doc_id):
            app.store["v"] += 1
            return {"tag": refresh_validators().header}

        @app.get("/page")
        async def page():
            return {"tag": validators_for("read", {"doc_id": 1}).header}

        return app

    def test_refresh_validators(self, async_app):
        client = async_app.test_client()
        tag = client.get("/docs/1").headers["ETag"]
        response = client.put("/docs/1", headers={"If-Match": tag})
        assert response.status_code == 200
        assert response.headers["ETag"] == response.json["tag"] != tag
        assert client.get("/docs/1").headers["ETag"] == response.headers["ETag"]

    def test_validators_for(self, async_app):
        client = async_app.test_client()
        tag = client.get("/docs/1").headers["ETag"]
        assert client.get("/page").json == {"tag": tag}


def test_current_validators_outside_a_request_is_none():
    from flask import Flask

    app = Flask(__name__)
    assert current_validators() is None
    with app.app_context():
        assert current_validators() is None
