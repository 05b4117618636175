"""The signed-in user in every tag, with Flask-Login."""

from flask import Flask
from flask_login import current_user
from flask_login import login_user
from flask_login import LoginManager
from flask_login import UserMixin

from flask_condpoll import conditional
from flask_condpoll import CondPoll

app = Flask(__name__)
app.secret_key = "change me"
login_manager = LoginManager(app)
condpoll = CondPoll(app)

NEWS = {"version": 1}


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


@login_manager.user_loader
def load_user(user_id):
    return User(user_id)


@condpoll.etag_mixin
def current_user_id():
    return current_user.get_id()  # None when anonymous


@app.get("/news")
@conditional(etag=lambda: NEWS["version"])
def news():
    name = current_user.get_id() or "stranger"
    return f"Hello {name}, here is the news."


@app.post("/login/<user_id>")
def login(user_id):
    login_user(User(user_id))
    return "", 204
