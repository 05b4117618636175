"""A fragment that is the same for every visitor: a shared cache may keep it."""

from flask import Flask
from flask import session
from markupsafe import escape

from flask_condpoll import conditional
from flask_condpoll import CondPoll

app = Flask(__name__)
app.secret_key = "change me"
condpoll = CondPoll(app)

NOTICE = {"text": "All systems normal.", "version": 1}


@condpoll.etag_mixin
def current_user():
    return session.get("user_id")


@app.get("/notice")
@conditional(
    etag=lambda: NOTICE["version"],
    app_mixins=False,  # no user in the tag: the same response for everyone,
    vary=(),  # for htmx and Unpoly requests too
    cache_control="public, max-age=30",  # for every request: do not poll it
)
def notice():
    return f'<p id="notice">{escape(NOTICE["text"])}</p>'
