"""``flask condpoll polling``: change the factor, stop or resume polling in
every worker process at once, without a deploy or a page reload."""

from __future__ import annotations

import math

import click
from flask import current_app
from flask.cli import with_appcontext

from ..state import get_state
from .control import MAX_FACTOR
from .control import Override
from .control import PollControl


@click.command("polling")
@with_appcontext
@click.option(
    "--factor",
    type=click.FloatRange(0, MAX_FACTOR),
    callback=lambda ctx, param, value: _finite(value),
    help="Multiply every interval.",
)
@click.option("--stop", "stop", flag_value=True, default=None, help="Stop polling.")
@click.option("--resume", "stop", flag_value=False, help="Resume polling.")
@click.option("--reset", is_flag=True, help="Drop run-time changes: the config rules.")
def polling_command(factor: float | None, stop: bool | None, reset: bool) -> None:
    """Show or change how every poller is steered.

    Processes pick a change up within a second; pages pick it up with their
    next poll (a stopped page asks again every CONDPOLL_POLL_RESUME_CHECK
    seconds).
    """
    state = get_state(current_app._get_current_object())  # type: ignore[attr-defined]
    control = state.polling
    if reset and (factor is not None or stop is not None):
        raise click.UsageError("--reset cannot be combined with other changes.")
    changing = reset or factor is not None or stop is not None
    try:
        override = Override() if reset else _stored(control, changing)
        if changing:
            override = Override(
                override.factor if factor is None else factor,
                override.stopped if stop is None else stop,
            )
            control.set(override)
    except Exception as exc:
        raise click.ClickException(
            f"Cannot use the polling control in {control.store.location}: {exc}"
        ) from exc
    configured = control.configured
    effective = configured if override.factor is None else override.factor
    running = not override.stopped and effective != 0
    origin = "set at run time" if override.factor is not None else "from the config"
    click.echo(
        f"Polling {'runs' if running else 'is stopped'}; factor {effective:g}"
        f" ({origin}; CONDPOLL_POLL_FACTOR is {configured:g})."
    )
    click.echo(f"Stored in {control.store.location}.")


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number.", param_hint="'--factor'")
    return value


def _stored(control: PollControl, changing: bool) -> Override:
    """The stored override; one that cannot be read is replaced by a change
    (so that ``--stop`` always works), and is an error otherwise."""
    try:
        return control.override()
    except ValueError as exc:
        if not changing:
            raise
        click.echo(f"Replacing what the store held: {exc}", err=True)
        return Override()
