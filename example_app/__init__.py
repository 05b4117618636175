"""An example app: a server status monitor whose panel polls conditionally."""

from __future__ import annotations

import json
import os
import typing as t

from flask import Flask

from flask_condpoll.stats import stats_page
from flask_condpoll.stats.metrics import metrics_blueprint

from .models import db


def create_app(test_config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create the example app.

    ``DATABASE_URL`` selects the database (SQLite in the instance folder by
    default); every ``CONDPOLL_*`` environment variable becomes a setting.
    """
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "example-app-secret"),
        EXAMPLE_POLL_INTERVAL=2,
        # The demo shows each answer's reason and time (the panels' indicators
        # read Server-Timing), and its stats in 10-second steps.
        CONDPOLL_SERVER_TIMING=True,
        CONDPOLL_STATS_BUCKET=10,
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DATABASE_URL", f"sqlite:///{os.path.join(app.instance_path, 'example.db')}"
        ),
    )
    for key, value in os.environ.items():
        if key.startswith("CONDPOLL_"):
            app.config[key] = _parse(value)
    if test_config is not None:
        app.config.update(test_config)

    db.init_app(app)

    from .frontend import bp as frontend
    from .steering import bp as steering
    from .views import bp
    from .views import condpoll

    condpoll.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(frontend)
    app.register_blueprint(steering)
    # Open to anyone: a demo. Pass guard= in a real app (see docs/stats.rst).
    app.register_blueprint(stats_page(interval=2), url_prefix="/condpoll")
    app.register_blueprint(metrics_blueprint())

    from .commands import activity_command
    from .commands import seed_command

    app.cli.add_command(seed_command)
    app.cli.add_command(activity_command)
    return app


def _parse(value: str) -> t.Any:
    """Read an environment value as JSON (``false``, ``["A", "B"]``), else text."""
    try:
        return json.loads(value)
    except ValueError:
        return value
