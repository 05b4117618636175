"""``Server-Timing`` on conditional answers: why each one is a 304 or a 200,
and where its time went, for the browser's developer tools.

:meth:`CondPoll.init_app <flask_condpoll.CondPoll.init_app>` adds
:func:`add_server_timing` to the app's response hooks only when
``CONDPOLL_SERVER_TIMING`` turns it on, so requests pay nothing otherwise.
The header holds durations and one of the fixed
:data:`~flask_condpoll.reasons.REASONS`: never a version, a tag or anything
that went into one.
"""

from __future__ import annotations

import time
import typing as t

from .reasons import VIEW_RAN

if t.TYPE_CHECKING:
    from flask import Response

    from .flow import Flow


def enabled(setting: bool | None, debug: bool) -> bool:
    """Whether ``CONDPOLL_SERVER_TIMING`` turns the header on: ``None`` follows
    debug mode."""
    return debug if setting is None else setting


def durations(flow: Flow, now: float) -> dict[str, float]:
    """Milliseconds spent in each part of ``flow`` that ran, up to ``now``.

    ``version``: the generators and mixins (and the tag); ``decide``: the
    precondition evaluation; ``wait``: how long a held poll waited for a
    change; ``view``: the view and its response. A part that did not run (no
    generator before a 428, no hold, no view on a 304) is left out.
    """
    parts = {}
    if flow.generated:
        parts["version"] = (flow.generated - flow.start) * 1000
        parts["decide"] = (flow.decided - flow.generated - flow.waited) * 1000
    if flow.waited:
        parts["wait"] = flow.waited * 1000
    if flow.reason in VIEW_RAN:
        parts["view"] = (now - (flow.decided or flow.start)) * 1000
    return parts


def server_timing(flow: Flow, now: float) -> str:
    """The ``Server-Timing`` value for ``flow``'s answer.

    ``condpoll;desc="<reason>"`` then ``cp-version``, ``cp-decide``,
    ``cp-wait`` and ``cp-view`` with their ``dur`` in milliseconds, for the
    parts that ran.
    """
    metrics = [f'condpoll;desc="{flow.reason}"']
    metrics += [
        f"cp-{name};dur={round(ms, 3):g}" for name, ms in durations(flow, now).items()
    ]
    return ", ".join(metrics)


def add_server_timing(flow: Flow, response: Response) -> None:
    """A response hook: add the ``Server-Timing`` of ``flow`` to ``response``,
    after any the view set."""
    response.headers.add("Server-Timing", server_timing(flow, time.perf_counter()))
