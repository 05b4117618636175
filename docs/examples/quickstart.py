"""The quickstart app: a shopping list read with GET and replaced with PUT."""

from flask import Flask
from flask import request
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import refresh_validators

app = Flask(__name__)
app.secret_key = "change me"
condpoll = CondPoll(app)

LISTS = {1: {"items": ["milk", "eggs"]}}
VERSIONS = {1: 1}  # bumped on every change to a list


@condpoll.etag_mixin
def current_user():
    return session.get("user_id")


def list_version(list_id):
    return VERSIONS.get(list_id)


@app.get("/lists/<int:list_id>")
@conditional(etag=list_version)
def read_list(list_id):
    return LISTS[list_id]


@app.put("/lists/<int:list_id>")
@conditional(etag=list_version, require_precondition=True)
def replace_list(list_id):
    LISTS[list_id] = request.get_json()  # stored exactly as sent
    VERSIONS[list_id] += 1
    refresh_validators()  # the response carries the list's new ETag
    return LISTS[list_id]
