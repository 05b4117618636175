"""``flask condpoll explain URL``: one request through the app, and why its
answer is what it is: the decision, the reason, the time spent, and the
tag's ingredients by name (never their values)."""

from __future__ import annotations

import re
import time
import typing as t
from http import HTTPStatus
from urllib.parse import parse_qsl

import click
from flask import current_app
from flask import request
from flask import request_finished
from flask.cli import with_appcontext

from . import signals
from .describe import ingredients
from .plans import plan_for
from .reasons import VIEW_RAN
from .reasons import WHY
from .state import get_state
from .timing import durations

if t.TYPE_CHECKING:
    from flask import Response

    from .flow import Flow

_LABELS = {
    "version": "version",
    "decide": "decision",
    "wait": "wait",
    "view": "view",
}

#: RFC 9110 §5.6.2: a field name; and what a field value may not hold.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _header(value: str) -> tuple[str, str]:
    name, colon, rest = value.partition(":")
    name, rest = name.strip(), rest.strip()
    if not colon or not _TOKEN.fullmatch(name) or _CONTROL.search(rest):
        raise click.BadParameter(
            f"{value!r} is not a header: write it as 'Name: value', with a"
            " name of letters, digits and -_.!#$%&'*+^`|~ and a value on one line.",
            param_hint="-H",
        )
    return name, rest


@click.command("explain")
@click.argument("url")
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A request header; repeat for more.",
)
@click.option("-X", "--method", default="GET", show_default=True, help="Method.")
@with_appcontext
def explain_command(url: str, headers: tuple[str, ...], method: str) -> None:
    """Send one request to URL through the app and explain its answer.

    Prints the status, whether the view ran and why, the time spent, and
    what the tag is made of, by name only. The request is handled like
    any other (and counted in the stats); nothing leaves the process.
    """
    request_headers = [_header(value) for value in headers]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    answered: list[tuple[Flow, float]] = []
    raised: list[BaseException] = []
    endpoints: list[str | None] = []

    def hook(flow: Flow, response: Response) -> None:
        answered.append((flow, time.perf_counter()))

    def aborted(sender: object, **kwargs: t.Any) -> None:
        raised.append(kwargs["exception"])

    def finished(sender: object, **kwargs: t.Any) -> None:
        endpoints.append(request.endpoint)

    state.response_hooks.append(hook)
    try:
        with (
            signals.request_aborted.connected_to(aborted, app),
            request_finished.connected_to(finished, app),
        ):
            response = app.test_client().open(
                url, method=method.upper(), headers=request_headers
            )
        status = response.status_code
    except Exception:  # propagated in debug mode
        if not raised:
            raise
        status = 500
    finally:
        state.response_hooks.remove(hook)
    line = f"{method.upper()} {url}  ->  {status} {_phrase(status)}"
    if raised:
        click.echo(line)
        click.echo(
            "why:     the view, a generator or a mixin raised"
            f" {type(raised[0]).__name__}: no conditional answer was made."
        )
        return
    if not answered:
        endpoint = endpoints[0] if endpoints else None
        if endpoint is None:
            raise click.ClickException(f"{line}: no view matches this URL.")
        raise click.ClickException(
            f"{line}: {endpoint!r} is not a conditional view, so nothing was"
            " decided before it ran."
        )
    flow, done = answered[0]
    _report(line, flow, done, response)


def _report(line: str, flow: Flow, finished: float, response: Response) -> None:
    ran = "ran" if flow.reason in VIEW_RAN else "did not run"
    click.echo(line)
    click.echo(f"view:    {flow.endpoint} ({ran})")
    click.echo(f"reason:  {flow.reason}")
    click.echo(f"why:     {WHY[flow.reason]}")
    etag = response.headers.get("ETag")
    if etag:
        click.echo(f"ETag:    {etag}")
    times = durations(flow, finished)
    if times:
        click.echo(
            "time:    "
            + ", ".join(f"{_LABELS[name]} {ms:.3f} ms" for name, ms in times.items())
        )
    if flow.method in ("OPTIONS", "CONNECT", "TRACE"):
        return
    environ = flow.environ
    plan = flow.plan or plan_for(flow.state, flow.declaration, flow.endpoint)
    made_of = ingredients(
        flow.declaration,
        plan,
        path=environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
        parameters=(
            name for name, _ in parse_qsl(environ.get("QUERY_STRING", ""), True)
        ),
        headers={
            key[5:].replace("_", "-").lower()
            for key in environ
            if key.startswith("HTTP_")
        },
    )
    click.echo("the tag is made of (names only; values never leave the server):")
    width = max(len(name) for name, _ in made_of)
    for name, value in made_of:
        click.echo(f"  {name.ljust(width)}  {value}")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
