"""Serving the polling clients from node_modules, and picking one per visitor."""

from __future__ import annotations

from pathlib import Path

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import request
from flask import send_from_directory
from flask import url_for
from werkzeug import Response

from flask_condpoll.settings import CLIENTS

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"

#: Script name -> file inside node_modules (installed by ``npm ci``).
VENDOR = {
    "htmx2.js": "htmx2/dist/htmx.min.js",
    "htmx4.js": "htmx4/dist/htmx.min.js",
    "hx-ptag.js": "htmx4/dist/ext/hx-ptag.js",
    "unpoly.js": "unpoly/unpoly.min.js",
}

COOKIE = "client"

bp = Blueprint("frontend", __name__)


def current_client() -> str:
    """The visitor's chosen client, else ``CONDPOLL_CLIENT``."""
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in CLIENTS else current_app.config["CONDPOLL_CLIENT"]


def script_urls(client: str) -> dict[str, str | None]:
    """Arguments for the ``condpoll.scripts`` macro."""
    library = {"htmx2": "htmx2.js", "htmx4": "htmx4.js", "unpoly": "unpoly.js"}
    extension = "hx-ptag.js" if client == "htmx4" else None
    return {
        "library_url": url_for("frontend.vendor", name=library[client]),
        "extension_url": extension and url_for("frontend.vendor", name=extension),
    }


@bp.get("/vendor/<name>")
def vendor(name: str) -> Response:
    path = VENDOR.get(name)
    if path is None:
        abort(404)
    if not (NODE_MODULES / path).is_file():
        abort(404, f"{path} is missing: run 'npm ci' (make demo does).")
    response = send_from_directory(NODE_MODULES, path, max_age=3600)
    return response


@bp.post("/client")
def choose_client() -> Response:
    client = request.form.get("client", "")
    if client not in CLIENTS:
        abort(400)
    response = redirect(request.referrer or url_for("monitor.index"))
    response.set_cookie(COOKIE, client, samesite="Lax", httponly=True)
    return response
