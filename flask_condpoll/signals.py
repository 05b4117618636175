"""Signals sent by :func:`~flask_condpoll.conditional` views.

Every signal is sent with the application as sender and these keyword
arguments: ``endpoint`` (the view's endpoint), ``method`` (the request method),
``status`` (the response status code), ``size`` (the response body's length in
bytes: 0 for a body-less response, ``None`` when unknown, such as a streamed
body, which is never consumed to measure it) and ``elapsed`` (seconds spent in
the decorator, including the view when it ran; the time a held poll waited
for a change is left out: it costs the server no work). Nothing is computed
for a signal that has no receivers.

Every request a conditional view answers sends exactly one of
:data:`not_modified_sent`, :data:`full_response_sent`,
:data:`precondition_failed_sent` and :data:`request_aborted`.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A ``304 Not Modified`` was sent without running the view, or a ``204 No
#: Content`` to an htmx 4 poll whose ``HX-PTag`` alone matched.
not_modified_sent = _signals.signal("condpoll-not-modified-sent")

#: The view ran. The extra keyword argument ``validated`` is ``True`` when the
#: response carries validators (a 2xx answer to GET or HEAD).
full_response_sent = _signals.signal("condpoll-full-response-sent")

#: A ``412 Precondition Failed`` or ``428 Precondition Required`` was sent
#: without running the view, or a ``503`` to a write whose precondition could
#: not be evaluated because a generator failed.
precondition_failed_sent = _signals.signal("condpoll-precondition-failed-sent")

#: The view, a generator or a mixin raised instead of returning: an
#: :class:`~werkzeug.exceptions.HTTPException` such as ``abort(404)`` (its
#: code is ``status``), or any other exception (``status`` 500). The extra
#: keyword argument ``exception`` is the exception; ``size`` is ``None``.
request_aborted = _signals.signal("condpoll-request-aborted")

#: A version generator or ETag mixin raised. The extra keyword argument
#: ``exception`` is the exception; ``status`` is 0 and ``size`` ``None``
#: because no response exists yet. The request then fails open:
#: :data:`full_response_sent` follows (or :data:`precondition_failed_sent`
#: with a 503 for a write that carries a precondition).
generator_failed = _signals.signal("condpoll-generator-failed")
