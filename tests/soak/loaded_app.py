"""The example app as many real apps are: a ``before_request`` user loader that
reads the database first, and a writer that commits through a savepoint with
the legacy bulk methods."""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import g
from flask import redirect
from flask import request
from flask import session

from example_app import create_app as create_example
from example_app.models import db
from example_app.models import Notification
from example_app.models import User


def create_app() -> Flask:
    app = create_example()

    @app.before_request
    def load_user() -> None:
        user_id = session.get("user_id")
        g.user = None if user_id is None else db.session.get(User, user_id)

    @app.post("/soak/notify")
    def notify() -> t.Any:
        user_id = int(request.form["user_id"])
        with db.session.begin_nested():
            db.session.bulk_insert_mappings(
                Notification, [{"user_id": user_id, "text": request.form["text"]}]
            )
        db.session.commit()
        return redirect("/")

    return app
