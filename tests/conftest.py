from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import UTC

import pytest
from flask import Flask
from flask import request

from flask_condpoll import conditional
from flask_condpoll import CondPoll


@dataclass
class Resource:
    """The data behind the test views: change it and the validators follow."""

    version: object = 1
    modified: datetime | None = datetime(2024, 5, 1, 12, 0, 0, 750000)
    calls: list[str] = field(default_factory=list)

    def etag(self, **kwargs: t.Any) -> object:
        return self.version

    def last_modified(self, **kwargs: t.Any) -> datetime | None:
        return self.modified


#: ``Last-Modified`` of the default resource on the wire (sub-seconds dropped).
LAST_MODIFIED = "Wed, 01 May 2024 12:00:00 GMT"
BEFORE = "Wed, 01 May 2024 11:59:59 GMT"
AFTER = "Wed, 01 May 2024 12:00:01 GMT"
MODIFIED_UTC = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def resource() -> Resource:
    return Resource()


@pytest.fixture
def app(resource: Resource) -> Flask:
    return make_app(resource)


def make_app(resource: Resource, **config: t.Any) -> Flask:
    """An app with conditional views over ``resource``."""
    app = Flask(__name__)
    app.config.update({"TESTING": True, "SECRET_KEY": "test secret", **config})
    CondPoll(app)
    methods = ["GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]

    @app.route("/weak", methods=methods)
    @conditional(etag=resource.etag, last_modified=resource.last_modified, weak=True)
    def weak() -> str:
        resource.calls.append(request.method)
        return "weak body"

    @app.route("/strong", methods=methods)
    @conditional(etag=resource.etag, last_modified=resource.last_modified, weak=False)
    def strong() -> str:
        resource.calls.append(request.method)
        return "strong body"

    @app.route("/dated", methods=methods)
    @conditional(last_modified=resource.last_modified)
    def dated() -> str:
        resource.calls.append(request.method)
        return "dated body"

    @app.route("/guarded", methods=methods)
    @conditional(etag=resource.etag, weak=False, require_precondition=True)
    def guarded() -> str:
        resource.calls.append(request.method)
        return "guarded body"

    return app


@pytest.fixture
def client(app: Flask) -> t.Any:
    return app.test_client()


def tag_of(client: t.Any, url: str, **headers: str) -> str:
    """The ETag header a plain GET of ``url`` receives."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return t.cast(str, response.headers["ETag"])


@pytest.fixture(autouse=True)
def _no_default_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps made by tests collect stats only where a test asks for them."""
    from flask_condpoll.settings import DEFAULTS

    monkeypatch.setitem(DEFAULTS, "CONDPOLL_STATS_URL", None)
