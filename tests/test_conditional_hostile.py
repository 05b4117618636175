"""Oversized, numerous, non-ASCII and control-character headers: never a 5xx,
never a wrong 304, and no parsing that grows faster than the input.

Each value is a megabyte: a quadratic parser would not finish, and the alarm
turns such a hang into a failure (a guard, not a timing measurement).
"""

from __future__ import annotations

import signal

import pytest

from .conftest import tag_of

MEGABYTE = 1 << 20
HEADERS = [
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "HX-PTag",
]


@pytest.fixture(autouse=True)
def hang_guard():
    def hung(signum, frame):
        raise AssertionError("parsing did not finish: worse than linear?")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def hostile_values(tag: str) -> dict[str, str]:
    return {
        "many tags": ", ".join(f'"t{i}"' for i in range(MEGABYTE // 8)),
        "many weak tags": ", ".join(f'W/"t{i}"' for i in range(MEGABYTE // 10)),
        "one huge tag": '"' + "a" * MEGABYTE + '"',
        "unterminated": '"' + "a" * MEGABYTE,
        "commas": "," * MEGABYTE,
        "spaces and commas": " , " * (MEGABYTE // 3),
        "quotes": '"' * MEGABYTE,
        "weak prefixes": "W/" * (MEGABYTE // 2),
        "dates": "Wed, 01 May 2024 12:00:00 GMT, " * (MEGABYTE // 32),
        "control characters": "\x01\x02\x7f\t" * (MEGABYTE // 4),
        "latin-1": "\xe9\xff\x80" * (MEGABYTE // 3),
        "our tag buried at the end": "," * MEGABYTE + tag,
    }


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_megabyte_headers(client, resource, header, method):
    tag = tag_of(client, "/strong")
    for name, value in hostile_values(tag).items():
        resource.calls.clear()
        response = client.open("/strong", method=method, headers={header: value})
        assert response.status_code in (200, 204, 304, 412), (
            name,
            response.status_code,
        )
        if response.status_code == 304:
            # Only a header that really carries the current tag may get a 304.
            assert header in ("If-None-Match", "HX-PTag") and tag in value, name
        if header == "If-Match" and method == "PUT" and tag not in value:
            assert response.status_code == 412, name  # never a write on garbage


def test_non_ascii_header_value_in_utf8(client):
    response = client.get("/weak", headers={"If-None-Match": '"\u00e9t\u00e9 \u2603"'})
    assert response.status_code == 200


def test_hundred_thousand_tags_with_the_current_one_last(client):
    tag = tag_of(client, "/weak")
    value = ", ".join(f'W/"x{i}"' for i in range(100_000)) + ", " + tag
    assert client.get("/weak", headers={"If-None-Match": value}).status_code == 304
