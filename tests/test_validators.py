"""The tag names the resource: its URL (with the query string), the data, the
mixins and the representation-selecting headers; never the Python function."""

from __future__ import annotations

import typing as t
from collections import namedtuple
from decimal import Decimal

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask.views import MethodView
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from flask_condpoll import conditional
from flask_condpoll import CondPoll

from .conftest import tag_of

DOCS: dict[int, str] = {}
VERSIONS: dict[int, int] = {}


def doc_version(doc_id: int) -> int | None:
    return VERSIONS.get(doc_id)


@pytest.fixture(autouse=True)
def _documents() -> t.Iterator[None]:
    DOCS.clear()
    DOCS.update({1: "first", 2: "second"})
    VERSIONS.clear()
    VERSIONS.update({1: 1, 2: 1})
    yield


def write(doc_id: int) -> tuple[str, int]:
    DOCS[doc_id] = request.get_data(as_text=True)
    VERSIONS[doc_id] += 1
    return "saved", 200


def new_app(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "s", "TESTING": True, **config})
    return app


class TestSplitViews:
    """``@app.get`` and ``@app.put`` on one URL: the shape of every REST API."""

    @pytest.fixture
    def app(self) -> Flask:
        app = new_app()
        CondPoll(app)

        @app.get("/docs/<int:doc_id>")
        @conditional(etag=doc_version)
        def read(doc_id):
            return DOCS[doc_id]

        @app.put("/docs/<int:doc_id>")
        @conditional(etag=doc_version, require_precondition=True)
        def replace(doc_id):
            return write(doc_id)

        @app.delete("/docs/<int:doc_id>")
        @conditional(etag=doc_version)
        def remove(doc_id):
            del DOCS[doc_id]
            VERSIONS.pop(doc_id)
            return "", 204

        return app

    def test_the_gets_tag_passes_the_puts_if_match(self, app):
        client = app.test_client()
        tag = tag_of(client, "/docs/1")
        assert not tag.startswith("W/"), "a URL that takes writes needs strong tags"
        response = client.put("/docs/1", data="new", headers={"If-Match": tag})
        assert response.status_code == 200
        assert DOCS[1] == "new"

    def test_a_stale_tag_changes_nothing(self, app):
        client = app.test_client()
        tag = tag_of(client, "/docs/1")
        client.put("/docs/1", data="one", headers={"If-Match": tag})
        response = client.put("/docs/1", data="two", headers={"If-Match": tag})
        assert response.status_code == 412
        assert DOCS[1] == "one"

    def test_delete_with_the_gets_tag(self, app):
        client = app.test_client()
        tag = tag_of(client, "/docs/2")
        assert client.delete("/docs/2", headers={"If-Match": tag}).status_code == 204
        assert 2 not in DOCS

    def test_another_documents_tag_never_passes(self, app):
        client = app.test_client()
        other = tag_of(client, "/docs/2")
        assert client.put("/docs/1", headers={"If-Match": other}).status_code == 412

    def test_a_fragments_tag_passes_a_pages_write(self, app):
        """The same state seen through htmx (``HX-Request``) or as a page: a
        write compares the state, not the representation."""
        client = app.test_client()
        fragment = tag_of(client, "/docs/1", **{"HX-Request": "true"})
        page = tag_of(client, "/docs/1")
        assert fragment != page
        response = client.put("/docs/1", data="x", headers={"If-Match": fragment})
        assert response.status_code == 200

    def test_a_fragments_tag_never_gives_a_page_304(self, app):
        client = app.test_client()
        fragment = tag_of(client, "/docs/1", **{"HX-Request": "true"})
        assert (
            client.get("/docs/1", headers={"If-None-Match": fragment}).status_code
            == 200
        )


class TestQueryString:
    @pytest.fixture
    def app(self) -> Flask:
        app = new_app()
        CondPoll(app)

        @app.get("/search")
        @conditional(etag=lambda: "same data")
        def search():
            return f"results for {request.args.get('q')}"

        @app.get("/narrow")
        @conditional(etag=lambda: "same data", query=["q", "page"])
        def narrow():
            return f"results for {request.args.getlist('q')}"

        @app.get("/whole")
        @conditional(etag=lambda: "same data", query=False)
        def whole():
            return "the same for any query"

        return app

    def test_another_query_is_another_representation(self, app):
        client = app.test_client()
        tag = tag_of(client, "/search?q=an")
        response = client.get("/search?q=ch", headers={"If-None-Match": tag})
        assert response.status_code == 200
        assert response.data == b"results for ch"
        assert (
            client.get("/search?q=an", headers={"If-None-Match": tag}).status_code
            == 304
        )

    def test_no_query_and_an_empty_one_differ_from_a_real_one(self, app):
        client = app.test_client()
        assert tag_of(client, "/search") != tag_of(client, "/search?q=")

    def test_only_the_named_parameters_count(self, app):
        client = app.test_client()
        tag = tag_of(client, "/narrow?q=a&utm_source=mail")
        hit = client.get("/narrow?utm_source=feed&q=a", headers={"If-None-Match": tag})
        assert hit.status_code == 304
        assert (
            client.get("/narrow?q=b", headers={"If-None-Match": tag}).status_code == 200
        )
        assert (
            client.get("/narrow?q=a&page=2", headers={"If-None-Match": tag}).status_code
            == 200
        )
        assert (
            client.get("/narrow?q=a&q=b", headers={"If-None-Match": tag}).status_code
            == 200
        )

    def test_query_false_ignores_it(self, app):
        client = app.test_client()
        tag = tag_of(client, "/whole?_=1700000000")
        assert (
            client.get(
                "/whole?_=1700000001", headers={"If-None-Match": tag}
            ).status_code
            == 304
        )


