"""Per-view plans: whether a URL's tags are weak or strong by default."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll


def split_app(get_rule: str, put_rule: str) -> tuple[Flask, dict[str, int]]:
    """GET and PUT of one document, declared as two views."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
    CondPoll(app)
    store = {"v": 1}

    @app.get(get_rule)
    @conditional(etag=lambda doc_id: store["v"])
    def read(doc_id: object) -> dict[str, int]:
        return store

    @app.put(put_rule)
    @conditional(etag=lambda doc_id: store["v"], require_precondition=True)
    def write(doc_id: object) -> dict[str, int]:
        store["v"] += 1
        return store

    return app, store


@pytest.mark.parametrize(
    ("get_rule", "put_rule"),
    [
        ("/docs/<int:doc_id>", "/docs/<int:doc_id>"),
        ("/docs/<int:doc_id>", "/docs/<doc_id>"),
        ("/docs/<string(length=1):doc_id>", "/docs/<any(a, b, '1'):doc_id>"),
    ],
)
def test_a_url_that_takes_writes_gets_strong_tags(get_rule: str, put_rule: str):
    """Rules that differ only in their converters describe one URL: the GET's
    tag is strong, so the PUT's If-Match passes."""
    app, store = split_app(get_rule, put_rule)
    client = app.test_client()
    tag = client.get("/docs/1").headers["ETag"]
    assert not tag.startswith("W/")
    assert client.put("/docs/1", headers={"If-Match": tag}).status_code == 200
    assert store["v"] == 2


def test_a_read_only_url_gets_weak_tags():
    app, _ = split_app("/docs/<int:doc_id>", "/other/<int:doc_id>")
    assert app.test_client().get("/docs/1").headers["ETag"].startswith("W/")
