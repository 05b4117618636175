"""RFC 9110 §13.2.2 precondition evaluation, as pure functions.

Nothing here knows about Flask: the request's conditional headers arrive
already parsed by Werkzeug, and the answer is an :class:`Outcome`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from datetime import UTC

from werkzeug.datastructures import ETags

#: Methods whose matching If-None-Match gives 304 and that honour If-Modified-Since.
SAFE_METHODS = frozenset({"GET", "HEAD"})

#: Methods for which preconditions are not evaluated (RFC 9110 §13.2.1).
EXEMPT_METHODS = frozenset({"OPTIONS", "CONNECT", "TRACE"})

#: Suffixes that Apache's mod_deflate and mod_brotli append inside the quotes of
#: a tag; If-None-Match still matches a tag carrying one of them.
PROXY_SUFFIXES = ("-gzip", "-br")

# RFC 9110 §8.8.3 and §13.1.1: ``"*" / #entity-tag``. Werkzeug's parser is
# lenient (unquoted tags, ``*`` inside a list); for If-Match a value that is not
# exactly this grammar must fail rather than be guessed at.
_ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*+"'
_TAG_LIST = rf"[ \t,]*+{_ENTITY_TAG}(?:[ \t]*+,[ \t,]*+{_ENTITY_TAG})*+[ \t,]*+"
_IF_MATCH_SYNTAX = re.compile(rf"[ \t]*+(?:\*[ \t]*+|{_TAG_LIST})")

_UTC = UTC


class Outcome(enum.IntEnum):
    """What to do with a request after evaluating its preconditions."""

    #: Run the view.
    PROCEED = 200
    #: Answer ``304 Not Modified`` without running the view.
    NOT_MODIFIED = 304
    #: Answer ``412 Precondition Failed`` without running the view.
    PRECONDITION_FAILED = 412
    #: Answer ``428 Precondition Required`` without running the view.
    PRECONDITION_REQUIRED = 428


@dataclass(frozen=True, slots=True)
class Current:
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


def http_datetime(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime in whole seconds.

    HTTP-dates have one-second resolution, so comparisons must use the value
    that goes out in ``Last-Modified``, not the sub-second one. Naive datetimes
    are taken to be UTC.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    else:
        value = value.astimezone(_UTC)
    return value.replace(microsecond=0)


def is_valid_if_match(value: str) -> bool:
    """Whether ``value`` is a syntactically valid If-Match field value."""
    return _IF_MATCH_SYNTAX.fullmatch(value) is not None


def is_single_member(value: str) -> bool:
    """Whether a date field value could be one HTTP-date rather than a list.

    An IMF-fixdate or rfc850-date has one comma and an asctime-date none; a
    value with more is a list of dates, which RFC 9110 says to ignore.
    """
    return value.count(",") <= 1


def if_match_passes(current: Current, if_match: ETags) -> bool:
    """RFC 9110 §13.1.1: the If-Match condition, with strong comparison."""
    if if_match.star_tag:
        return current.exists
    if current.etag is None or current.weak:
        return False
    return if_match.contains(current.etag)


def if_none_match_matches(current: Current, if_none_match: ETags) -> bool:
    """RFC 9110 §13.1.2: whether If-None-Match matches, with weak comparison.

    ``True`` means the condition is *false*: the client's copy is current.
    Tags that proxies weakened (``W/``) or suffixed (``-gzip``, ``-br``) match.
    """
    if if_none_match.star_tag:
        return current.exists
    tag = current.etag
    if tag is None:
        return False
    if if_none_match.contains_weak(tag):
        return True
    return any(if_none_match.contains_weak(tag + suffix) for suffix in PROXY_SUFFIXES)


def evaluate(
    method: str,
    current: Current,
    *,
    if_match: ETags | None = None,
    if_none_match: ETags | None = None,
    if_modified_since: datetime | None = None,
    if_unmodified_since: datetime | None = None,
    ptag: ETags | None = None,
    require_precondition: bool = False,
) -> Outcome:
    """Evaluate a request's preconditions in RFC 9110 §13.2.2 order.

    Call this only when the response would otherwise be 2xx. ``None`` for a
    header means absent; the caller passes ``None`` for dates that are invalid
    or lists (they are ignored), and an empty :class:`ETags` for a malformed
    If-Match (it fails).

    :param method: the request method, upper case.
    :param current: the representation's current validators.
    :param ptag: htmx 4's ``HX-PTag`` request header: for GET and HEAD it
        has the power of If-None-Match (and, like it, disables
        If-Modified-Since); other methods ignore it.
    :param require_precondition: answer 428 to an unsafe method that carries
        no usable If-Match or If-Unmodified-Since.
    """
    if method in EXEMPT_METHODS:
        return Outcome.PROCEED
    safe = method in SAFE_METHODS
    last_modified = current.last_modified
    if (
        require_precondition
        and not safe
        and if_match is None
        and (if_unmodified_since is None or last_modified is None)
    ):
        return Outcome.PRECONDITION_REQUIRED
    if if_match is not None:
        if not if_match_passes(current, if_match):
            return Outcome.PRECONDITION_FAILED
    elif (
        if_unmodified_since is not None
        and last_modified is not None
        and last_modified > if_unmodified_since
    ):
        return Outcome.PRECONDITION_FAILED
    if if_none_match is not None and if_none_match_matches(current, if_none_match):
        return Outcome.NOT_MODIFIED if safe else Outcome.PRECONDITION_FAILED
    if safe and ptag is not None and if_none_match_matches(current, ptag):
        return Outcome.NOT_MODIFIED
    if (
        safe
        and if_none_match is None
        and ptag is None
        and if_modified_since is not None
        and last_modified is not None
        and last_modified <= if_modified_since
    ):
        return Outcome.NOT_MODIFIED
    return Outcome.PROCEED
