"""The status monitor: a page, a conditionally polled panel, and a form."""

from __future__ import annotations

import typing as t

from flask import abort
from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug import Response

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.markup import CLIENTS
from flask_condpoll.sqlalchemy import collection_version

from .frontend import current_client
from .frontend import script_urls
from .models import db
from .models import Service
from .models import STATES

bp = Blueprint("monitor", __name__)
condpoll = CondPoll()


@condpoll.etag_mixin
def polling_client() -> str:
    """The panel's markup differs per client, so its tag must too."""
    return current_client()


services_version = collection_version(Service)


@bp.app_context_processor
def frontend_context() -> dict[str, t.Any]:
    client = current_client()
    return {"client": client, "clients": CLIENTS, "scripts": script_urls(client)}


def services() -> t.Sequence[Service]:
    return db.session.scalars(db.select(Service).order_by(Service.name)).all()


@bp.get("/")
def index() -> str:
    return render_template("index.html", services=services(), states=STATES)


@bp.get("/status")
@conditional(etag=services_version)
def status() -> str:
    return render_template("status.html", services=services())


@bp.post("/services/<int:service_id>/state")
def set_state(service_id: int) -> Response:
    service = db.get_or_404(Service, service_id)
    state = request.form.get("state", "")
    if state not in STATES:
        abort(400)
    service.state = state
    db.session.commit()
    return redirect(url_for(".index"))
