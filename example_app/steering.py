"""The demo's polling control: change the factor, stop or resume every
poller live, as ``flask condpoll polling`` does."""

from __future__ import annotations

import typing as t

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from werkzeug import Response

from flask_condpoll.polling import Override

bp = Blueprint("steering", __name__)


def _control() -> t.Any:
    return current_app.extensions["condpoll"].polling


@bp.app_context_processor
def polling_state() -> dict[str, t.Any]:
    override = _control().current()
    factor = _control().configured if override.factor is None else override.factor
    return {"poll_factor": factor, "poll_stopped": override.stopped or factor == 0}


@bp.post("/polling")
def steer() -> Response:
    try:
        override = _control().override()
    except Exception:  # the store is down or holds something else
        abort(503)
    action = request.form.get("action")
    if action == "factor":
        factor = request.form.get("factor", type=float)
        if factor is None or not 0 <= factor <= 100:
            abort(400)
        override = Override(factor, override.stopped)
    elif action in ("stop", "resume"):
        override = Override(override.factor, action == "stop")
    else:
        abort(400)
    try:
        _control().set(override)
    except Exception:
        abort(503)
    return redirect(request.referrer or url_for("monitor.index"))
