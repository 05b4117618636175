"""RFC 9110 §13.2.2 precondition evaluation, as a pure function.

Nothing here knows about Flask: the request's conditional fields arrive parsed
(see :mod:`flask_condpoll.core.fields`), the answer is an :class:`Outcome`.
"""

from __future__ import annotations

import enum
import typing as t
from collections.abc import Mapping
from datetime import datetime
from datetime import UTC

from .fields import EntityTags
from .fields import parse_entity_tags
from .fields import parse_http_date
from .tags import resource_part

#: Methods whose matching If-None-Match gives 304 and that honour If-Modified-Since.
SAFE_METHODS = frozenset({"GET", "HEAD"})

#: Methods for which preconditions are not evaluated (RFC 9110 §13.2.1).
EXEMPT_METHODS = frozenset({"OPTIONS", "CONNECT", "TRACE"})

#: Suffixes that Apache's mod_deflate and mod_brotli append inside the quotes of
#: a tag; If-None-Match still matches a tag carrying one of them.
PROXY_SUFFIXES = ("-gzip", "-br")


class Outcome(enum.IntEnum):
    """What to do with a request after evaluating its preconditions."""

    #: Run the view.
    PROCEED = 200
    #: Only htmx 4's ``HX-PTag`` matched: answer ``204 No Content``, which htmx
    #: 4 does not swap and which no cache mistakes for the answer to a
    #: conditional request it did not send.
    NO_CONTENT = 204
    #: Answer ``304 Not Modified`` without running the view.
    NOT_MODIFIED = 304
    #: Answer ``412 Precondition Failed`` without running the view.
    PRECONDITION_FAILED = 412
    #: Answer ``428 Precondition Required`` without running the view.
    PRECONDITION_REQUIRED = 428


class Current(t.NamedTuple):
    """The selected representation's current validators.

    :param exists: whether there is a current representation at all; ``*`` in
        If-Match and If-None-Match only matches when there is.
    :param etag: the opaque tag without quotes, or ``None``.
    :param weak: whether ``etag`` is a weak validator.
    :param last_modified: an aware datetime truncated to whole seconds (see
        :func:`http_datetime`), or ``None``.
    """

    exists: bool
    etag: str | None = None
    weak: bool = True
    last_modified: datetime | None = None


class Conditions(t.NamedTuple):
    """The conditional fields of one request, parsed.

    ``None`` means absent, or (for the dates) not a valid HTTP-date, which
    RFC 9110 says to ignore. A tag list that does not follow the grammar is
    :data:`~flask_condpoll.core.fields.INVALID`.

    :param if_match: If-Match.
    :param if_none_match: If-None-Match.
    :param if_modified_since: If-Modified-Since.
    :param if_unmodified_since: If-Unmodified-Since.
    :param ptag: htmx 4's ``HX-PTag``: for GET and HEAD without
        If-None-Match, it has the power of If-None-Match.
    """

    if_match: EntityTags | None = None
    if_none_match: EntityTags | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None
    ptag: EntityTags | None = None

    @property
    def guards_write(self) -> bool:
        """Whether an unsafe method carries a precondition (RFC 6585 §3).

        If-Unmodified-Since only counts where the resource has a modification
        date, which :func:`evaluate` checks. An If-None-Match that does not
        follow the grammar is ignored, so it guards nothing; an invalid
        If-Match still counts: it fails.
        """
        if_none_match = self.if_none_match
        return (
            self.if_match is not None
            or (if_none_match is not None and if_none_match.valid)
            or self.if_unmodified_since is not None
        )


NO_CONDITIONS = Conditions()


def conditions_from_environ(environ: Mapping[str, t.Any]) -> Conditions:
    """Parse a WSGI request's conditional fields (most requests carry none)."""
    get = environ.get
    if_match = get("HTTP_IF_MATCH")
    if_none_match = get("HTTP_IF_NONE_MATCH")
    modified_since = get("HTTP_IF_MODIFIED_SINCE")
    unmodified_since = get("HTTP_IF_UNMODIFIED_SINCE")
    ptag = get("HTTP_HX_PTAG")
    if (
        if_match is None
        and if_none_match is None
        and modified_since is None
        and unmodified_since is None
        and ptag is None
    ):
        return NO_CONDITIONS
    return Conditions(
        None if if_match is None else parse_entity_tags(if_match),
        None if if_none_match is None else parse_entity_tags(if_none_match),
        None if modified_since is None else parse_http_date(modified_since),
        None if unmodified_since is None else parse_http_date(unmodified_since),
        None if ptag is None else parse_entity_tags(ptag),
    )


