"""The headers a conditional response carries; a Content-Location that cannot
be computed or sent is left out, never a 500."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll


def make_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None, **config)
    CondPoll(app)
    return app


class TestContentLocation:
    @pytest.fixture(params=[True, False], ids=["testing", "production"])
    def app(self, request: pytest.FixtureRequest) -> Flask:
        app = make_app(TESTING=request.param)

        def canonical(name: str) -> str:
            if name == "down":
                raise ConnectionError("database went away")
            return f"/files/{name}.json"

        @app.get("/files/<name>")
        @conditional(etag=lambda name: 1, content_location=canonical)
        def file_meta(name: str) -> dict[str, str]:
            return {"name": name}

        return app

    def test_sent_on_the_200_and_the_304(self, app):
        client = app.test_client()
        full = client.get("/files/caf%C3%A9")
        assert full.headers["Content-Location"] == "/files/caf%C3%A9.json"
        short = client.get(
            "/files/caf%C3%A9", headers={"If-None-Match": full.headers["ETag"]}
        )
        assert short.headers["Content-Location"] == "/files/caf%C3%A9.json"

    @pytest.mark.parametrize("path", ["/files/a%0Ab", "/files/a%0D%0AX-Evil:%201"])
    def test_a_value_with_a_line_break_is_left_out(self, app, path, caplog):
        client = app.test_client()
        with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
            full = client.get(path)
            short = client.get(path, headers={"If-None-Match": full.headers["ETag"]})
        assert (full.status_code, short.status_code) == (200, 304)
        assert "Content-Location" not in full.headers
        assert "Content-Location" not in short.headers
        assert "X-Evil" not in full.headers
        assert "cannot be sent" in caplog.text

    def test_a_generator_that_raises_fails_open(self, app, caplog):
        client = app.test_client()
        with caplog.at_level(logging.ERROR, logger="flask_condpoll"):
            full = client.get("/files/down")
            short = client.get(
                "/files/down", headers={"If-None-Match": full.headers["ETag"]}
            )
            client.get("/files/down")
        assert full.status_code == 200
        assert full.json == {"name": "down"}
        assert short.status_code == 304
        assert "Content-Location" not in full.headers
        assert caplog.text.count("content_location of 'file_meta' failed") == 1
        assert client.get("/files/up").headers["Content-Location"] == "/files/up.json"

    def test_a_value_that_is_not_a_uri_is_left_out(self):
        app = make_app()

        @app.get("/hosts/<host>")
        @conditional(etag=lambda host: 1, content_location=lambda host: f"//{host}/")
        def hosts(host: str) -> str:
            return host

        response = app.test_client().get("/hosts/[bad")
        assert response.status_code == 200
        assert "Content-Location" not in response.headers


@pytest.mark.parametrize("location", ["", "   "])
def test_a_blank_content_location_is_left_out(location):
    app = make_app(TESTING=True)

    @app.get("/blank")
    @conditional(etag=lambda: 1, content_location=lambda: location)
    def blank() -> str:
        return "x"

    client = app.test_client()
    full = client.get("/blank")
    assert "Content-Location" not in full.headers
    short = client.get("/blank", headers={"If-None-Match": full.headers["ETag"]})
    assert short.status_code == 304
    assert "Content-Location" not in short.headers


def test_a_content_location_of_the_wrong_type_is_a_programming_error():
    app = make_app(TESTING=True)

    @app.get("/doc")
    @conditional(etag=lambda: 1, content_location=lambda: 42)
    def doc() -> str:
        return "x"

    with pytest.raises(TypeError, match="content_location must be a string"):
        app.test_client().get("/doc")
