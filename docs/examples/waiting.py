"""A badge that updates as soon as a notification is committed."""

from flask import Flask
from flask import session
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.sqlalchemy import table_version
from flask_condpoll.sqlalchemy import track_commits

db = SQLAlchemy()
condpoll = CondPoll()


class Notification(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    read: Mapped[bool] = mapped_column(default=False)


def current_user_id():
    return session.get("user_id")


# Only this user's notifications wake this user's held polls.
mine = table_version(Notification, by=Notification.user_id, key=current_user_id)


def create_app(database_url="sqlite:///:memory:"):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="change me", SQLALCHEMY_DATABASE_URI=database_url)
    db.init_app(app)
    condpoll.init_app(app)
    condpoll.etag_mixin(current_user_id)
    track_commits(db.session)

    @app.get("/badge")
    @conditional(etag=mine, wait=25)  # hold an unchanged poll up to 25 s
    def badge():
        unread = db.select(db.func.count()).where(
            Notification.user_id == current_user_id(), ~Notification.read
        )
        return {"unread": db.session.scalar(unread)}

    @app.post("/login/<int:user_id>")
    def login(user_id):
        session["user_id"] = user_id
        return "", 204

    with app.app_context():
        db.create_all()
    return app