def http_datetime(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime in whole seconds.

    HTTP-dates have one-second resolution, so comparisons must use the value
    that goes out in ``Last-Modified``, not the sub-second one. Naive datetimes
    are taken to be UTC.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC, microsecond=0)
    return value.astimezone(UTC).replace(microsecond=0)


def if_match_passes(current: Current, if_match: EntityTags) -> bool:
    """RFC 9110 §13.1.1: the If-Match condition, with strong comparison.

    A write changes the resource, not one representation of it, so the tag
    of any representation of the current state passes: the strong comparison
    is of the tags' resource parts (see :func:`~.tags.resource_part`).
    """
    if if_match.star:
        return current.exists
    if current.etag is None or current.weak:
        return False
    state = resource_part(current.etag)
    return any(not weak and resource_part(tag) == state for weak, tag in if_match.tags)


def if_none_match_matches(current: Current, if_none_match: EntityTags) -> bool:
    """RFC 9110 §13.1.2: whether If-None-Match matches, with weak comparison.

    ``True`` means the condition is *false*: the client's copy is current.
    Tags that proxies weakened (``W/``) or suffixed (``-gzip``, ``-br``) match.
    """
    if if_none_match.star:
        return current.exists
    tag = current.etag
    if tag is None:
        return False
    return if_none_match.contains_weak(tag, *map(tag.__add__, PROXY_SUFFIXES))


def needs_precondition(method: str, conditions: Conditions) -> bool:
    """Whether ``require_precondition`` answers 428 before any generator runs."""
    return (
        method not in SAFE_METHODS
        and method not in EXEMPT_METHODS
        and not conditions.guards_write
    )


def evaluate(
    method: str,
    current: Current,
    conditions: Conditions = NO_CONDITIONS,
    *,
    require_precondition: bool = False,
) -> Outcome:
    """Evaluate a request's preconditions in RFC 9110 §13.2.2 order.

    Call this only when the response would otherwise be 2xx (§13.2.1): a
    generator that knows the answer is an error raises it (``abort(404)``)
    before this runs.

    :param method: the request method, upper case.
    :param current: the representation's current validators.
    :param conditions: the request's parsed conditional fields.
    :param require_precondition: answer 428 to an unsafe method that carries
        no usable If-Match, If-None-Match or If-Unmodified-Since.
    """
    if method in EXEMPT_METHODS:
        return Outcome.PROCEED
    safe = method in SAFE_METHODS
    last_modified = current.last_modified
    if_match = conditions.if_match
    if_none_match = conditions.if_none_match
    unmodified_since = conditions.if_unmodified_since
    if last_modified is None:
        unmodified_since = None  # no modification date: ignored (§13.1.4)
    unconditional = if_match is None and (
        if_none_match is None or not if_none_match.valid
    )
    if require_precondition and not safe and unconditional and not unmodified_since:
        return Outcome.PRECONDITION_REQUIRED
    if if_match is not None:
        if not if_match_passes(current, if_match):
            return Outcome.PRECONDITION_FAILED
    elif unmodified_since is not None and last_modified > unmodified_since:  # type: ignore[operator]
        return Outcome.PRECONDITION_FAILED
    if if_none_match is not None:
        if if_none_match_matches(current, if_none_match):
            return Outcome.NOT_MODIFIED if safe else Outcome.PRECONDITION_FAILED
        return Outcome.PROCEED
    if not safe:
        return Outcome.PROCEED
    modified_since = conditions.if_modified_since
    unchanged = (
        modified_since is not None
        and last_modified is not None
        and last_modified <= modified_since
    )
    ptag = conditions.ptag
    if ptag is not None and ptag.valid:
        if not if_none_match_matches(current, ptag):
            return Outcome.PROCEED
        return Outcome.NOT_MODIFIED if unchanged else Outcome.NO_CONTENT
    return Outcome.NOT_MODIFIED if unchanged else Outcome.PROCEED
