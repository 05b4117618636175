"""The access check of the stats page and the metrics endpoint: a callable
of the app's own, run before each of their requests."""

from __future__ import annotations

import typing as t
from collections.abc import Callable

from flask import abort

#: Called with no arguments before every request: ``None`` or ``True`` lets
#: it through, ``False`` answers 403, and a response (a redirect to the
#: login page) is sent instead. It may also ``abort(401)`` itself.
Guard = Callable[[], t.Any]


def before_request(guard: Guard) -> Callable[[], t.Any]:
    """A ``before_request`` function that applies ``guard``.

    :raises TypeError: if ``guard`` is not callable.
    """
    if not callable(guard):
        raise TypeError(
            f"guard must be a function of no arguments, not {guard!r}: for"
            " example guard=lambda: current_user.is_admin."
        )

    def check() -> t.Any:
        allowed = guard()
        if allowed is False:
            abort(403)
        return None if allowed is True else allowed

    return check
