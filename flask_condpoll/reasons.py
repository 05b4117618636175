"""Why a conditional view answered as it did: every reason a
:class:`~flask_condpoll.flow.Flow` can give, which rule picks it, and what
each means.

Reasons are fixed words, safe to show anywhere (``Server-Timing``, the
``explain`` command): they never carry a version or a value of a request.
"""

from __future__ import annotations

from .core.preconditions import Conditions
from .core.preconditions import NO_CONDITIONS
from .core.preconditions import Outcome

#: Every reason a flow gives for its answer (:attr:`Flow.reason`).
REASONS = (
    "unconditional",  # 2xx: the request carried no validator
    "changed",  # 2xx: its validators no longer match
    "preconditions-passed",  # 2xx: a write whose preconditions hold
    "matched-if-none-match",  # 304
    "matched-if-modified-since",  # 304
    "matched-hx-ptag",  # 204 to htmx 4
    "if-match-failed",  # 412
    "if-unmodified-since-failed",  # 412
    "if-none-match-failed",  # 412 to a write
    "precondition-required",  # 428
    "generator-failed",  # 2xx without validators, or 503 to a guarded write
    "no-validators",  # the same, when a generator said it cannot tell
    "unverifiable-write",  # 503: a guarded write whose generator failed
    "exempt-method",  # OPTIONS and friends: no preconditions
)


def reason_for(outcome: Outcome, conditions: Conditions, safe: bool) -> str:
    """Which rule decided ``outcome`` (one of :data:`REASONS`)."""
    if outcome is Outcome.PROCEED:
        if conditions is NO_CONDITIONS:
            return "unconditional"
        return "changed" if safe else "preconditions-passed"
    if outcome is Outcome.NO_CONTENT:
        return "matched-hx-ptag"
    if outcome is Outcome.NOT_MODIFIED:
        if conditions.if_none_match is not None:
            return "matched-if-none-match"
        return "matched-if-modified-since"
    if outcome is Outcome.PRECONDITION_REQUIRED:
        return "precondition-required"
    if conditions.if_match is not None:
        return "if-match-failed"
    if conditions.if_none_match is not None:
        return "if-none-match-failed"
    return "if-unmodified-since-failed"


#: The reasons for which the view ran, so that the answer has a view time.
VIEW_RAN = frozenset(
    (
        "unconditional",
        "changed",
        "preconditions-passed",
        "generator-failed",
        "no-validators",
        "exempt-method",
    )
)

#: What each reason means, in a sentence (``flask condpoll explain`` prints it).
WHY = {
    "unconditional": "The request carried no validator, so the view ran."
    " Send the ETag back in If-None-Match to get a 304.",
    "changed": "The request's validators no longer match: the data changed"
    " since the client's copy, so the view ran.",
    "preconditions-passed": "The write's preconditions hold, so the view ran.",
    "matched-if-none-match": "If-None-Match names the current tag: the"
    " client's copy is current, so the view did not run.",
    "matched-if-modified-since": "Nothing changed since If-Modified-Since,"
    " so the view did not run.",
    "matched-hx-ptag": "HX-PTag names the current tag: htmx 4 keeps its copy"
    " (204), and the view did not run.",
    "if-match-failed": "If-Match does not name the current tag (strong"
    " comparison): the client's copy is stale, so the request was refused.",
    "if-unmodified-since-failed": "The resource changed after"
    " If-Unmodified-Since, so the request was refused.",
    "if-none-match-failed": "If-None-Match matches on a write (such as '*' for"
    " a resource that exists), so the write was refused.",
    "precondition-required": "The view requires a precondition on writes and"
    " the request carried none: refused before any generator ran.",
    "generator-failed": "A version generator or mixin raised: the request"
    " failed open, without validators, and the view ran (see the log).",
    "no-validators": "A generator cannot vouch for a version now"
    " (NoValidators): answered in full, without validators.",
    "unverifiable-write": "A generator failed on a write that carries a"
    " precondition: refused with 503 rather than run unchecked.",
    "exempt-method": "OPTIONS, CONNECT and TRACE carry no preconditions: the view ran.",
}
