"""A notification badge that polls conditionally, with any of the three clients."""

from flask import Flask
from flask import render_template
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.frontend import prepare_poll

COUNTS = {1: 3}  # unread notifications per user


def create_app(client="htmx2", library_url="/static/htmx.min.js", extension_url=None):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="change me",
        CONDPOLL_CLIENT=client,  # "htmx2", "htmx4" or "unpoly"
        CONDPOLL_LIBRARY_URL=library_url,  # your copy of htmx or Unpoly
        CONDPOLL_EXTENSION_URL=extension_url,  # htmx 4: its hx-ptag.js
    )
    condpoll = CondPoll(app)

    @condpoll.etag_mixin
    def current_user():
        return session.get("user_id")

    @app.get("/")
    def page():
        session["user_id"] = 1
        prepare_poll("badge", "badge", tag="span")  # before reading the count
        return render_template("polling_page.html", count=COUNTS[1])

    @app.get("/badge")
    @conditional(etag=lambda: COUNTS[session["user_id"]], poll=5)
    def badge():
        return render_template("badge.html", count=COUNTS[session["user_id"]])

    return app
