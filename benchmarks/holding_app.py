"""The app the held-poll benchmark serves: one partitioned registry version."""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.sqlalchemy import table_version

ITEMS = sa.Table(
    "items",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("part", sa.Integer),
)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="holding",
        CONDPOLL_STATS_URL=None,
        CONDPOLL_REGISTRY_URL=os.environ["HOLDING_REDIS"],
        CONDPOLL_REGISTRY_PREFIX=os.environ.get("HOLDING_PREFIX", "condpoll:"),
        CONDPOLL_WAIT_MAX_HELD=int(os.environ.get("HOLDING_MAX_HELD", "2000")),
    )
    CondPoll(app)
    version = table_version(ITEMS, by=ITEMS.c.part, key=lambda part: part)

    @app.get("/items/<int:part>")
    @conditional(etag=version, wait=float(os.environ.get("HOLDING_WAIT", "30")))
    def items(part: int) -> str:
        return f"items of part {part}"

    @app.get("/held")
    def held() -> dict[str, int]:
        """How many polls this worker holds now."""
        return {"held": app.extensions["condpoll"].waiters.held, "pid": os.getpid()}

    return app
