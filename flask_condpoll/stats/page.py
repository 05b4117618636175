"""The stats page: per endpoint, the share of 304s over time, the bytes and
time saved and the verdict, as server-rendered SVG (no script library, no
CDN). An optional blueprint, made by :func:`stats_page`.

The page and its plots are conditional views whose version is what they
show: the store's complete time buckets. Its small script polls the plots
with their tag, so an unchanged page costs a 304, and the page's own
endpoints are left out of what it shows, so its polls never change it.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from markupsafe import Markup

from ..conditional import conditional
from ..current import current_validators
from ..fragments import validators_for
from ..frontend.blueprint import asset_url
from ..state import get_state
from ..validators import Validators
from .counters import COUNTERS
from .counters import OVERFLOW
from .counters import settled_until
from .guard import before_request
from .guard import Guard
from .plots import clock
from .plots import cumulative_area
from .plots import GREEN
from .plots import ratio_bars
from .stores import StatsStoreError
from .summary import EndpointStats
from .summary import format_bytes
from .summary import format_duration
from .summary import summarize

Snapshot = tuple[t.Any, ...]


@dataclass(frozen=True)
class Panel:
    """One endpoint on the page: its numbers over the window and its plots."""

    stats: EndpointStats
    ratio: Markup
    bytes_saved: Markup | None
    time_saved: Markup | None


def stats_page(
    *,
    guard: Guard | None = None,
    buckets: int = 60,
    interval: float = 5.0,
    name: str = "condpoll_stats",
) -> Blueprint:
    """A blueprint for the stats page, to register under a prefix::

        page = stats_page(guard=admins_only, buckets=60, interval=5)
        app.register_blueprint(page, url_prefix="/condpoll")

    :param guard: the app's access check, run before each request (see
        :data:`~flask_condpoll.stats.guard.Guard`). Without one, anyone who
        can reach the URL sees the endpoints' names and numbers.
    :param buckets: how many time buckets (``CONDPOLL_STATS_BUCKET``
        seconds each) the plots show.
    :param interval: seconds between the page's polls of its plots.
    :param name: the blueprint's name, to register more than one.
    :raises ValueError: for fewer than 2 buckets or an interval below 1 s.
    """
    if not (isinstance(buckets, int) and buckets >= 2):
        raise ValueError(f"buckets must be a whole number from 2, not {buckets!r}.")
    if not (isinstance(interval, int | float) and interval >= 1):
        raise ValueError(f"interval must be at least 1 second, not {interval!r}.")
    blueprint = Blueprint(name, __name__, template_folder="templates")
    if guard is not None:
        blueprint.before_request(before_request(guard))

    def shown() -> Snapshot:
        """What the page shows, and so its version."""
        return snapshot(buckets)

    @blueprint.get("/")
    @conditional(etag=shown)
    def page() -> str:
        # The page shows the very snapshot its plots' tag describes, so that
        # the first poll is a 304 only if nothing changed since.
        plots = _plots_validators()
        return render_template(
            "condpoll/stats_page.html",
            stylesheet=asset_url("condpoll-stats.css"),
            script=asset_url("condpoll-stats.js"),
            plots_url=url_for(".plots"),
            plots_tag=None if plots is None else plots.header,
            interval=interval,
            **context(shown, plots),
        )

    @blueprint.get("/plots")
    @conditional(etag=shown)
    def plots() -> str:
        return render_template(
            "condpoll/stats_plots.html", **context(shown, current_validators())
        )

    return blueprint


def _plots_validators() -> Validators | None:
    """The plots' validators now, or ``None`` if the store cannot be read."""
    try:
        return validators_for(".plots")
    except StatsStoreError:  # the page shows the error; its polls will retry
        return None


def snapshot(buckets: int) -> Snapshot:
    """The complete time buckets of the last ``buckets``, per endpoint,
    without the stats page's own endpoints or the overflow.

    :raises StatsStoreError: if the store cannot be read.
    """
    state = get_state(current_app._get_current_object())  # type: ignore[attr-defined]
    store = state.stats_store
    if store is None:
        return ()
    size = state.settings.stats_bucket
    until = settled_until(size, state.settings.stats_flush_interval, time.time())
    series = store.series(since=until - buckets * size, until=until)
    own = f"{request.blueprint}."
    return (
        until - buckets * size,
        size,
        buckets,
        tuple(
            (endpoint, tuple(sorted((b, tuple(c)) for b, c in per.items())))
            for endpoint, per in sorted(series.items())
            if endpoint != OVERFLOW and not endpoint.startswith(own)
        ),
    )


def context(
    read: t.Callable[[], Snapshot], validators: Validators | None
) -> dict[str, t.Any]:
    """The templates' variables, from the snapshot ``validators`` describe, or
    from ``read()`` when the generator failed (the store is unreadable)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    empty = {"panels": [], "off": get_state(app).stats_store is None, "error": None}
    try:
        shown: Snapshot = read() if validators is None else validators.value
    except StatsStoreError as exc:
        return empty | {"error": str(exc)}
    if not shown or not shown[3]:
        return empty
    since, size, buckets, endpoints = shown
    starts = [since + size * i for i in range(buckets)]
    panels = [_panel(name, dict(points), starts, size) for name, points in endpoints]
    panels.sort(key=lambda panel: -panel.stats.requests)
    total = [0] * len(COUNTERS)
    for panel in panels:
        for position, name in enumerate(COUNTERS):
            total[position] += panel.stats.counts[name]
    saved = [p.stats.bytes_saved for p in panels]
    times = [p.stats.time_saved_ms for p in panels]
    return {
        "panels": panels,
        "off": False,
        "error": None,
        "total": summarize({"all": total})[0],
        "bytes_saved": sum(b for b in saved if b is not None),
        "time_saved": sum(ms for ms in times if ms is not None),
        "window": (since, since + buckets * size, size, buckets),
        "format_bytes": format_bytes,
        "format_duration": format_duration,
        "clock": clock,
    }


def _panel(
    endpoint: str, points: dict[int, tuple[int, ...]], starts: list[int], size: int
) -> Panel:
    zero = (0,) * len(COUNTERS)
    series = [
        dict(zip(COUNTERS, points.get(start, zero), strict=True)) for start in starts
    ]
    total = {name: sum(counts[name] for counts in series) for name in COUNTERS}
    stats = EndpointStats(endpoint, total)
    pairs = list(zip(starts, series, strict=True))
    ratio = ratio_bars([(s, c["reads"], c["not_modified"]) for s, c in pairs], size)
    mean, full, short = (
        stats.mean_full_bytes,
        stats.mean_ms("full"),
        stats.mean_ms("304"),
    )
    saved_bytes = saved_time = None
    if mean is not None:
        saved_bytes = cumulative_area(
            [(s, c["not_modified"] * mean) for s, c in pairs],
            size, label="saved", formatted=format_bytes,
        )  # fmt: skip
    if full is not None and short is not None:
        each = max(full - short, 0.0)
        saved_time = cumulative_area(
            [(s, c["not_modified"] * each) for s, c in pairs],
            size, label="server time saved", formatted=format_duration, color=GREEN,
        )  # fmt: skip
    return Panel(stats, ratio, saved_bytes, saved_time)
