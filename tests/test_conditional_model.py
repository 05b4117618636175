"""Property tests: arbitrary conditional headers against a reference model.

The model below is written from RFC 9110 §13.2.2 without using the package:
it knows what each generated header *means* because it generated it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import UTC

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.http import http_date

from .conftest import make_app
from .conftest import Resource

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
METHODS = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class TagRef:
    """One entity-tag in a generated list: ours (maybe rewritten) or another."""

    ours: bool
    weak: bool
    suffix: str


@dataclass(frozen=True)
class TagHeader:
    """A generated If-Match / If-None-Match: absent, star, a list, or garbage."""

    kind: str  # "absent" | "star" | "list" | "garbage"
    tags: tuple[TagRef, ...] = ()
    garbage: str = ""

    def render(self, current: str) -> str | None:
        if self.kind == "absent":
            return None
        if self.kind == "star":
            return "*"
        if self.kind == "garbage":
            return self.garbage
        parts = []
        for ref in self.tags:
            opaque = (current if ref.ours else "other") + ref.suffix
            parts.append(("W/" if ref.weak else "") + f'"{opaque}"')
        return ", ".join(parts)


@dataclass(frozen=True)
class DateHeader:
    kind: str  # "absent" | "valid" | "list" | "garbage"
    offset: int = 0
    garbage: str = ""

    def render(self) -> str | None:
        if self.kind == "absent":
            return None
        date = http_date(T0 + timedelta(seconds=self.offset))
        if self.kind == "valid":
            return date
        if self.kind == "list":
            return f"{date}, {date}"
        return self.garbage


# Garbage never contains a double quote or a comma-free date, so the model knows
# it is malformed: an If-Match fails, an If-None-Match matches nothing, a date
# is ignored.
garbage = st.text(
    st.characters(codec="latin-1", exclude_characters='"\r\n\x00'), max_size=40
).filter(lambda s: "*" not in s and "W/" not in s)
tag_refs = st.builds(
    TagRef,
    ours=st.booleans(),
    weak=st.booleans(),
    suffix=st.sampled_from(["", "", "-gzip", "-br", "-x"]),
)
tag_headers = st.one_of(
    st.just(TagHeader("absent")),
    st.just(TagHeader("star")),
    st.builds(
        TagHeader,
        kind=st.just("list"),
        tags=st.lists(tag_refs, min_size=1, max_size=4).map(tuple),
    ),
    st.builds(TagHeader, kind=st.just("garbage"), garbage=garbage),
)
date_headers = st.one_of(
    st.just(DateHeader("absent")),
    st.builds(DateHeader, kind=st.just("valid"), offset=st.integers(-3, 3)),
    st.builds(DateHeader, kind=st.just("list"), offset=st.integers(-3, 3)),
    st.builds(
        DateHeader,
        kind=st.just("garbage"),
        garbage=garbage.filter(lambda s: not s.strip() or "," not in s),
    ),
)


def model(
    method: str,
    strong: bool,
    exists: bool,
    im: TagHeader,
    inm: TagHeader,
    ims: DateHeader,
    ius: DateHeader,
) -> int:
    """RFC 9110 §13.2.2, from the generated meaning of each header."""
    if method == "OPTIONS":
        return 200
    safe = method in ("GET", "HEAD")
    # The test resource's Last-Modified is T0 + 0.75 s: T0 on the wire.
    has_date = exists

    def date_of(header: DateHeader) -> datetime | None:
        if header.kind != "valid":
            return None
        return T0 + timedelta(seconds=header.offset)

    if im.kind != "absent":
        if im.kind == "star":
            passes = exists
        elif im.kind == "list":
            passes = (
                exists
                and strong
                and any(r.ours and not r.weak and r.suffix == "" for r in im.tags)
            )
        else:
            passes = False
        if not passes:
            return 412
    elif date_of(ius) is not None and has_date and date_of(ius) < T0:
        return 412
    if inm.kind != "absent":
        if inm.kind == "star":
            matched = exists
        elif inm.kind == "list":
            matched = exists and any(
                r.ours and r.suffix in ("", "-gzip", "-br") for r in inm.tags
            )
        else:
            matched = False
        if matched:
            return 304 if safe else 412
    elif safe and date_of(ims) is not None and has_date and date_of(ims) >= T0:
        return 304
    return 200


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(METHODS),
    strong=st.booleans(),
    exists=st.booleans(),
    im=tag_headers,
    inm=tag_headers,
    ims=date_headers,
    ius=date_headers,
)
def test_status_matches_the_model(method, strong, exists, im, inm, ims, ius):
    resource = Resource()
    app = make_app(resource)
    client = app.test_client()
    url = "/strong" if strong else "/weak"
    current = client.get(url).headers["ETag"].removeprefix("W/").strip('"')
    if not exists:
        resource.version = None
        resource.modified = None
    headers: dict[str, str] = {}
    for name, value in (
        ("If-Match", im.render(current)),
        ("If-None-Match", inm.render(current)),
        ("If-Modified-Since", ims.render()),
        ("If-Unmodified-Since", ius.render()),
    ):
        if value is not None:
            headers[name] = value
    resource.calls.clear()
    response = client.open(url, method=method, headers=headers)
    expected = model(method, strong, exists, im, inm, ims, ius)
    assert response.status_code == expected, headers
    assert (resource.calls != []) is (expected == 200)


header_names = st.sampled_from(
    [
        "If-Match",
        "If-None-Match",
        "If-Modified-Since",
        "If-Unmodified-Since",
        "HX-Request",
        "X-Up-Target",
    ]
)
any_value = st.one_of(
    st.text(
        st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=200
    ),
    st.text(
        st.characters(
            exclude_characters="\r\n\x00\x85\u2028\u2029\x0b\x0c\x1c\x1d\x1e"
        ),
        max_size=50,
    ),
    st.builds(
        lambda n, s: s * n,
        st.integers(1, 2000),
        st.sampled_from(['"a", ', "W/", ",", '"', "*"]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(METHODS),
    url=st.sampled_from(["/weak", "/strong", "/dated", "/guarded"]),
    headers=st.dictionaries(header_names, any_value, max_size=6),
)
def test_never_a_server_error(method: str, url: str, headers: dict[str, t.Any]):
    client = make_app(Resource()).test_client()
    response = client.open(url, method=method, headers=headers)
    assert response.status_code in (200, 304, 412, 428)
