"""The example app's views and commands."""

from __future__ import annotations

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
    assert "Seeded 6 services." in result.output
    return app


def test_seed_is_idempotent_and_resets(example):
    runner = example.test_cli_runner()
    assert "Already seeded" in runner.invoke(args=["seed"]).output
    assert "Seeded 6 services." in runner.invoke(args=["seed", "--reset"]).output


def test_index_lists_services(example):
    page = example.test_client().get("/")
    assert page.status_code == 200
    assert b"api: up" in page.data


def test_status_panel_is_conditional(example):
    client = example.test_client()

    def change():
        client.post("/services/1/state", data={"state": "down"})

    check_conditional(client, "/status", headers={"HX-Request": "true"}, change=change)


def test_deleting_a_service_changes_the_tag(example):
    from example_app.models import db
    from example_app.models import Service

    client = example.test_client()
    tag = client.get("/status").headers["ETag"]
    with example.app_context():
        db.session.delete(db.session.get(Service, 6))
        db.session.commit()
    assert client.get("/status", headers={"If-None-Match": tag}).status_code == 200


def test_bad_state_is_rejected(example):
    client = example.test_client()
    assert (
        client.post("/services/1/state", data={"state": "exploded"}).status_code == 400
    )
    assert client.post("/services/99/state", data={"state": "up"}).status_code == 404
