"""Decorator order: authentication above ``conditional``."""

import functools

from flask import abort
from flask import Flask
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll

app = Flask(__name__)
app.secret_key = "change me"
condpoll = CondPoll(app)
INBOX_VERSION = {"value": 1}


def login_required(view):
    @functools.wraps(view)
    def wrapper(**kwargs):
        if "user_id" not in session:
            abort(401)
        return view(**kwargs)

    return wrapper


@app.get("/inbox")
@login_required  # runs first: an anonymous request stops here, never sees a 304
@conditional(etag=lambda: INBOX_VERSION["value"])
def inbox():
    return "your messages"
