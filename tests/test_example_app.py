"""The example app's views and commands."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("flask_sqlalchemy")

from example_app import create_app
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
    assert 'up-poll=""' in page
    assert "/vendor/unpoly.js" in page
    assert client.post("/client", data={"client": "jquery"}).status_code == 400


def test_stats_panel_shows_the_store(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
            "CONDPOLL_STATS_URL": f"sqlite:///{tmp_path}/stats.db",
        }
    )
    app.test_cli_runner().invoke(args=["seed"])
    client = app.test_client()
    tag = client.get("/status").headers["ETag"]
    client.get("/status", headers={"If-None-Match": tag})
    app.extensions["condpoll"].stats.flush()
    panel = client.get("/stats").get_data(as_text=True)
    assert "monitor.status" in panel
    assert "50%" in panel
    assert "monitor.stats_panel" not in panel


def test_vendor_files(example):
    client = example.test_client()
    assert client.get("/vendor/nothing.js").status_code == 404
