"""Signals sent by :func:`~flask_condpoll.conditional` views.

Every signal is sent with the application as sender and these keyword
arguments: ``endpoint`` (the view's endpoint), ``method`` (the request method),
``status`` (the response status code), ``size`` (the response body's length in
bytes, 0 for a body-less or streamed response) and ``elapsed`` (seconds spent
in the decorator, including the view when it ran). Nothing is computed for a
signal that has no receivers.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A ``304 Not Modified`` was sent without running the view.
not_modified_sent = _signals.signal("condpoll-not-modified-sent")

#: The view ran. The extra keyword argument ``validated`` is ``True`` when the
#: response carries validators (a 2xx answer to GET or HEAD).
full_response_sent = _signals.signal("condpoll-full-response-sent")

#: A ``412 Precondition Failed`` or ``428 Precondition Required`` was sent
#: without running the view.
precondition_failed_sent = _signals.signal("condpoll-precondition-failed-sent")

#: A version generator or ETag mixin raised. The extra keyword argument
#: ``exception`` is the exception; ``status`` is 0 because no response exists
#: yet. The request then fails open: :data:`full_response_sent` follows.
generator_failed = _signals.signal("condpoll-generator-failed")
