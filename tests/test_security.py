"""Tags help no one see what they should not: per user, per app, opaque."""

from __future__ import annotations

import base64
import itertools

from flask import Flask
from flask import session

from flask_condpoll import conditional
from flask_condpoll import CondPoll

USERS = 50


def make_app(secret: str = "secret") -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret, TESTING=True)
    condpoll = CondPoll(app)

    @condpoll.etag_mixin
    def user():
        return session.get("user_id")

    @app.post("/login/<int:user_id>")
    def login(user_id):
        session["user_id"] = user_id
        return ""

    @app.get("/inbox")
    @conditional(etag=lambda: ("inbox", 1000))  # the same data for everyone
    def inbox():
        return f"inbox of {session['user_id']}"

    return app


def test_fifty_users_never_get_each_others_304():
    app = make_app()
    clients = []
    for user in range(USERS):
        client = app.test_client()
        client.post(f"/login/{user}")
        clients.append(client)
    tags = [client.get("/inbox").headers["ETag"] for client in clients]
    assert len(set(tags)) == USERS
    cross = 0
    for (a, client), (b, tag) in itertools.product(enumerate(clients), enumerate(tags)):
        status = client.get("/inbox", headers={"If-None-Match": tag}).status_code
        if a == b:
            assert status == 304
        else:
            cross += status == 304
    assert cross == 0


def test_a_tag_from_another_app_never_matches():
    one, two = make_app("one"), make_app("two")
    first, second = one.test_client(), two.test_client()
    first.post("/login/1")
    second.post("/login/1")
    tag = first.get("/inbox").headers["ETag"]
    assert second.get("/inbox", headers={"If-None-Match": tag}).status_code == 200


def test_tags_reveal_nothing():
    """No id, count or date can be read back, and nearby values give
    unrelated tags (about half the bits differ)."""
    app = make_app()
    views = []
    for version in range(41, 45):
        name = f"v{version}"

        def version_of(v=version):
            return ("orders", 48213900 + v, "2024-05-01")

        app.add_url_rule(f"/{name}", name, conditional(etag=version_of)(lambda: "x"))
        views.append(name)
    client = app.test_client()
    client.post("/login/7")
    tags = [client.get(f"/{name}").headers["ETag"][3:-1] for name in views]
    for tag in tags:
        assert len(tag) == 22  # 128 bits in base64url, and nothing else
        for secret in ("orders", "482139", "2024-05", "inbox"):
            assert secret not in tag
    bits = [int.from_bytes(base64.urlsafe_b64decode(tag + "=="), "big") for tag in tags]
    for a, b in itertools.combinations(bits, 2):
        assert 32 <= bin(a ^ b).count("1") <= 96  # of 128