class TestWhereTheViewLives:
    def test_app_factory_with_a_blueprint(self):
        bp = Blueprint("docs", __name__, url_prefix="/api")

        @bp.get("/docs/<int:doc_id>")
        @conditional(etag=doc_version)
        def read(doc_id):
            return DOCS[doc_id]

        @bp.put("/docs/<int:doc_id>")
        @conditional(etag=doc_version)
        def replace(doc_id):
            return write(doc_id)

        condpoll = CondPoll()

        def create_app() -> Flask:
            app = new_app()
            condpoll.init_app(app)
            app.register_blueprint(bp)
            return app

        one, two = create_app().test_client(), create_app().test_client()
        tag = tag_of(one, "/api/docs/1")
        assert two.get("/api/docs/1", headers={"If-None-Match": tag}).status_code == 304
        assert (
            two.put("/api/docs/1", data="x", headers={"If-Match": tag}).status_code
            == 200
        )

    def test_method_view_methods(self):
        app = new_app()
        CondPoll(app)

        class Doc(MethodView):
            @conditional(etag=doc_version)
            def get(self, doc_id):
                return DOCS[doc_id]

            @conditional(etag=doc_version, require_precondition=True)
            def put(self, doc_id):
                return write(doc_id)

        app.add_url_rule("/docs/<int:doc_id>", view_func=Doc.as_view("doc"))
        client = app.test_client()
        tag = tag_of(client, "/docs/1")
        assert client.get("/docs/1", headers={"If-None-Match": tag}).status_code == 304
        assert client.put("/docs/1").status_code == 428
        assert (
            client.put("/docs/1", data="x", headers={"If-Match": tag}).status_code
            == 200
        )

    def test_class_decorators(self):
        app = new_app()
        CondPoll(app)

        class Doc(MethodView):
            decorators = [conditional(etag=doc_version)]  # noqa: RUF012

            def get(self, doc_id):
                return DOCS[doc_id]

            def put(self, doc_id):
                return write(doc_id)

        app.add_url_rule("/docs/<int:doc_id>", view_func=Doc.as_view("doc"))
        client = app.test_client()
        tag = tag_of(client, "/docs/1")
        assert client.get("/docs/1", headers={"If-None-Match": tag}).status_code == 304
        assert (
            client.put("/docs/1", data="x", headers={"If-Match": tag}).status_code
            == 200
        )
        assert (
            client.put("/docs/1", data="y", headers={"If-Match": tag}).status_code
            == 412
        )

    def test_mounted_under_a_prefix(self):
        """SCRIPT_NAME is part of the URL: two mounted copies of one app never
        share a tag, and each keeps its own 304s."""
        apps = []
        for _ in range(2):
            app = new_app()
            CondPoll(app)
            app.add_url_rule(
                "/docs/<int:doc_id>",
                "read",
                conditional(etag=doc_version)(lambda doc_id: DOCS[doc_id]),
            )
            apps.append(app)
        client = Client(DispatcherMiddleware(apps[0], {"/b": apps[1]}))
        a = client.get("/docs/1").headers["ETag"]
        b = client.get("/b/docs/1").headers["ETag"]
        assert a != b
        assert client.get("/b/docs/1", headers={"If-None-Match": b}).status_code == 304
        assert client.get("/b/docs/1", headers={"If-None-Match": a}).status_code == 200


class TestValuesUsersReturn:
    @pytest.mark.parametrize(
        "value",
        [
            (3, "2024-05-01"),
            namedtuple("Row", "count newest")(3, "2024-05-01"),
            [3, "2024-05-01"],
            {"count": 3},
            Decimal("1.50"),
        ],
    )
    def test_sequences_and_named_tuples(self, value):
        app = new_app()
        CondPoll(app)
        app.add_url_rule("/", "index", conditional(etag=lambda: value)(lambda: "x"))
        client = app.test_client()
        tag = tag_of(client, "/")
        assert client.get("/", headers={"If-None-Match": tag}).status_code == 304

    def test_sqlalchemy_row(self, tmp_path):
        sa = pytest.importorskip("sqlalchemy")
        engine = sa.create_engine(f"sqlite:///{tmp_path}/rows.db")

        def version():
            with engine.connect() as connection:
                return connection.execute(
                    sa.select(sa.func.count(), sa.literal("x"))
                ).one()

        app = new_app()
        CondPoll(app)
        app.add_url_rule("/", "index", conditional(etag=version)(lambda: "x"))
        client = app.test_client()
        tag = tag_of(client, "/")
        assert client.get("/", headers={"If-None-Match": tag}).status_code == 304
        engine.dispose()

    def test_equal_rows_and_tuples_make_the_same_tag(self, tmp_path):
        sa = pytest.importorskip("sqlalchemy")
        from flask_condpoll.core.tags import encode

        engine = sa.create_engine("sqlite://")
        with engine.connect() as connection:
            row = connection.execute(sa.select(sa.literal(1), sa.literal("a"))).one()
        assert encode(row) == encode((1, "a"))
