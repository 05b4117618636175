"""The stats page: plots from the store, its own conditional polls, and its
own traffic left out of what it shows."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.stats import COUNTERS
from flask_condpoll.stats import stats_page

SIZE = 60


def vector(**counts: int) -> list[int]:
    vector = [0] * len(COUNTERS)
    for name, value in counts.items():
        vector[COUNTERS.index(name)] = value
    return vector


def polls(reads: int, not_modified: int, size: int = 1000) -> list[int]:
    """``reads`` GETs of which ``not_modified`` were 304s, the rest full."""
    full = reads - not_modified
    return vector(
        requests=reads, reads=reads, not_modified=not_modified, full=full,
        validated=full, full_bytes=full * size, full_sized=full,
        bytes_sent=full * size, time_304_us=200 * not_modified, t304_1=not_modified,
        time_full_us=5000 * full, tfull_5=full,
    )  # fmt: skip


def make_app(tmp_path, **options) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        SECRET_KEY="s",
        TESTING=True,
        CONDPOLL_STATS_URL="sqlite:///s.db",
        CONDPOLL_STATS_BUCKET=SIZE,
    )
    CondPoll(app)
    app.register_blueprint(stats_page(**options), url_prefix="/condpoll")

    @app.get("/status")
    @conditional(etag=lambda: "up")
    def status() -> str:
        return "up"

    return app


@pytest.fixture
def app(tmp_path) -> Flask:
    return make_app(tmp_path)


def settled() -> int:
    """The start of the newest complete bucket."""
    return (int(time.time()) - 1) // SIZE * SIZE - SIZE


def seed(app: Flask, batch_id: str = "seed") -> None:
    last = settled()
    batch = {("monitor.status", last - SIZE * i): polls(30, 27) for i in range(10)}
    batch |= {("monitor.dashboard", last - SIZE * i): polls(20, 4) for i in (0, 2)}
    batch[("monitor.badge", last)] = polls(25, 25)
    app.extensions["condpoll"].stats_store.add(batch_id, batch)


def panels(html: str) -> dict[str, str]:
    found = re.findall(
        r'<article class="panel" data-endpoint="([^"]+)">(.*?)</article>', html, re.S
    )
    return dict(found)


def test_plots_from_the_store(app):
    seed(app)
    html = app.test_client().get("/condpoll/").get_data(as_text=True)
    shown = panels(html)
    assert list(shown) == ["monitor.status", "monitor.dashboard", "monitor.badge"]
    status = shown["monitor.status"]
    assert "verdict-working" in status
    assert "300 requests" in status and ">90%</span> 304" in status
    bars = re.findall(r'<rect class="bar" data-bucket="(\d+)" data-reads="30"'
                      r' data-ratio="0.900"', status)  # fmt: skip
    assert len(bars) == 10
    assert int(bars[-1]) == settled()
    assert ">270.0 kB saved</text>" in status  # 270 304s of 1000 bytes each
    assert "server time saved</text>" in status
    dashboard = shown["monitor.dashboard"]
    assert "verdict-too-often" in dashboard
    assert dashboard.count('<rect class="bar"') == 2
    assert 'data-ratio="0.200"' in dashboard
    badge = shown["monitor.badge"]
    assert "Bytes saved: unknown" in badge  # no full response to size them
    assert "saved &middot;" not in badge
    assert html.count("<svg ") == 3 + 3 + 1  # the badge has no sizes or times
    assert "<strong>365</strong> requests" in html
    assert "<strong>83%</strong> answered 304" in html  # 303 of 365


def test_only_complete_buckets(app):
    seed(app)
    now = int(time.time()) // SIZE * SIZE
    app.extensions["condpoll"].stats_store.add(
        "now", {("monitor.live", now): polls(5, 5)}
    )
    html = app.test_client().get("/condpoll/plots").get_data(as_text=True)
    assert "monitor.live" not in panels(html)


def test_the_page_polls_itself_conditionally(app):
    seed(app)
    client = app.test_client()
    page = client.get("/condpoll/").get_data(as_text=True)
    box = re.search(r'<main id="condpoll-plots" data-url="([^"]+)" data-etag="([^"]+)"',
                    page)  # fmt: skip
    url, tag = box[1], box[2].replace("&#34;", '"')
    assert url == "/condpoll/plots"
    for _ in range(3):  # its own polls are counted, but never shown
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
        app.extensions["condpoll"].stats.flush()
    store = app.extensions["condpoll"].stats_store
    assert store.totals()["condpoll_stats.plots"][0] == 3
    store.add("late", {("monitor.status", settled()): polls(1, 0)})
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert "condpoll_stats" not in changed.get_data(as_text=True)
    assert client.get("/condpoll/", headers={"If-None-Match": tag}).status_code == 200


def test_the_page_shows_what_its_plots_tag_describes(app, monkeypatch):
    """A bucket settles after the page computed its own tag: the page shows
    the snapshot its plots' tag describes, so the first poll's 304 is true."""
    from flask_condpoll.stats import page as page_module

    seed(app)
    store = app.extensions["condpoll"].stats_store
    read = page_module.snapshot
    late = {"due": True}

    def snapshot(buckets: int) -> tuple[object, ...]:
        shown = read(buckets)
        if late.pop("due", False):
            store.add("late", {("monitor.late", settled()): polls(9, 9)})
        return shown

    monkeypatch.setattr(page_module, "snapshot", snapshot)
    client = app.test_client()
    page = client.get("/condpoll/").get_data(as_text=True)
    tag = re.search(r'data-etag="([^"]+)"', page)[1].replace("&#34;", '"')
    assert (
        client.get("/condpoll/plots", headers={"If-None-Match": tag}).status_code == 304
    )
    assert "monitor.late" in panels(page)


def test_own_endpoints_left_out(app):
    seed(app)
    store = app.extensions["condpoll"].stats_store
    store.add("own", {("condpoll_stats.page", settled()): polls(9, 1)})
    html = app.test_client().get("/condpoll/").get_data(as_text=True)
    assert "condpoll_stats.page" not in html


def test_no_counts_yet(app):
    html = app.test_client().get("/condpoll/").get_data(as_text=True)
    assert "No counts yet" in html
    assert "<svg" not in html


def test_stats_off(tmp_path):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
    CondPoll(app)
    app.register_blueprint(stats_page(), url_prefix="/condpoll")
    assert b"Stats are off" in app.test_client().get("/condpoll/").data


def test_an_unreadable_store(tmp_path):
    app = make_app(tmp_path)
    (tmp_path / "s.db").write_text("not a database" * 20)
    response = app.test_client().get("/condpoll/")
    assert response.status_code == 200
    assert b"The stats store cannot be read" in response.data
    assert "ETag" not in response.headers  # failed open


def test_guard(tmp_path):
    app = make_app(tmp_path, guard=lambda: session.get("admin", False))
    client = app.test_client()
    assert client.get("/condpoll/").status_code == 403
    assert client.get("/condpoll/plots").status_code == 403
    with client.session_transaction() as data:
        data["admin"] = True
    assert client.get("/condpoll/").status_code == 200


def test_window_and_interval(tmp_path):
    app = make_app(tmp_path, buckets=5, interval=2)
    seed(app)
    html = app.test_client().get("/condpoll/").get_data(as_text=True)
    assert 'data-interval="2"' in html
    assert panels(html)["monitor.status"].count('<rect class="bar"') == 5
    assert "The last 5 steps of 60 s" in html


@pytest.mark.parametrize(
    ("options", "message"),
    [({"buckets": 1}, "buckets must be"), ({"interval": 0.1}, "interval must be")],
)
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        stats_page(**options)


def test_its_files(app):
    html = app.test_client().get("/condpoll/").get_data(as_text=True)
    css, js = (
        re.search(r'href="([^"]+\.css)"', html)[1],
        re.search(r'src="([^"]+\.js)"', html)[1],
    )
    client = app.test_client()
    assert client.get(css).content_type == "text/css; charset=utf-8"
    assert client.get(js).content_type == "text/javascript; charset=utf-8"
