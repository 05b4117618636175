"""Coverage-guided fuzz targets (atheris): preconditions, tag parsing, markup.

Run one with ``python -m tests.fuzz.targets NAME -max_total_time=60``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from markupsafe import Markup
    from werkzeug.datastructures import ETags
    from werkzeug.http import parse_date
    from werkzeug.http import parse_etags

    from flask_condpoll import markup
    from flask_condpoll.preconditions import Current
    from flask_condpoll.preconditions import evaluate
    from flask_condpoll.preconditions import http_datetime
    from flask_condpoll.preconditions import is_single_member
    from flask_condpoll.preconditions import is_valid_if_match
    from flask_condpoll.preconditions import Outcome
    from flask_condpoll.preconditions import SAFE_METHODS

METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]


def preconditions(data: bytes) -> None:
    """Any headers: no exception, and the outcome obeys the RFC's invariants."""
    fdp = atheris.FuzzedDataProvider(data)
    method = fdp.PickValueInList(METHODS)
    exists = fdp.ConsumeBool()
    current = Current(
        exists=exists,
        etag="abc" if exists and fdp.ConsumeBool() else None,
        weak=fdp.ConsumeBool(),
        last_modified=http_datetime(parse_date("Wed, 01 May 2024 12:00:00 GMT"))
        if exists and fdp.ConsumeBool()
        else None,
    )
    raw = [
        fdp.ConsumeUnicodeNoSurrogates(200) if fdp.ConsumeBool() else None
        for _ in range(5)
    ]
    if_match = (
        None
        if raw[0] is None
        else (parse_etags(raw[0]) if is_valid_if_match(raw[0]) else ETags())
    )
    dates = [
        None if value is None or not is_single_member(value) else parse_date(value)
        for value in raw[2:4]
    ]
    outcome = evaluate(
        method,
        current,
        if_match=if_match,
        if_none_match=None if raw[1] is None else parse_etags(raw[1]),
        if_modified_since=None if dates[0] is None else http_datetime(dates[0]),
        if_unmodified_since=None if dates[1] is None else http_datetime(dates[1]),
        ptag=None if raw[4] is None else parse_etags(raw[4]),
        require_precondition=fdp.ConsumeBool(),
    )
    if outcome is Outcome.NOT_MODIFIED:
        assert method in SAFE_METHODS
    listed = if_match is not None and not if_match.star_tag
    if listed and outcome is Outcome.PROCEED and method != "OPTIONS":
        # A list If-Match lets a request through only on our exact strong tag.
        assert not current.weak and if_match.contains("abc")


def tag_syntax(data: bytes) -> None:
    """The If-Match check never throws and agrees with quoting rules."""
    value = data.decode("latin-1")
    if is_valid_if_match(value) and value.strip() != "*":
        assert '"' in value


def poll_markup(data: bytes) -> None:
    """No argument can inject markup: only our element's own tags appear."""
    fdp = atheris.FuzzedDataProvider(data)
    client = fdp.PickValueInList(list(markup.CLIENTS))
    try:
        html = markup.poll_element(
            client,
            url=fdp.ConsumeUnicodeNoSurrogates(100),
            element_id=fdp.ConsumeUnicodeNoSurrogates(20),
            interval=fdp.ConsumeFloat(),
            content=fdp.ConsumeUnicodeNoSurrogates(100),
            etag=fdp.ConsumeUnicodeNoSurrogates(50),
            target=None if client == "unpoly" else fdp.ConsumeUnicodeNoSurrogates(30),
        )
    except ValueError:
        return
    assert isinstance(html, Markup)
    assert html.count("<") == 2 and html.count(">") == 2, html


TARGETS = {
    "preconditions": preconditions,
    "tag_syntax": tag_syntax,
    "poll_markup": poll_markup,
}

if __name__ == "__main__":
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()
