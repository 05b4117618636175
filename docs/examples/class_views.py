"""Class-based views: decorate the methods one by one, or the whole view."""

from flask import Flask
from flask import request
from flask.views import MethodView

from flask_condpoll import conditional
from flask_condpoll import CondPoll

app = Flask(__name__)
app.secret_key = "change me"
condpoll = CondPoll(app)

DOCS = {1: {"body": "draft"}}
VERSIONS = {1: 1}  # bumped on every change to a document
REPORT = {"total": 42, "version": 1}


def doc_version(doc_id):
    return VERSIONS.get(doc_id)


def report_version():
    return REPORT["version"]


class Document(MethodView):
    @conditional(etag=doc_version)
    def get(self, doc_id):
        return DOCS[doc_id]

    @conditional(etag=doc_version, require_precondition=True)
    def put(self, doc_id):
        DOCS[doc_id] = request.get_json()
        VERSIONS[doc_id] += 1
        return DOCS[doc_id]


class Report(MethodView):
    decorators = [conditional(etag=report_version)]

    def get(self):
        return {"total": REPORT["total"]}


app.add_url_rule("/docs/<int:doc_id>", view_func=Document.as_view("document"))
app.add_url_rule("/report", view_func=Report.as_view("report"))
