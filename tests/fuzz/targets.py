"""Coverage-guided fuzz targets (atheris): preconditions, field parsing, markup.

Run one with ``python -m tests.fuzz.targets NAME -max_total_time=60``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from markupsafe import Markup

    from flask_condpoll.core.fields import parse_entity_tags
    from flask_condpoll.core.fields import parse_http_date
    from flask_condpoll.core.preconditions import Conditions
    from flask_condpoll.core.preconditions import Current
    from flask_condpoll.core.preconditions import evaluate
    from flask_condpoll.core.preconditions import Outcome
    from flask_condpoll.core.preconditions import SAFE_METHODS
    from flask_condpoll.frontend import markup
    from flask_condpoll.settings import CLIENTS

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
        last_modified=parse_http_date("Wed, 01 May 2024 12:00:00 GMT")
        if exists and fdp.ConsumeBool()
        else None,
    )
    raw = [
        fdp.ConsumeUnicodeNoSurrogates(200) if fdp.ConsumeBool() else None
        for _ in range(5)
    ]
    tags = [None if value is None else parse_entity_tags(value) for value in raw]
    dates = [None if value is None else parse_http_date(value) for value in raw]
    if_match = tags[0]
    outcome = evaluate(
        method,
        current,
        Conditions(if_match, tags[1], dates[2], dates[3], tags[4]),
        require_precondition=fdp.ConsumeBool(),
    )
    if outcome in (Outcome.NOT_MODIFIED, Outcome.NO_CONTENT):
        assert method in SAFE_METHODS
    listed = if_match is not None and not if_match.star
    if listed and outcome is Outcome.PROCEED and method != "OPTIONS":
        # A list If-Match lets a request through only on our exact strong tag.
        assert not current.weak
        assert (False, "abc") in if_match.tags


def field_syntax(data: bytes) -> None:
    """The field parsers never throw; a parsed tag list came from quotes."""
    value = data.decode("latin-1")
    parsed = parse_entity_tags(value)
    if parsed.valid and parsed.tags:
        assert '"' in value
    parse_http_date(value)


def poll_markup(data: bytes) -> None:
    """No argument can inject markup: only our element's own tags appear."""
    fdp = atheris.FuzzedDataProvider(data)
    client = fdp.PickValueInList(list(CLIENTS))
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
    "field_syntax": field_syntax,
    "poll_markup": poll_markup,
}

if __name__ == "__main__":
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()
