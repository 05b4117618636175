"""The demo: notifications per user, a dashboard, a status monitor, stats."""

from __future__ import annotations

import time
import typing as t

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from sqlalchemy import bindparam
from werkzeug import Response

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll import current_validators
from flask_condpoll.frontend import prepare_poll
from flask_condpoll.registry import RedisRegistry
from flask_condpoll.settings import CLIENTS
from flask_condpoll.sqlalchemy import collection_version
from flask_condpoll.sqlalchemy import table_version
from flask_condpoll.sqlalchemy import track_commits
from flask_condpoll.stats import settled_until
from flask_condpoll.stats import summarize

from .frontend import current_client
from .frontend import script_urls
from .models import Activity
from .models import db
from .models import Notification
from .models import Service
from .models import STATES
from .models import User

bp = Blueprint("monitor", __name__)
condpoll = CondPoll()
track_commits(db.session)  # bumps the registry of whichever app commits

#: Seconds between polls, per panel. The stats panel changes once per stats
#: bucket (10 s in the demo): polled every 2 s, four polls in five are 304s.
INTERVALS = {"badge": 5, "notifications": 10, "dashboard": 3, "stats": 2}


@condpoll.etag_mixin
def signed_in_user() -> int | None:
    """Each user sees their own notifications: no 304 crosses users."""
    return t.cast(int | None, session.get("user_id"))


@condpoll.etag_mixin
def polling_client() -> str:
    """The panels' markup differs per client, so their tags must too."""
    return current_client()


def for_current_user() -> dict[str, t.Any]:
    return {"user_id": session.get("user_id")}


unread = db.select(Notification).where(
    Notification.user_id == bindparam("user_id"), Notification.read.is_(False)
)
newest = (
    db.select(Notification)
    .where(Notification.user_id == bindparam("user_id"))
    .order_by(Notification.id.desc())
    .limit(20)
)
unread_version = collection_version(unread, params=for_current_user)
unread_from_registry = table_version(
    Notification,
    by=Notification.user_id,
    key=lambda: session.get("user_id"),
    fallback=unread_version,
)


def badge_version() -> t.Any:
    """With a shared registry (Redis), a badge 304 costs no query at all. The
    in-process registry cannot see writes made by other processes (such as
    the ``activity`` command), so without Redis the aggregate query decides."""
    if isinstance(current_app.extensions["condpoll"].registry, RedisRegistry):
        return unread_from_registry()
    return unread_version()


newest_version = collection_version(newest, params=for_current_user)
# Activities are append-only events: the newest id is the whole version, and an
# index lookup is all a 304 costs (see the strategy table in the docs).
activity_version = collection_version(Activity, "max_id")
services_version = collection_version(Service)


@bp.app_context_processor
def page_context() -> dict[str, t.Any]:
    client = current_client()
    return {
        "client": client,
        "clients": CLIENTS,
        "scripts": script_urls(client),
        "intervals": INTERVALS
        | {"status": current_app.config["EXAMPLE_POLL_INTERVAL"]},
        "user_id": session.get("user_id"),
    }


def page_version() -> tuple[t.Any, ...]:
    """Everything the page shows besides the user and the client (mixins):
    every panel's version. The user list only changes with ``seed --reset``,
    which changes the other versions too."""
    return (
        services_version(),
        badge_version(),
        newest_version(),
        activity_version(),
        stats_version(),
    )


#: The panels the page embeds: endpoint, element id and tag name, as in
#: their templates' ``poll`` macro calls.
PANELS = (
    ("monitor.badge", "badge", "span"),
    ("monitor.notifications", "notifications", "div"),
    ("monitor.status", "status", "div"),
    ("monitor.dashboard", "dashboard", "div"),
    ("monitor.stats_panel", "stats", "div"),
)


@bp.get("/")
@conditional(etag=page_version)
def index() -> str:
    # The panels' tags first: the page may show newer data, never older, so
    # a first poll is a 304 only if nothing changed since.
    for endpoint, element_id, tag in PANELS:
        prepare_poll(endpoint, element_id, client=current_client(), tag=tag)
    return render_template(
        "index.html",
        users=db.session.scalars(db.select(User).order_by(User.id).limit(12)).all(),
        states=STATES,
        **notification_context(),
        **status_context(),
        **dashboard_context(),
        **stats_context(),
    )


@bp.post("/login")
def login() -> Response:
    user = db.session.get(User, request.form.get("user_id", type=int) or 0)
    if user is None:
        session.pop("user_id", None)
    else:
        session["user_id"] = user.id
    return redirect(url_for(".index"))


# Notifications: a badge and a list per user.


