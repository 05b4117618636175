"""The benchmark's server: every scenario as a route, served by gunicorn.

Scenarios share one process (and so one WSGI server and one database file):
``/base`` has stats off and the in-process registry, ``/redis`` uses the
Redis registry, ``/stats`` collects stats in SQLite, ``/timing`` sends
Server-Timing, ``/scraped`` collects stats and serves ``/metrics``,
``/example`` is the example app (for its dashboard).
"""

from __future__ import annotations

import os
import random
from datetime import datetime
from datetime import UTC

import sqlalchemy as sa
from flask import Flask
from flask import render_template
from flask import request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.sqlalchemy import collection_version
from flask_condpoll.sqlalchemy import table_version

USERS = 100
PER_USER = 50


class Base(sa.orm.DeclarativeBase):
    pass


class Notification(Base):
    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    text: Mapped[str]
    read: Mapped[bool]
    updated_at: Mapped[datetime]


def build_database(path: str, now: datetime | None = None) -> None:
    """About 5,000 notifications: 50 for each of 100 users, updated at ``now``
    (naive UTC; defaults to the current time)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    rng = random.Random(1)
    if now is None:
        now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Notification),
            [
                {
                    "user_id": user,
                    "text": f"Notification {n} for user {user}: "
                    + "x" * rng.randint(20, 80),
                    "read": rng.random() < 0.8,
                    "updated_at": now,
                }
                for n in range(PER_USER)
                for user in range(1, USERS + 1)
            ],
        )
    engine.dispose()


def newest(user_id: object) -> sa.Select[tuple[Notification]]:
    return (
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.id.desc())
        .limit(50)
    )


def make_app(database: str, *, metrics: bool = False, **config: object) -> Flask:
    app = Flask(__name__, instance_path=os.environ["BENCH_INSTANCE"])
    app.config.update(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "CONDPOLL_STATS_URL": None,
            **config,
        }
    )
    db = SQLAlchemy(model_class=Base)
    db.init_app(app)
    CondPoll(app)
    if metrics:
        from flask_condpoll.stats.metrics import metrics_blueprint

        app.register_blueprint(metrics_blueprint())

    def render(user_id: int) -> str:
        notes = db.session.scalars(newest(user_id)).all()
        return render_template("notifications.html", notes=notes, user_id=user_id)

    @app.get("/a/<int:user_id>")
    def full(user_id: int) -> str:
        """A: full render, no validators."""
        return render(user_id)

    @app.get("/b/<int:user_id>")
    def hand_written(user_id: int) -> object:
        """B: one aggregate version query and a string-compared ETag."""
        row = db.session.execute(
            sa.select(
                sa.func.count(Notification.id), sa.func.max(Notification.updated_at)
            ).where(Notification.user_id == user_id)
        ).one()
        etag = f'"{row[0]}-{row[1]}"'
        if request.headers.get("If-None-Match") == etag:
            return "", 304
        return render(user_id), 200, {"ETag": etag}

    @app.get("/c/<int:user_id>")
    def werkzeug(user_id: int) -> object:
        """C: render, hash, compare: Werkzeug's add_etag and make_conditional."""
        response = app.make_response(render(user_id))
        response.add_etag()
        return response.make_conditional(request)

    @app.get("/d")
    def floor() -> object:
        """D: the floor, an empty 304."""
        return "", 304

    @app.get("/h/<int:user_id>")
    def floor_with_headers(user_id: int) -> object:
        """H: the floor on R's route shape, with the headers of R's 304."""
        response = app.response_class(status=304)
        response.headers["ETag"] = 'W/"Yfv9MuWqq_FGTs-8HgeLWQ"'
        response.headers["Vary"] = "HX-Request, X-Up-Target"
        response.headers["Cache-Control"] = "private, no-cache"
        return response

    version = collection_version(
        sa.select(Notification)
        .where(Notification.user_id == sa.bindparam("user_id"))
        .order_by(Notification.id.desc())
        .limit(50)
    )

    @app.get("/e/<int:user_id>")
    @conditional(etag=version)
    def condpoll_aggregate(user_id: int) -> str:
        return render(user_id)

    @app.get("/f/<int:user_id>")
    @conditional(etag=table_version(Notification))
    def condpoll_registry(user_id: int) -> str:
        return render(user_id)

    return app


def create_app() -> DispatcherMiddleware:
    database = os.environ["BENCH_DATABASE"]
    from example_app import create_app as create_example

    example = create_example(
        {"SQLALCHEMY_DATABASE_URI": os.environ["BENCH_EXAMPLE_DATABASE"],
         "CONDPOLL_STATS_URL": None, "CONDPOLL_SERVER_TIMING": False}
    )  # fmt: skip
    return DispatcherMiddleware(
        make_app(database),
        {
            "/redis": make_app(
                database, CONDPOLL_REGISTRY_URL=os.environ["BENCH_REDIS"]
            ),
            "/stats": make_app(database, CONDPOLL_STATS_URL="sqlite:///bench-stats.db"),
            "/timing": make_app(database, CONDPOLL_SERVER_TIMING=True),
            "/scraped": make_app(
                database,
                metrics=True,
                CONDPOLL_STATS_URL="sqlite:///bench-scraped-stats.db",
            ),
            "/example": example,
        },
    )
