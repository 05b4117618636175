"""The stats page, for administrators only."""

from flask import Flask
from flask import redirect
from flask import session

from flask_condpoll import CondPoll
from flask_condpoll.stats import stats_page


def admins_only():
    """``None`` or ``True`` lets a request through, ``False`` answers 403,
    and a response is sent instead."""
    if "user_id" not in session:
        return redirect("/login")
    return session.get("role") == "admin"


def create_app(stats_url="sqlite:///condpoll-stats.sqlite3"):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="change me", CONDPOLL_STATS_URL=stats_url)
    CondPoll(app)
    page = stats_page(guard=admins_only, buckets=60, interval=5)
    app.register_blueprint(page, url_prefix="/condpoll")
    return app
