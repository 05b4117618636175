"""A document read with GET and replaced with PUT, which answers with its new tag."""

from datetime import datetime
from datetime import UTC

from flask import Flask
from flask import request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import refresh_validators
from flask_condpoll.sqlalchemy import row_version

db = SQLAlchemy()
condpoll = CondPoll()


def utcnow():
    return datetime.now(UTC).replace(tzinfo=None)


class Doc(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def create_app(database_url="sqlite:///:memory:"):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="change me", SQLALCHEMY_DATABASE_URI=database_url)
    db.init_app(app)
    condpoll.init_app(app)

    @app.get("/docs/<int:doc_id>")
    @conditional(etag=row_version(Doc, arg="doc_id"))
    def get_doc(doc_id):
        return {"body": db.get_or_404(Doc, doc_id).body}

    @app.put("/docs/<int:doc_id>")
    @conditional(etag=row_version(Doc, arg="doc_id"), require_precondition=True)
    def put_doc(doc_id):
        doc = db.get_or_404(Doc, doc_id)
        doc.body = request.get_json()["body"]
        db.session.flush()
        refresh_validators()  # read in the write's own transaction
        db.session.commit()
        return {"body": doc.body}

    with app.app_context():
        db.create_all()
    return app
