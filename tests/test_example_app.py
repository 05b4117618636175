"""The example app's views and commands."""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("flask_sqlalchemy")

from example_app import create_app
from flask_condpoll.stats import COUNTERS
from flask_condpoll.stats import settled_until
from flask_condpoll.testing import check_conditional


@pytest.fixture
def example(tmp_path):
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db"}
    )
    result = app.test_cli_runner().invoke(args=["seed"])
    assert "Seeded 100 users, 5000 notifications" in result.output
    return app


def logged_in(example, user_id=1):
    client = example.test_client()
    client.post("/login", data={"user_id": user_id})
    return client


def test_seed_is_idempotent_and_resets(example):
    runner = example.test_cli_runner()
    assert "Already seeded" in runner.invoke(args=["seed"]).output
    assert "Seeded 100 users" in runner.invoke(args=["seed", "--reset"]).output


def test_activity_command(example):
    runner = example.test_cli_runner()
    client = example.test_client()
    tag = client.get("/dashboard").headers["ETag"]
    result = runner.invoke(
        args=["activity", "--rate", "200", "--duration", "0.2", "--what", "activity"]
    )
    assert result.exit_code == 0
    assert re.search(r"Made \d+ changes", result.output)
    assert client.get("/dashboard", headers={"If-None-Match": tag}).status_code == 200


def test_activity_command_rejects_bad_input(example):
    runner = example.test_cli_runner()
    assert runner.invoke(args=["activity", "--rate", "0"]).exit_code == 2
    assert runner.invoke(args=["activity", "--user", "nobody"]).exit_code == 2


def test_index_renders_every_panel(example):
    page = logged_in(example).get("/").get_data(as_text=True)
    for panel in ("status", "badge", "notifications", "dashboard", "stats"):
        assert f'id="{panel}"' in page
    assert "api: up" in page
    assert "3 unread" in page


@pytest.mark.parametrize(
    ("url", "element_id"),
    [
        ("/status", "status"),
        ("/notifications/badge", "badge"),
        ("/notifications/list", "notifications"),
        ("/dashboard", "dashboard"),
        ("/stats", "stats"),
    ],
)
def test_first_poll_is_a_304(example, url, element_id):
    client = logged_in(example)
    page = client.get("/").get_data(as_text=True)
    tag = re.search(rf'id="{element_id}"[^>]*data-condpoll-etag="([^"]+)"', page)[1]
    response = client.get(
        url, headers={"HX-Request": "true", "If-None-Match": tag.replace("&#34;", '"')}
    )
    assert response.status_code == 304


def test_status_panel_is_conditional(example):
    client = example.test_client()

    def change():
        client.post("/services/1/state", data={"state": "down"})

    check_conditional(client, "/status", headers={"HX-Request": "true"}, change=change)


def test_notifications_are_per_user(example):
    alice, bob = logged_in(example, 1), logged_in(example, 2)
    tag = alice.get("/notifications/list").headers["ETag"]
    assert (
        bob.get("/notifications/list", headers={"If-None-Match": tag}).status_code
        == 200
    )
    assert (
        alice.get("/notifications/list", headers={"If-None-Match": tag}).status_code
        == 304
    )
    assert b"for alice" in alice.get("/notifications/list").data
    assert b"for alice" not in bob.get("/notifications/list").data


def test_posting_a_notification_changes_only_that_users_badge(example):
    alice, bob = logged_in(example, 1), logged_in(example, 2)
    alice_tag = alice.get("/notifications/badge").headers["ETag"]
    bob_tag = bob.get("/notifications/badge").headers["ETag"]
    bob.post("/notifications", data={"user_id": 1, "text": "hello alice"})
    changed = alice.get("/notifications/badge", headers={"If-None-Match": alice_tag})
    assert changed.status_code == 200
    assert b"4 unread" in changed.data
    assert (
        bob.get("/notifications/badge", headers={"If-None-Match": bob_tag}).status_code
        == 304
    )


def test_mark_read(example):
    alice = logged_in(example)
    tag = alice.get("/notifications/badge").headers["ETag"]
    alice.post("/notifications/read")
    response = alice.get("/notifications/badge", headers={"If-None-Match": tag})
    assert b"0 unread" in response.data
    assert example.test_client().post("/notifications/read").status_code == 401


