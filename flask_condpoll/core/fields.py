"""Strict parsing of the conditional request fields (RFC 9110 §8.8, §13.1).

Values arrive as WSGI strings (latin-1). Leading and trailing whitespace is not
part of a field value (§5.5), so it is stripped first. Anything that does not
follow the grammar is reported as invalid rather than guessed at: the caller
decides what an invalid value means for each field.
"""

from __future__ import annotations

import re
import typing as t
from datetime import datetime
from datetime import UTC
from operator import itemgetter

_OWS = " \t"
_OPAQUE_TAG = itemgetter(1)
_OPAQUE = re.compile(r"[\x21\x23-\x7e\x80-\xff]*")


class EntityTags(t.NamedTuple):
    """A parsed ``"*" / #entity-tag`` field value.

    :param star: the value was ``*``.
    :param tags: ``(weak, opaque-tag)`` pairs in the order received.
    :param valid: ``False`` for a value that does not follow the grammar
        (see :data:`INVALID`).
    """

    star: bool = False
    tags: tuple[tuple[bool, str], ...] = ()
    valid: bool = True

    def contains_weak(self, *opaque: str) -> bool:
        """Weak comparison: any listed tag equals one of ``opaque``, weak or not."""
        return any(map(opaque.__contains__, map(_OPAQUE_TAG, self.tags)))


STAR = EntityTags(star=True)

#: A value that does not follow the grammar. It lists no tag, so it matches
#: nothing: If-Match with it fails, If-None-Match with it is true.
INVALID = EntityTags(valid=False)


def parse_entity_tags(value: str) -> EntityTags:
    """Parse an If-Match, If-None-Match or HX-PTag value (:data:`INVALID` if
    it does not follow the grammar).

    Empty list elements are accepted (§5.6.1); ``*`` is only valid alone.
    Runs in linear time whatever the input.
    """
    value = value.strip(_OWS)
    if value == "*":
        return STAR
    tags: list[tuple[bool, str]] = []
    position, end = 0, len(value)
    while position < end:
        char = value[position]
        if char == "," or char in _OWS:
            position += 1
            continue
        weak = value.startswith("W/", position)
        if weak:
            position += 2
        if not value.startswith('"', position):
            return INVALID
        close = value.find('"', position + 1)
        if close < 0:
            return INVALID
        opaque = value[position + 1 : close]
        if _OPAQUE.fullmatch(opaque) is None:
            return INVALID
        tags.append((weak, opaque))
        position = close + 1
        while position < end and value[position] in _OWS:
            position += 1
        if position < end and value[position] != ",":
            return INVALID
    return EntityTags(tags=tuple(tags))


_MONTH_NAMES = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES.split(), start=1)}
_DAYS = frozenset(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
_LONG_DAYS = frozenset(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
)


def parse_http_date(value: str, now: datetime | None = None) -> datetime | None:
    """Parse an HTTP-date (§5.6.7) into an aware UTC datetime; ``None`` if invalid.

    Accepts the three formats a recipient must accept: IMF-fixdate
    (``Sun, 06 Nov 1994 08:49:37 GMT``), the obsolete RFC 850 form
    (``Sunday, 06-Nov-94 08:49:37 GMT``) and asctime (``Sun Nov  6 08:49:37
    1994``). Nothing else is a valid HTTP-date: other zones, lists of dates and
    impossible dates are invalid.

    :param now: the current time, for the two-digit years of RFC 850 dates
        (one more than 50 years ahead is read as the most recent past year
        with those digits). Defaults to the current time.
    """
    parts = value.strip(_OWS).split(" ")
    try:
        if len(parts) == 6 and parts[0].endswith(",") and parts[5] == "GMT":
            day_name, day, month, year, clock = parts[0][:-1], *parts[1:5]
            if day_name not in _DAYS or len(day) != 2 or not _year(year):
                return None
            return _build(int(year), month, day, clock)
        if len(parts) == 4 and parts[0].endswith(",") and parts[3] == "GMT":
            day_name, date, clock = parts[0][:-1], parts[1], parts[2]
            pieces = date.split("-")
            if day_name not in _LONG_DAYS or len(pieces) != 3:
                return None
            day, month, short_year = pieces
            if len(day) != 2 or len(short_year) != 2 or not _digits(short_year):
                return None
            full = _full_year(int(short_year), now or datetime.now(UTC))
            return _build(full, month, day, clock)
        if len(parts) == 6 and parts[2] == "":  # asctime, single-digit day
            parts = [parts[0], parts[1], parts[3], parts[4], parts[5]]
        if len(parts) == 5 and parts[0] in _DAYS:
            _, month, day, clock, year = parts
            if len(day) not in (1, 2) or not _year(year):
                return None
            return _build(int(year), month, day, clock)
    except ValueError:
        return None
    return None


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts superscripts and
    other scripts' digits, which ``int`` reads."""
    return text.isascii() and text.isdigit()


def _year(text: str) -> bool:
    return len(text) == 4 and _digits(text)


def _build(year: int, month_name: str, day: str, clock: str) -> datetime | None:
    month = _MONTHS.get(month_name)
    pieces = clock.split(":")
    if month is None or len(pieces) != 3 or any(len(p) != 2 for p in pieces):
        return None
    if not (_digits(day) and all(_digits(p) for p in pieces)):
        return None
    hour, minute, second = map(int, pieces)
    # A leap second (60) is valid on the wire; datetime has no room for it.
    return datetime(year, month, int(day), hour, minute, min(second, 59), tzinfo=UTC)


def _full_year(short: int, now: datetime) -> int:
    year = now.year // 100 * 100 + short
    if year > now.year + 50:
        year -= 100
    return year
