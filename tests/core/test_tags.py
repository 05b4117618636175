"""Canonical encoding and keyed tags."""

from __future__ import annotations

import datetime
import decimal
import enum
import subprocess
import sys
import uuid

import pytest

from flask_condpoll.core.tags import derive_key
from flask_condpoll.core.tags import encode
from flask_condpoll.core.tags import TagMaker


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, "1"),
        (1, 1.0),
        (True, 1),
        (None, "None"),
        (b"x", "x"),
        ((1, 2), (2, 1)),
        (("ab", "c"), ("a", "bc")),
        ([1, [2]], [[1], 2]),
        ({"a": 1}, {"a": "1"}),
        (datetime.date(2024, 1, 1), "2024-01-01"),
        (Color.RED, "red"),
        (0.0, -0.0),
    ],
)
def test_different_values_encode_differently(a, b):
    assert encode(a) != encode(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({3, 1, 2}, {2, 3, 1}),
        ((1, 2), [1, 2]),
        (
            datetime.datetime(2024, 1, 1, 12),
            datetime.datetime(
                2024, 1, 1, 14, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
            ),
        ),
        (decimal.Decimal("1.50"), decimal.Decimal("1.5")),
    ],
)
def test_equal_values_encode_equally(a, b):
    assert encode(a) == encode(b)


def test_supported_types():
    value = (
        None,
        True,
        3,
        2.5,
        "s",
        b"b",
        decimal.Decimal(1),
        uuid.UUID(int=1),
        datetime.datetime(2024, 1, 1),
        datetime.date(2024, 1, 1),
        datetime.time(1, 2),
        frozenset({1}),
        {"k": [1]},
        Color.RED,
    )
    assert encode(value)


@pytest.mark.parametrize("value", [object(), 1j, [object()], {"a": object()}])
def test_unsupported_types_raise(value):
    with pytest.raises(TypeError, match="Cannot use a"):
        encode(value)


def test_tags_are_short_url_safe_and_keyed():
    one, two = TagMaker(derive_key("a")), TagMaker(derive_key("b"))
    tag = one.make("endpoint", {"id": 1}, 5)
    assert len(tag) == 22
    assert tag.replace("-", "").replace("_", "").isalnum()
    assert tag == one.make("endpoint", {"id": 1}, 5)
    assert tag != two.make("endpoint", {"id": 1}, 5)
    assert tag != one.make("endpoint", {"id": 1}, 6)


def test_parts_are_not_ambiguous():
    maker = TagMaker(derive_key("k"))
    assert maker.make("ab", "c") != maker.make("a", "bc")


def test_same_tag_in_another_process():
    """No per-process randomness: hash seeds differ, tags do not."""
    code = (
        "from flask_condpoll.core.tags import TagMaker, derive_key;"
        "print(TagMaker(derive_key('k')).make('e', {'a': 1, 'b': {2, 3}}, 'v'))"
    )
    tags = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(tags) == 1
    assert tags == {
        TagMaker(derive_key("k")).make("e", {"a": 1, "b": {2, 3}}, "v") + "\n"
    }
