"""Plain HTTP through a proxy, each request named in the app's access log."""

from __future__ import annotations

import gzip
import http.client
import itertools
import json
import typing as t
from dataclasses import dataclass
from urllib.parse import urlencode

import brotli

from .backend import REQUEST_ID

_ids = itertools.count(1)

#: What a browser behind HTTPS accepts: every reply may come back compressed.
ACCEPT_ENCODING = "gzip, br"


@dataclass(frozen=True)
class Reply:
    id: str  # the X-Test-Id the request carried
    status: int
    headers: dict[str, str]  # lower-case names
    text: str  # the body, decompressed

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> t.Any:
        return json.loads(self.text)


def send(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    form: dict[str, t.Any] | None = None,
    data: t.Any = None,
) -> Reply:
    """One request on its own connection. No reply may be a 5xx."""
    request_id = f"t{next(_ids)}"
    sent = {"Accept-Encoding": ACCEPT_ENCODING, REQUEST_ID: request_id}
    body = None
    if form is not None:
        body = urlencode(form)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = json.dumps(data)
        sent["Content-Type"] = "application/json"
    sent |= headers or {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        received: dict[str, str] = {}
        for name, value in response.getheaders():  # repeated fields: one list
            key = name.lower()
            received[key] = f"{received[key]}, {value}" if key in received else value
        raw = response.read()
    finally:
        connection.close()
    text = decode(received.get("content-encoding"), raw)
    reply = Reply(request_id, response.status, received, text)
    assert reply.status < 500, f"{method} {path}: {reply.status}\n{text[:500]}"
    return reply


def decode(encoding: str | None, raw: bytes) -> str:
    if encoding == "gzip":
        raw = gzip.decompress(raw)
    elif encoding == "br":
        raw = brotli.decompress(raw)
    else:
        assert encoding is None, encoding
    return raw.decode()


def login(port: int, user: int) -> str:
    """Log in through the proxy; the session cookie to send."""
    reply = send(port, "POST", "/login", form={"user_id": user})
    assert reply.status == 302, reply.status
    return t.cast(str, reply.header("Set-Cookie")).split(";", 1)[0]