def notification_context() -> dict[str, t.Any]:
    user_id = session.get("user_id")
    if user_id is None:
        return {"user": None, "unread_count": 0, "notifications": []}
    return {
        "user": db.session.get(User, user_id),
        "unread_count": db.session.scalar(
            db.select(db.func.count()).select_from(unread.subquery()),
            for_current_user(),
        ),
        "notifications": db.session.scalars(newest, for_current_user()).all(),
    }


@bp.get("/notifications/badge")
@conditional(etag=badge_version, poll=INTERVALS["badge"])
def badge() -> str:
    return render_template("badge.html", **notification_context())


@bp.get("/notifications/list")
@conditional(
    etag=newest_version,
    last_modified=newest_version.last_modified,
    poll=INTERVALS["notifications"],
)
def notifications() -> str:
    return render_template("notifications.html", **notification_context())


@bp.post("/notifications")
def notify() -> Response:
    user = db.session.get(User, request.form.get("user_id", type=int) or 0)
    text = request.form.get("text", "").strip()
    if user is None or not text or len(text) > 200:
        abort(400)
    db.session.add(Notification(user_id=user.id, text=text))
    db.session.commit()
    return redirect(url_for(".index"))


@bp.post("/notifications/read")
def mark_read() -> Response:
    if "user_id" not in session:
        abort(401)
    db.session.execute(
        db.update(Notification)
        .where(Notification.user_id == session["user_id"], Notification.read.is_(False))
        .values(read=True)
    )
    db.session.commit()
    return redirect(url_for(".index"))


# The dashboard: statistics that are expensive to compute.


def dashboard_context() -> dict[str, t.Any]:
    by_kind = db.session.execute(
        db.select(
            Activity.kind,
            db.func.count(),
            db.func.sum(Activity.amount),
            db.func.avg(Activity.amount),
            db.func.max(Activity.amount),
        )
        .group_by(Activity.kind)
        .order_by(Activity.kind)
    ).all()
    top_users = db.session.execute(
        db.select(User.name, db.func.count(Activity.id), db.func.sum(Activity.amount))
        .join(Activity, Activity.user_id == User.id)
        .group_by(User.id, User.name)
        .order_by(db.func.count(Activity.id).desc(), User.name)
        .limit(10)
    ).all()
    latest = db.session.execute(
        db.select(Activity, User.name)
        .join(User, Activity.user_id == User.id)
        .order_by(Activity.id.desc())
        .limit(25)
    ).all()
    totals = db.session.execute(
        db.select(
            db.func.count(Activity.id), db.func.count(db.distinct(Activity.user_id))
        )
    ).one()
    busiest = max((row[1] for row in by_kind), default=1)
    return {
        "by_kind": by_kind,
        "top_users": top_users,
        "latest": latest,
        "activity_total": totals[0],
        "active_users": totals[1],
        "busiest": busiest,
    }


@bp.get("/dashboard")
@conditional(etag=activity_version, poll=INTERVALS["dashboard"])
def dashboard() -> str:
    return render_template("dashboard.html", **dashboard_context())


# The status monitor.


def status_context() -> dict[str, t.Any]:
    return {
        "services": db.session.scalars(db.select(Service).order_by(Service.name)).all()
    }


@bp.get("/status")
@conditional(etag=services_version)
def status() -> str:
    return render_template("status.html", **status_context())


@bp.post("/services/<int:service_id>/state")
def set_state(service_id: int) -> Response:
    service = db.get_or_404(Service, service_id)
    state = request.form.get("state", "")
    if state not in STATES:
        abort(400)
    service.state = state
    db.session.commit()
    return redirect(url_for(".index"))


# Live stats: the numbers of `flask condpoll stats`, for the last hour.

STATS_WINDOW = 3600


def stats_totals() -> dict[str, list[int]]:
    """The last hour's complete time buckets, without the stats views' own
    polls: the one in progress grows with every flush, so showing it would
    make every poll of this panel a 200."""
    state = current_app.extensions["condpoll"]
    store = state.stats_store
    if store is None:
        return {}
    settings = state.settings
    until = settled_until(
        settings.stats_bucket, settings.stats_flush_interval, time.time()
    )
    totals = store.totals(since=until - STATS_WINDOW, until=until)
    return {
        name: counts
        for name, counts in totals.items()
        if name != "monitor.stats_panel" and not name.startswith("condpoll_stats.")
    }


def stats_context() -> dict[str, t.Any]:
    return {"stats_rows": summarize(stats_totals())}


def stats_version() -> tuple[t.Any, ...]:
    return tuple(
        sorted((name, tuple(counts)) for name, counts in stats_totals().items())
    )


@bp.get("/stats")
@conditional(etag=stats_version)
def stats_panel() -> str:
    # The version is the totals themselves: render them without a second read.
    version = current_validators()
    totals = {} if version is None else {name: list(c) for name, c in version.value}
    return render_template("stats.html", stats_rows=summarize(totals))
