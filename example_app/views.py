"""The status monitor: a page, a conditionally polled panel, and a form."""

from __future__ import annotations

from flask import abort
from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from flask_condpoll import conditional
from flask_condpoll import CondPoll

from .models import db
from .models import Service
from .models import STATES

bp = Blueprint("monitor", __name__)
condpoll = CondPoll()


def services_version() -> tuple[object, ...]:
    """One aggregate query: changes on any insert, update or delete."""
    row = db.session.execute(
        db.select(
            db.func.count(Service.id),
            db.func.max(Service.updated_at),
            db.func.sum(Service.id),
        )
    ).one()
    return tuple(row)


@bp.get("/")
def index() -> str:
    services = db.session.scalars(db.select(Service).order_by(Service.name)).all()
    return render_template("index.html", services=services, states=STATES)


@bp.get("/status")
@conditional(etag=services_version)
def status() -> str:
    services = db.session.scalars(db.select(Service).order_by(Service.name)).all()
    return render_template("status.html", services=services)


@bp.post("/services/<int:service_id>/state")
def set_state(service_id: int) -> object:
    service = db.get_or_404(Service, service_id)
    state = request.form.get("state", "")
    if state not in STATES:
        abort(400)
    service.state = state
    db.session.commit()
    return redirect(url_for(".index"))
