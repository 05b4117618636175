"""Strict parsing of entity-tag lists and HTTP-dates (RFC 9110 §5.5, §5.6.7, §8.8.3)."""

from __future__ import annotations

import email.utils
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_condpoll.core.fields import INVALID
from flask_condpoll.core.fields import parse_entity_tags
from flask_condpoll.core.fields import parse_http_date
from flask_condpoll.core.fields import STAR


class TestEntityTags:
    @pytest.mark.parametrize(
        ("value", "tags"),
        [
            ('"a"', ((False, "a"),)),
            ('W/"a"', ((True, "a"),)),
            ('"a", "b"', ((False, "a"), (False, "b"))),
            ('"a",W/"b"', ((False, "a"), (True, "b"))),
            (' , "a" ,, "b" , ', ((False, "a"), (False, "b"))),
            ('""', ((False, ""),)),
            ('"\x80\xff"', ((False, "\x80\xff"),)),
            ("", ()),
            (" \t", ()),
            (",", ()),
        ],
    )
    def test_valid(self, value: str, tags: tuple[tuple[bool, str], ...]):
        parsed = parse_entity_tags(value)
        assert parsed.valid
        assert not parsed.star
        assert parsed.tags == tags

    @pytest.mark.parametrize("value", ["*", " *", "* ", "*\t", "\t * \t"])
    def test_star_with_optional_whitespace(self, value: str):
        """RFC 9110 §5.5: whitespace around a field value is not part of it.
        A trailing space must not turn a create-only PUT into an overwrite."""
        assert parse_entity_tags(value) is STAR

    @pytest.mark.parametrize(
        "value",
        [
            "a",
            "abc",
            '"a',
            'a"',
            '"a""b"',
            '"a", *',
            "*, *",
            "**",
            'w/"a"',
            '"a b"',
            '"a"; x',
            '"\u20ac"',
            '"a"\x00',
            'W/ "a"',
            '"a" "b"',
        ],
    )
    def test_malformed(self, value: str):
        assert parse_entity_tags(value) is INVALID

    def test_linear_time_on_hostile_values(self):
        """Megabyte-sized hostile values: a backtracking parser would never end."""
        size = 1_000_000
        hostile = ['"a" ' + ", " * size + "x", '"' + "a" * size, '"a",' * size + "x"]
        for value in hostile:
            assert parse_entity_tags(value) is INVALID

    @given(st.text(st.characters(codec="latin-1"), max_size=60))
    def test_never_raises(self, value: str):
        parsed = parse_entity_tags(value)
        assert parsed.valid or parsed is INVALID


IMF = "Wed, 01 May 2024 12:00:00 GMT"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class TestHttpDate:
    @pytest.mark.parametrize(
        "value",
        [
            IMF,
            f" {IMF} ",
            f"\t{IMF}\t",
            "Wednesday, 01-May-24 12:00:00 GMT",
            "Wed May  1 12:00:00 2024",
        ],
    )
    def test_the_three_formats(self, value: str):
        assert parse_http_date(value) == T0

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "yesterday",
            "Wed, 01 May 2024 12:00:00 +0000",
            "Wed, 01 May 2024 12:00:00 UTC",
            "Fri, 31 Dec 9999 23:59:59 -0100",
            "Wed, 01 May 2024 12:00:00 GMT, Thu, 02 May 2024 12:00:00 GMT",
            "Wed, 31 Feb 2024 12:00:00 GMT",
            "Wed, 01 May 2024 24:00:00 GMT",
            "Wed, 01 Mai 2024 12:00:00 GMT",
            "Wed, 01 May 0000 12:00:00 GMT",
            "Wed, 01 May +024 12:00:00 GMT",
            "Wed, 1 May 2024 12:00:00 GMT",
            "Wed,  01 May 2024 12:00:00 GMT",
            "1714564800",
            "Wed, \u0660\u0661 May 2024 12:00:00 GMT",  # Arabic-Indic digits
            "Wed, 01 May \u0662\u0660\u0662\u0664 12:00:00 GMT",
            "Wed, 01 May 2024 12:00:0\u00b2 GMT",
            "Wednesday, 01-May-\u0662\u0664 12:00:00 GMT",
        ],
    )
    def test_invalid(self, value: str):
        assert parse_http_date(value) is None

    def test_leap_second(self):
        assert parse_http_date("Sun, 31 Dec 2016 23:59:60 GMT") == datetime(
            2016, 12, 31, 23, 59, 59, tzinfo=UTC
        )

    def test_far_ends_of_the_calendar(self):
        assert parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT") == datetime(
            9999, 12, 31, 23, 59, 59, tzinfo=UTC
        )
        assert parse_http_date("Mon, 01 Jan 0001 00:00:00 GMT") == datetime(
            1, 1, 1, tzinfo=UTC
        )

    @pytest.mark.parametrize(
        ("short", "year"), [("74", 2074), ("76", 2076), ("77", 1977), ("99", 1999)]
    )
    def test_two_digit_years_are_never_more_than_50_years_ahead(self, short, year):
        now = datetime(2026, 11, 23, tzinfo=UTC)
        value = f"Monday, 01-Jan-{short} 00:00:00 GMT"
        assert parse_http_date(value, now=now).year == year  # type: ignore[union-attr]

    @given(
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        st.integers(min_value=-14 * 60, max_value=14 * 60),
    )
    def test_every_date_and_zone_parses_or_is_ignored(self, moment, minutes):
        """Any day, any zone: a GMT date parses exactly, any other zone is
        not an HTTP-date, and nothing raises."""
        zone = timezone(timedelta(minutes=minutes))
        aware = moment.replace(tzinfo=zone, microsecond=0)
        formatted = email.utils.format_datetime(aware)
        parsed = parse_http_date(formatted)
        if minutes == 0 and formatted.endswith(("GMT", "+0000")):
            expected = aware.astimezone(UTC)
            assert parsed is None or parsed == expected
        else:
            assert parsed is None
        gmt = email.utils.format_datetime(aware.astimezone(UTC), usegmt=True)
        assert parse_http_date(gmt) == aware.astimezone(UTC)

    @given(st.text(st.characters(codec="latin-1"), max_size=40))
    def test_never_raises(self, value: str):
        parse_http_date(value)
