"""``Poll-Interval`` on the responses of polled views (a response hook), and
:func:`stop_polling`, which ends one poller for good."""

from __future__ import annotations

import math
import typing as t

from flask import current_app
from flask import request
from flask import Response

from ..core.polling import HEADER
from ..core.polling import header_value
from ..core.polling import Outcomes
from ..core.polling import Poll
from ..core.polling import STOPPED
from ..responses import has_header
from ..responses import polled
from .control import PollControl

if t.TYPE_CHECKING:
    from ..flow import Flow

#: The reasons (:data:`flask_condpoll.reasons.REASONS`) of a poll that found
#: nothing new.
UNCHANGED = frozenset(
    ("matched-if-none-match", "matched-if-modified-since", "matched-hx-ptag")
)


class Steering:
    """The response hook that tells each poller when to poll next.

    A view that declares ``poll=`` gets ``Poll-Interval`` (milliseconds) on
    every response, 304s and errors included: its interval (or the adapted
    one) times the factor in force. While polling is stopped, every poll of
    any conditional view gets ``Poll-Interval: -1`` and, with
    ``CONDPOLL_POLL_RESUME_CHECK``, a ``Retry-After`` that says when to ask
    again. A header the view set itself (:func:`stop_polling`) is kept.

    :param control: the factor in force.
    :param resume_check: seconds for ``Retry-After`` while stopped, or None.
    """

    def __init__(self, control: PollControl, resume_check: float | None) -> None:
        self.control = control
        self.retry_after = (
            None if resume_check is None else str(math.ceil(resume_check))
        )
        #: Per endpoint, the recent outcomes of views with adaptive back-off.
        self.outcomes: dict[str | None, Outcomes] = {}

    def __call__(self, flow: Flow, response: Response) -> None:
        poll = flow.declaration.poll
        if poll is None and not polled(flow.environ):
            return
        headers = response.headers
        if has_header(headers, HEADER):
            return
        factor = self.control.factor()
        if factor is None:
            headers[HEADER] = STOPPED
            if self.retry_after is not None and not has_header(headers, "Retry-After"):
                headers["Retry-After"] = self.retry_after
        elif poll is not None:
            headers[HEADER] = header_value(self.interval(flow, poll) * factor)

    def interval(self, flow: Flow, poll: Poll) -> float:
        """``poll``'s interval, adapted to the view's recent polls if it
        declares ``max_interval``: a poll that found something new (or
        carried no tag) comes back to the base interval."""
        if poll.max_interval is None:
            return poll.interval
        outcomes = self.outcomes.get(flow.endpoint)
        if outcomes is None:
            outcomes = self.outcomes.setdefault(flow.endpoint, Outcomes())
        if flow.reason in UNCHANGED:
            outcomes.add(True)
            return poll.adapted(outcomes.unchanged())
        if flow.reason == "changed":
            outcomes.add(False)
        return poll.interval


def stop_polling(content: str = "") -> Response:
    """A response that stops the poller that asked, for good.

    Return it from a polled view when there is nothing more to wait for (a
    finished job, a closed auction). The element keeps what it shows, or
    shows ``content`` from now on::

        if build["done"]:
            return stop_polling(html)  # the final log stays; no more polls

    Each client gets its dialect: htmx 2 the status 286, its own "stop
    polling" (an empty 286 is not swapped, so the element stays); htmx 4 and
    Unpoly, which have no such status, a 200 (or a 204 without content,
    which neither swaps). All get ``Poll-Interval: -1`` without
    ``Retry-After``, which flask-condpoll's client files read as "stop for
    good": they poll no more and remove the element's polling marker.

    :param content: the element's final HTML, as the poll's swap expects it
        (a rendered template, like the view's other answers); empty keeps
        the current content.
    """
    htmx2 = "HX-Request" in request.headers and "HX-Request-Type" not in request.headers
    status = 286 if htmx2 else 200 if content else 204
    response: Response = current_app.response_class(
        content, status=status, mimetype="text/html"
    )
    response.headers[HEADER] = STOPPED
    return response
