"""Notifications with Flask-SQLAlchemy: an aggregate version and a registry version."""

from datetime import datetime
from datetime import UTC

from flask import Flask
from flask import session
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import bindparam
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.sqlalchemy import collection_version
from flask_condpoll.sqlalchemy import table_version
from flask_condpoll.sqlalchemy import track_commits

db = SQLAlchemy()
condpoll = CondPoll()


def utcnow():
    return datetime.now(UTC).replace(tzinfo=None)


class Notification(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    text: Mapped[str]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@condpoll.etag_mixin
def current_user_id():
    return session.get("user_id")


# The 50 newest notifications of the current user, built once.
newest = (
    db.select(Notification)
    .where(Notification.user_id == bindparam("user_id"))
    .order_by(Notification.id.desc())
    .limit(50)
)
newest_version = collection_version(
    newest, params=lambda: {"user_id": session.get("user_id")}
)

# One registry version per user: a notification for someone else leaves this
# user's badge at 304.
badge_version = table_version(
    Notification, by=Notification.user_id, key=current_user_id
)


def create_app(database_url="sqlite:///:memory:"):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="change me", SQLALCHEMY_DATABASE_URI=database_url)
    db.init_app(app)
    condpoll.init_app(app)
    track_commits(db.session)

    @app.get("/notifications")
    @conditional(etag=newest_version, last_modified=newest_version.last_modified)
    def notifications():
        rows = db.session.execute(newest, {"user_id": session.get("user_id")})
        return [n.text for n in rows.scalars()]

    @app.get("/notifications/badge")
    @conditional(etag=badge_version)  # no query on a 304
    def badge():
        query = db.select(db.func.count()).where(
            Notification.user_id == session.get("user_id")
        )
        return {"unread": db.session.scalar(query)}

    @app.post("/login/<int:user_id>")
    def login(user_id):
        session["user_id"] = user_id
        return "", 204

    with app.app_context():
        db.create_all()
    return app
