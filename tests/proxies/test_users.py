"""Per-user responses through each proxy: no user ever gets another's."""

from __future__ import annotations

import re

import pytest

from .client import login

#: Setups in front of the example app, with and without a shared cache.
READING = ["nginx", "nginx-cache", "apache", "varnish", "varnish-builtin"]

#: Per-user URLs, as a page load and as a poll.
PER_USER = ["/", "/notifications/list", "/notifications/badge"]
POLLS = [{}, {"HX-Request": "true"}, {"X-Up-Target": "#notifications"}]


def owner(text: str) -> set[str]:
    """Whose notifications a page or fragment shows."""
    return set(re.findall(r"Welcome message \d+ for (\w+)<", text))


@pytest.mark.parametrize("stack", READING, indirect=True)
def test_no_response_crosses_users(stack):
    users = {"alice": login(stack.port, 1), "bob": login(stack.port, 2), None: None}
    tags: dict[tuple[str | None, str, int], str] = {}
    for _ in range(2):  # the second round could come from a cache
        for path in PER_USER:
            for number, poll in enumerate(POLLS):
                for name, cookie in users.items():
                    headers = poll | ({"Cookie": cookie} if cookie else {})
                    reply = stack.get(path, headers)
                    assert reply.status == 200
                    assert owner(reply.text) <= ({name} if name else set())
                    if path != "/notifications/badge" and name:
                        assert owner(reply.text) == {name}
                    assert "Cookie" in reply.header("Vary")
                    expected = "no-store" if poll else "private, no-cache"
                    assert reply.header("Cache-Control") == expected
                    assert stack.answer(reply).status == 200  # never from a cache
                    tags[name, path, number] = reply.header("ETag")
    for (name, path, number), tag in tags.items():
        for other, cookie in users.items():
            if other == name:
                continue
            headers = POLLS[number] | {"If-None-Match": tag}
            reply = stack.get(path, headers | ({"Cookie": cookie} if cookie else {}))
            assert reply.status == 200, (other, "got a 304 for", name, path)


@pytest.mark.parametrize("stack", READING, indirect=True)
def test_a_notification_changes_only_its_users_badge(stack):
    alice, bob = login(stack.port, 1), login(stack.port, 2)
    poll = {"HX-Request": "true"}
    first = {
        cookie: stack.get("/notifications/badge", poll | {"Cookie": cookie})
        for cookie in (alice, bob)
    }
    count = int(re.search(r"(\d+) unread", first[alice].text)[1])
    sent = stack.send("POST", "/notifications", form={"user_id": 1, "text": "hi"})
    assert sent.status == 302
    for cookie, status in ((alice, 200), (bob, 304)):
        tag = first[cookie].header("ETag")
        headers = poll | {"Cookie": cookie, "If-None-Match": tag}
        reply = stack.get("/notifications/badge", headers)
        assert reply.status == status
        assert stack.answer(reply).status == status
    changed = stack.get("/notifications/badge", poll | {"Cookie": alice})
    assert f"{count + 1} unread" in changed.text
