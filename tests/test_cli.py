"""``flask condpoll routes`` through the CLI runner."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll


def make_app(stats_url: str | None, tmp_path) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=stats_url)
    CondPoll(app)
    app.version = 1

    @app.get("/items/<int:list_id>")
    @conditional(etag=lambda list_id: app.version)
    def items(list_id):
        return "i" * 1000

    @app.route("/doc", methods=["GET", "PUT"])
    @conditional(etag=lambda: 1, weak=False, require_precondition=True, vary=[])
    def doc():
        return "d"

    app.add_url_rule("/plain", "plain", lambda: "p")
    return app


@pytest.fixture
def app(tmp_path):
    return make_app("sqlite:///stats.db", tmp_path)


def traffic(app: Flask) -> None:
    client = app.test_client()
    tag = client.get("/items/1").headers["ETag"]
    for _ in range(30):
        client.get("/items/1", headers={"If-None-Match": tag})
    for _ in range(25):
        client.get("/doc")
        client.get("/doc", headers={"If-None-Match": '"x"'})
    app.extensions["condpoll"].stats.flush()


def run(app: Flask, *args: str, **kwargs):
    return app.test_cli_runner().invoke(args=["condpoll", *args], **kwargs)


class TestRoutes:
    def test_text(self, app):
        result = run(app, "routes")
        assert result.exit_code == 0
        assert result.output.splitlines()[:8] == [
            "/doc  [GET, HEAD, PUT]  doc",
            "    etag: tests.test_cli.make_app.<locals>.<lambda>",
            "    tag: strong",
            "    vary: -",
            "    query: all of it",
            "    mixins: -",
            "    cache-control: private, no-cache (polls: no-store)",
            "    writes need a precondition (428 without one)",
        ]
        assert "/items/<int:list_id>  [GET, HEAD]  items" in result.output
        assert "vary: HX-Request, X-Up-Target" in result.output
        assert "/plain" not in result.output

    def test_json(self, app):
        routes = json.loads(run(app, "routes", "--json").output)
        assert [route["endpoint"] for route in routes] == ["doc", "items"]
        assert routes[1]["weak"] is True

    def test_generator_names(self, tmp_path):
        pytest.importorskip("sqlalchemy")
        import sqlalchemy as sa

        from flask_condpoll.sqlalchemy import collection_version
        from flask_condpoll.sqlalchemy import table_version

        table = sa.Table(
            "notes", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)
        )
        app = make_app(None, tmp_path)
        app.add_url_rule(
            "/a", "a", conditional(etag=collection_version(table))(lambda: "")
        )
        app.add_url_rule("/b", "b", conditional(etag=table_version(table))(lambda: ""))
        output = run(app, "routes").output
        assert "etag: collection_version(notes, 'composite')" in output
        assert "etag: table_version(notes)" in output

    def test_none(self, tmp_path):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
        CondPoll(app)
        assert "No view is decorated" in run(app, "routes").output
