"""A live search: which parts of the query string go into the tag."""

from flask import Flask
from flask import request

from flask_condpoll import conditional
from flask_condpoll import CondPoll

app = Flask(__name__)
app.secret_key = "change me"
condpoll = CondPoll(app)

BOOKS = ["Dune", "Emma", "Middlemarch", "Ulysses"]
VERSION = {"books": 1}  # bumped whenever BOOKS changes
PER_PAGE = 2


def results_version():
    return VERSION["books"]


@app.get("/search")
@conditional(etag=results_version, query=["q", "page"])  # only these count
def search():
    q = request.args.get("q", "").lower()
    page = request.args.get("page", 1, type=int)
    hits = [book for book in BOOKS if q in book.lower()]
    return hits[(page - 1) * PER_PAGE : page * PER_PAGE]


@app.get("/books")
@conditional(etag=results_version, query=False)  # none counts
def books():
    return BOOKS
