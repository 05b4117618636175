"""The quickstart app: a conditional view over an in-memory list."""

from flask import Flask
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import current_validators

app = Flask(__name__)
app.secret_key = "change me"
condpoll = CondPoll(app)

ITEMS = {1: ["milk", "eggs"]}
VERSIONS = {1: 1}  # bumped on every change to a list


@condpoll.etag_mixin
def current_user():
    return session.get("user_id")


def items_version(list_id):
    return VERSIONS.get(list_id)


@app.get("/lists/<int:list_id>/items")
@conditional(etag=items_version)
def items(list_id):
    version = current_validators().value
    return {"version": version, "items": ITEMS[list_id]}


@app.post("/lists/<int:list_id>/items")
@conditional(etag=items_version, weak=False, require_precondition=True)
def add_item(list_id):
    ITEMS[list_id].append("bread")
    VERSIONS[list_id] += 1
    return {"items": ITEMS[list_id]}, 201