@pytest.mark.parametrize(
    "form",
    [{"user_id": 1, "text": ""}, {"user_id": 999, "text": "x"}, {"text": "x" * 201}],
)
def test_bad_notifications_are_rejected(example, form):
    assert example.test_client().post("/notifications", data=form).status_code == 400


def test_login_as_nobody(example):
    client = logged_in(example)
    client.post("/login", data={"user_id": ""})
    assert b"Log in as someone" in client.get("/notifications/list").data


def test_bad_state_is_rejected(example):
    client = example.test_client()
    assert (
        client.post("/services/1/state", data={"state": "exploded"}).status_code == 400
    )
    assert client.post("/services/99/state", data={"state": "up"}).status_code == 404


def test_client_switch(example):
    client = example.test_client()
    client.post("/client", data={"client": "unpoly"})
    page = client.get("/").get_data(as_text=True)
    assert 'up-source="/status"' in page
    assert "/vendor/unpoly.js" in page
    assert client.post("/client", data={"client": "jquery"}).status_code == 400


@pytest.fixture
def with_stats(tmp_path):
    """The example app with stats, in hour-long buckets: no bucket ends
    during a test (they are 10 s in the demo)."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
            "CONDPOLL_STATS_URL": f"sqlite:///{tmp_path}/stats.db",
            "CONDPOLL_STATS_BUCKET": 3600,
        }
    )
    app.test_cli_runner().invoke(args=["seed"])
    return app


def completed_bucket(app) -> int:
    """The newest time bucket that every process has flushed."""
    size = app.config["CONDPOLL_STATS_BUCKET"]
    return settled_until(size, 1.0, time.time()) - size


def polls(reads: int, not_modified: int) -> list[int]:
    counts = [0] * len(COUNTERS)
    for name, value in (
        ("requests", reads), ("reads", reads), ("not_modified", not_modified),
        ("full", reads - not_modified),
    ):  # fmt: skip
        counts[COUNTERS.index(name)] = value
    return counts


def test_stats_panel_shows_the_store(with_stats):
    store = with_stats.extensions["condpoll"].stats_store
    bucket = completed_bucket(with_stats)
    store.add(
        "seen",
        {
            ("monitor.status", bucket): polls(2, 1),
            ("monitor.stats_panel", bucket): polls(5, 5),
            ("condpoll_stats.plots", bucket): polls(5, 5),
        },
    )
    panel = with_stats.test_client().get("/stats").get_data(as_text=True)
    assert "monitor.status" in panel
    assert "50%" in panel
    assert "monitor.stats_panel" not in panel
    assert "condpoll_stats" not in panel


def test_stats_panel_answers_304_while_the_others_poll(with_stats):
    """The bucket in progress grows on every flush: the panel leaves it out,
    so its own polls are 304s until a bucket is complete."""
    client = with_stats.test_client()
    page = client.get("/").get_data(as_text=True)
    tag = re.search(r'id="stats"[^>]*data-condpoll-etag="([^"]+)"', page)[1]
    tag = tag.replace("&#34;", '"')
    status = client.get("/status").headers["ETag"]
    polling = {"HX-Request": "true"}
    for _ in range(5):
        client.get("/status", headers=polling | {"If-None-Match": status})
        with_stats.extensions["condpoll"].stats.flush()
        poll = client.get("/stats", headers=polling | {"If-None-Match": tag})
        assert poll.status_code == 304
    store = with_stats.extensions["condpoll"].stats_store
    store.add("done", {("monitor.status", completed_bucket(with_stats)): polls(3, 3)})
    poll = client.get("/stats", headers=polling | {"If-None-Match": tag})
    assert poll.status_code == 200
    assert "monitor.status" in poll.get_data(as_text=True)


def test_stats_and_metrics_are_mounted(with_stats):
    client = with_stats.test_client()
    assert b"<h1>Conditional polling</h1>" in client.get("/condpoll/").data
    assert b"condpoll_stats_store_up 1.0" in client.get("/metrics").data


def test_panels_explain_themselves(example):
    tag = example.test_client().get("/status").headers
    assert tag["Server-Timing"].startswith('condpoll;desc="unconditional"')
    page = example.test_client().get("/").get_data(as_text=True)
    for panel in ("status", "notifications", "badge", "dashboard", "stats"):
        assert f'class="indicator" data-for="{panel}"' in page
    assert "/static/indicator.js" in page


def test_vendor_files(example):
    client = example.test_client()
    assert client.get("/vendor/nothing.js").status_code == 404


def test_page_reload_is_a_304_until_something_changes(example):
    alice = logged_in(example)
    page = alice.get("/")
    assert page.headers["Cache-Control"] == "private, no-cache"
    assert "Cookie" in page.headers["Vary"]
    tag = page.headers["ETag"]

    def reload():
        return alice.get("/", headers={"If-None-Match": tag})

    assert reload().status_code == 304
    changes = [
        lambda: alice.post("/services/1/state", data={"state": "down"}),
        lambda: alice.post("/notifications", data={"user_id": 1, "text": "hi"}),
        lambda: alice.post("/notifications/read"),
        lambda: example.test_cli_runner().invoke(
            args=[
                "activity",
                "--rate",
                "200",
                "--duration",
                "0.05",
                "--what",
                "activity",
            ]
        ),
        lambda: alice.post("/client", data={"client": "unpoly"}),
    ]
    for change in changes:
        change()
        assert reload().status_code == 200
        tag = alice.get("/").headers["ETag"]
        assert reload().status_code == 304


def test_page_tags_differ_per_user(example):
    users = [logged_in(example, user_id) for user_id in (1, 2)]
    users.append(example.test_client())  # nobody
    tags = [client.get("/").headers["ETag"] for client in users]
    assert len(set(tags)) == len(tags)
    for client in users:
        for tag in tags:
            status = client.get("/", headers={"If-None-Match": tag}).status_code
            assert (status == 304) == (tag == client.get("/").headers["ETag"])


def test_page_shows_the_stats_it_is_tagged_with(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
            "CONDPOLL_STATS_URL": f"sqlite:///{tmp_path}/stats.db",
        }
    )
    app.test_cli_runner().invoke(args=["seed"])
    client = app.test_client()
    tag = client.get("/").headers["ETag"]
    client.get("/status")
    app.extensions["condpoll"].stats.flush()
    # The page shows complete time buckets only: the current one is not yet.
    assert client.get("/", headers={"If-None-Match": tag}).status_code == 304
    state = app.extensions["condpoll"]
    size = state.settings.stats_bucket
    complete = settled_until(size, state.settings.stats_flush_interval, time.time())
    counts = [1 if name in ("requests", "reads", "full") else 0 for name in COUNTERS]
    state.stats_store.add("test", {("monitor.status", complete - size): counts})
    changed = client.get("/", headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag


def test_the_polling_control_changes_the_factor_live(example):
    from flask_condpoll.polling import Override

    client = example.test_client()
    control = example.extensions["condpoll"].polling
    try:
        page = client.get("/").get_data(as_text=True)
        assert 'value="1.0" aria-label="factor"' in page
        assert client.get("/dashboard").headers["Poll-Interval"] == "3000"
        client.post("/polling", data={"action": "factor", "factor": "2"})
        assert client.get("/dashboard").headers["Poll-Interval"] == "6000"
        client.post("/polling", data={"action": "stop"})
        assert client.get("/dashboard").headers["Poll-Interval"] == "-1"
        assert "<strong>stopped</strong>" in client.get("/").get_data(as_text=True)
        client.post("/polling", data={"action": "resume"})
        assert client.get("/dashboard").headers["Poll-Interval"] == "6000"
        bad = {"action": "factor", "factor": "-1"}
        assert client.post("/polling", data=bad).status_code == 400
        assert client.post("/polling", data={"action": "x"}).status_code == 400
    finally:
        control.set(Override())  # the store is the example's instance folder


def test_pages_render_while_the_polling_store_is_down(example, monkeypatch):
    """The polling control shows the last reading; only the control's own
    form answers 503 while its store cannot be reached."""
    control = example.extensions["condpoll"].polling

    def refused(*args):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(control.store, "read", refused)
    monkeypatch.setattr(control.store, "write", refused)
    monkeypatch.setattr(control, "_next", 0.0)
    client = example.test_client()
    for url in ("/", "/notifications/badge"):
        assert client.get(url).status_code == 200, url
    stop = client.post("/polling", data={"action": "stop"})
    assert stop.status_code == 503
