"""A conditional app for multi-process stats tests, configured by environment."""

from __future__ import annotations

import os

from flask import abort
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
    if os.environ.get("STATS_APP_METRICS"):
        from flask_condpoll.stats.metrics import metrics_blueprint

        app.register_blueprint(metrics_blueprint())

    @app.get("/ready")
    def ready() -> str:  # not conditional: start-up probes are never counted
        return "ready"

    @app.get("/poll")
    @conditional(etag=lambda: "constant")
    def poll() -> str:
        return "polled" * 50

    @app.route("/doc", methods=["GET", "PUT"])
    @conditional(etag=lambda: "doc", weak=False, require_precondition=True)
    def doc() -> str:
        return "doc"

    @app.get("/broken")
    @conditional(etag=lambda: 1 / 0)
    def broken() -> str:
        return "fallback"

    @app.get("/gone")
    @conditional(etag=lambda: "gone")
    def gone() -> str:
        abort(404)

    return app
