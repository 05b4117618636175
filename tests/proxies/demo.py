"""Driving the example app's status panel the way each polling client does."""

from __future__ import annotations

import re
import typing as t

from example_app.commands import SERVICES
from example_app.models import STATES

#: What each client sends with every poll of the status panel.
POLL = {
    "htmx2": {"HX-Request": "true"},
    "htmx4": {"HX-Request": "true"},
    "unpoly": {"X-Up-Target": "#status"},
}

#: How each client's unchanged poll is answered: htmx 4 sends only HX-PTag.
UNCHANGED = {"htmx2": 304, "htmx4": 204, "unpoly": 304}


def poll_headers(client: str, tag: str | None = None) -> dict[str, str]:
    """A poll; htmx 4 sends its tag as HX-PTag, the others as If-None-Match."""
    headers = dict(POLL[client])
    if tag is not None:
        headers[tag_header(client)] = tag
    return headers


def tag_header(client: str) -> str:
    """The response header whose value the client sends back."""
    return "HX-PTag" if client == "htmx4" else "If-None-Match"


def delivered_tag(client: str, reply: t.Any) -> str:
    """The tag the client keeps from a 200, as the proxy delivered it."""
    return t.cast(str, reply.header("HX-PTag" if client == "htmx4" else "ETag"))


def change_state(stack: t.Any, service: str = "api") -> str:
    """Put ``service`` in another state through the proxy; the new state."""
    text = stack.get("/status").text
    current = re.search(rf'data-service="{service}">{service}: (\w+)', text)[1]
    new = STATES[(STATES.index(current) + 1) % len(STATES)]
    service_id = SERVICES.index(service) + 1
    reply = stack.send("POST", f"/services/{service_id}/state", form={"state": new})
    assert reply.status == 302
    return new
