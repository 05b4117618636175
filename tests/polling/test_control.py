"""The run-time factor and stop switch: stored for every process, read at
most once per refresh, failing safe."""

from __future__ import annotations

import logging

import pytest

from flask_condpoll.polling.control import FileStore
from flask_condpoll.polling.control import Override
from flask_condpoll.polling.control import PollControl
from flask_condpoll.polling.control import RedisStore
from flask_condpoll.polling.control import store_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingStore(FileStore):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.reads = 0

    def read(self) -> str | None:
        self.reads += 1
        return super().read()


def test_overrides_round_trip():
    for override in (
        Override(),
        Override(3.0),
        Override(None, True),
        Override(0.5, True),
    ):
        assert Override.loads(override.dumps()) == override


@pytest.mark.parametrize(
    "text",
    [
        '{"factor": "3"}',
        '{"factor": -1}',
        '{"factor": NaN}',
        '{"factor": Infinity}',
        '{"factor": 1000001}',
        '{"factor": true}',
        '{"stopped": 1}',
        "[]",
        "nope",
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError):
        Override.loads(text)


def test_the_store_is_read_at_most_once_per_refresh(tmp_path):
    clock = Clock()
    store = CountingStore(str(tmp_path / "switch.json"))
    control = PollControl(store, factor=1.0, clock=clock)
    other = PollControl(FileStore(store.path), factor=1.0)  # another process
    assert [control.factor() for _ in range(100)] == [1.0] * 100
    assert store.reads == 1
    other.set(Override(3.0))
    assert control.factor() == 1.0  # within the second: the last reading
    clock.now += 1.0
    assert control.factor() == 3.0
    other.set(Override(3.0, stopped=True))
    clock.now += 1.0
    assert control.factor() is None
    other.set(Override())
    assert not (tmp_path / "switch.json").exists()
    clock.now += 1.0
    assert control.factor() == 1.0
    assert store.reads == 4


def test_factor_zero_stops_as_gitlab(tmp_path):
    control = PollControl(FileStore(str(tmp_path / "s.json")), factor=0.0)
    assert control.factor() is None
    control.set(Override(2.0))
    assert control.factor() == 2.0


def test_a_broken_store_keeps_the_last_reading(tmp_path, caplog):
    clock = Clock()
    path = tmp_path / "switch.json"
    control = PollControl(FileStore(str(path)), factor=1.0, clock=clock)
    control.set(Override(4.0))
    assert control.factor() == 4.0
    path.write_text("{broken")
    for _ in range(3):
        clock.now += 1.0
        with caplog.at_level(logging.ERROR, "flask_condpoll"):
            assert control.factor() == 4.0
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    path.write_text(Override(2.0).dumps())
    clock.now += 1.0
    assert control.factor() == 2.0


class DownStore(FileStore):
    """A store whose service went away."""

    down = False

    def read(self) -> str | None:
        if self.down:
            raise ConnectionError("Connection refused")
        return super().read()


def test_current_override_survives_a_store_outage(tmp_path):
    clock = Clock()
    store = DownStore(str(tmp_path / "switch.json"))
    control = PollControl(store, factor=1.0, clock=clock)
    assert control.current() == Override()
    control.set(Override(2.0, stopped=True))
    assert control.current() == Override(2.0, stopped=True)
    store.down = True
    clock.now += 1.0
    with pytest.raises(ConnectionError):
        control.override()  # read now: the caller sees the failure
    assert control.current() == Override(2.0, stopped=True)  # the last reading
    assert control.factor() is None


def test_redis_store_is_preferred(tmp_path):
    client = object()
    store = store_for(str(tmp_path), [(None, "a"), (client, "condpoll:polling")])
    assert isinstance(store, RedisStore)
    assert store.location == "Redis key 'condpoll:polling'"
    assert isinstance(store_for(str(tmp_path), [(None, "a")]), FileStore)


def test_redis_store():
    from tests.services import redis_client
    from tests.services import unique

    client = redis_client()
    key = f"{unique('condpoll')}:polling"
    control = PollControl(RedisStore(client, key), factor=1.0, refresh=0.0)
    try:
        control.set(Override(2.5))
        assert control.factor() == 2.5
        assert PollControl(RedisStore(client, key), factor=1.0).factor() == 2.5
        control.set(Override())
        assert client.exists(key) == 0
    finally:
        client.delete(key)
