"""The declared cadence, the header value and adaptive back-off, pure."""

from __future__ import annotations

import pytest

from flask_condpoll.core.polling import header_value
from flask_condpoll.core.polling import MIN_SAMPLES
from flask_condpoll.core.polling import Outcomes
from flask_condpoll.core.polling import Poll
from flask_condpoll.core.polling import WINDOW


class TestPoll:
    def test_a_number_is_an_interval(self):
        assert Poll.of(5) == Poll(5.0)
        assert Poll.of(None) is None
        poll = Poll(2, max_interval=30)
        assert Poll.of(poll) is poll

    @pytest.mark.parametrize(
        ("value", "error", "message"),
        [
            ("5", TypeError, "poll must be a number of seconds or a Poll"),
            (True, TypeError, "poll must be a number of seconds or a Poll"),
            (0, ValueError, "Invalid interval 0: use seconds from 0.05 to 86400"),
            (float("nan"), ValueError, "Invalid interval nan"),
            (86401, ValueError, "Invalid interval 86401"),
        ],
    )
    def test_bad_values_say_how_to_write_them(self, value, error, message):
        with pytest.raises(error, match=message):
            Poll.of(value)

    def test_max_interval_is_checked(self):
        with pytest.raises(
            ValueError, match="max_interval 1 is shorter than interval 2"
        ):
            Poll(2, max_interval=1)
        with pytest.raises(TypeError, match="max_interval must be a number"):
            Poll(2, max_interval="60")

    @pytest.mark.parametrize(
        ("unchanged", "expected"),
        [(None, 2), (0.5, 2), (0.89, 2), (0.9, 20), (0.95, 40), (0.99, 60), (1, 60)],
    )
    def test_adapted_interval(self, unchanged, expected):
        assert Poll(2, max_interval=60).adapted(unchanged) == pytest.approx(expected)

    def test_without_max_interval_nothing_adapts(self):
        assert Poll(2).adapted(1.0) == 2


@pytest.mark.parametrize(
    ("seconds", "value"),
    [(None, "-1"), (2, "2000"), (0.25, "250"), (0.0001, "1"), (1e9, "86400000")],
)
def test_header_value(seconds, value):
    assert header_value(seconds) == value


def test_outcomes_keep_a_window():
    outcomes = Outcomes()
    for _ in range(MIN_SAMPLES - 1):
        outcomes.add(True)
    assert outcomes.unchanged() is None
    outcomes.add(False)
    assert outcomes.unchanged() == (MIN_SAMPLES - 1) / MIN_SAMPLES
    for _ in range(WINDOW):
        outcomes.add(True)
    assert outcomes.unchanged() == 1.0
