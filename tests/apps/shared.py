"""A small app served from separate processes that share a database and Redis."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.sqlalchemy import table_version
from flask_condpoll.sqlalchemy import track_commits


def create_app(database_url: str, redis_url: str, prefix: str) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="shared secret",
        CONDPOLL_REGISTRY_URL=redis_url,
        CONDPOLL_REGISTRY_PREFIX=prefix,
    )
    CondPoll(app)
    engine = sa.create_engine(database_url)
    metadata = sa.MetaData()
    items = sa.Table(
        f"{prefix.strip(':')}_items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
    )
    metadata.create_all(engine)
    session_factory = sessionmaker(engine)
    track_commits(session_factory)

    @app.get("/items")
    @conditional(etag=table_version(items))
    def list_items() -> str:
        with session_factory() as session:
            return str(session.scalar(sa.select(sa.func.count()).select_from(items)))

    @app.post("/items")
    def add_item() -> tuple[str, int]:
        with session_factory() as session:
            session.execute(sa.insert(items))
            session.commit()
        return "added", 201

    return app


def serve(ports: t.Any, database_url: str, redis_url: str, prefix: str) -> None:
    """Serve the app on a free loopback port; report the port on ``ports``."""
    server = make_server("127.0.0.1", 0, create_app(database_url, redis_url, prefix))
    ports.put(server.port)
    server.serve_forever()
