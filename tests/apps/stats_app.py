"""A conditional app for multi-process stats tests, configured by environment."""

from __future__ import annotations

import os

from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll


def create_app() -> Flask:
    app = Flask(__name__, instance_path=os.environ["STATS_APP_INSTANCE"])
    app.config.update(
        SECRET_KEY="stats",
        CONDPOLL_STATS_URL=os.environ["STATS_APP_URL"],
        CONDPOLL_STATS_PREFIX=os.environ.get("STATS_APP_PREFIX", "condpoll:"),
        CONDPOLL_STATS_FLUSH_INTERVAL=float(os.environ.get("STATS_APP_FLUSH", "0.5")),
        CONDPOLL_STATS_FLUSH_COUNT=int(os.environ.get("STATS_APP_FLUSH_COUNT", "200")),
    )
    CondPoll(app)

    @app.get("/poll")
    @conditional(etag=lambda: "constant")
    def poll() -> str:
        return "polled" * 50

    return app
