"""``flask condpoll stats``: whether polling pays, per endpoint."""

from __future__ import annotations

import json
import re
import time
import typing as t

import click
from flask import current_app
from flask.cli import with_appcontext

from ..plans import declarations
from ..state import CondPollState
from ..state import get_state
from .counters import OVERFLOW
from .stores import StatsStoreError
from .summary import EndpointStats
from .summary import format_bytes
from .summary import summarize

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(ctx: t.Any, param: t.Any, value: str | None) -> float | None:
    """``90``, ``30s``, ``10m``, ``2h``, ``1d`` or ``1w``, as seconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value)
    if match is None:
        raise click.BadParameter(
            f"{value!r} is not a duration such as 30s, 10m, 2h or 1d."
        )
    return float(match[1]) * _UNITS[match[2] or "s"]


SORT_KEYS: dict[str, t.Callable[[EndpointStats], t.Any]] = {
    "requests": lambda s: -s.requests,
    "ratio": lambda s: -(s.ratio or 0.0),
    "saved": lambda s: -(s.bytes_saved or 0),
    "endpoint": lambda s: s.endpoint,
}


def _state() -> CondPollState:
    return get_state(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("stats")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--endpoint", help="Only this endpoint.")
@click.option(
    "--since",
    callback=parse_duration,
    metavar="DURATION",
    help="Only the last DURATION (10m, 2h, 1d).",
)
@click.option(
    "--sort",
    type=click.Choice(list(SORT_KEYS)),
    default="requests",
    show_default=True,
    help="Order of the rows.",
)
@click.option("--reset", is_flag=True, help="Delete every count.")
@click.option("--yes", is_flag=True, help="Do not ask before --reset.")
@click.option("--watch", type=float, metavar="SECONDS", help="Refresh until Ctrl-C.")
def stats_command(
    as_json: bool,
    endpoint: str | None,
    since: float | None,
    sort: str,
    reset: bool,
    yes: bool,
    watch: float | None,
) -> None:
    """Per endpoint: requests, 304 ratio, bytes and time saved, and a verdict.

    Above 70% 304s, validators are working; below 30%, the data changes too
    often for polling to pay and server-sent events may serve better.
    """
    store = _state().stats_store
    if store is None:
        raise click.ClickException(
            "Stats are off: set CONDPOLL_STATS_URL (for example"
            " 'sqlite:///condpoll-stats.sqlite3') to collect them."
        )
    if reset:
        if not yes:
            click.confirm(f"Delete every count in {store.location}?", abort=True)
        _guard(store.reset, store)
        click.echo("Stats reset.")
        return

    if endpoint is not None:
        _check_endpoint(endpoint, store)

    def show() -> None:
        start = None if since is None else time.time() - since
        totals = _guard(lambda: store.totals(since=start, endpoint=endpoint), store)
        overflow = totals.pop(OVERFLOW, [0])[0]
        rows = sorted(summarize(totals), key=SORT_KEYS[sort])
        if as_json:
            click.echo(json.dumps(_as_json(rows, overflow), indent=2))
        elif not rows:
            click.echo(
                f"No stats yet in {store.location}. Counts appear once conditional"
                " views have served requests (workers flush every"
                f" {_state().settings.stats_flush_interval:g} s)."
            )
        else:
            click.echo(_table(rows))
        if overflow and not as_json:
            click.echo(
                f"{overflow} requests were not counted: the stats store was"
                " unreachable for too long.",
                err=True,
            )

    if watch is None:
        show()
        return
    try:
        while True:
            click.clear()
            click.echo(f"Every {watch:g}s, Ctrl-C to stop. {time.strftime('%X')}\n")
            show()
            time.sleep(watch)
    except KeyboardInterrupt:
        pass


def _guard(action: t.Callable[[], t.Any], store: t.Any) -> t.Any:
    try:
        return action()
    except StatsStoreError as exc:
        raise click.ClickException(
            f"Cannot use the stats store ({store.location}): {exc}"
        ) from None


def _check_endpoint(endpoint: str, store: t.Any) -> None:
    """Fail, listing the known endpoints, unless ``endpoint`` has counts or
    is a conditional view of the app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    known = set(_guard(store.totals, store)) - {OVERFLOW}
    known.update(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if any(True for _ in declarations(app, rule))
    )
    if endpoint not in known:
        raise click.BadParameter(
            f"no endpoint {endpoint!r}; known:"
            f" {', '.join(sorted(known)) or 'none yet'}.",
            param_hint="--endpoint",
        )


def _as_json(rows: list[EndpointStats], overflow: int) -> dict[str, t.Any]:
    return {
        "endpoints": [
            {
                "endpoint": row.endpoint,
                "ratio_304": row.ratio,
                "bytes_saved": row.bytes_saved,
                "time_saved_ms": _rounded(row.time_saved_ms),
                "mean_ms_full": row.mean_ms("full"),
                "p95_ms_full": row.p95_ms("full"),
                "mean_ms_304": row.mean_ms("304"),
                "p95_ms_304": row.p95_ms("304"),
                "verdict": row.verdict,
                "counts": row.counts,
            }
            for row in rows
        ],
        "overflow": overflow,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ms(mean: float | None, p95: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.2f} / {p95:g}" if p95 is not None else f"{mean:.2f}"


def _table(rows: list[EndpointStats]) -> str:
    header = ("endpoint", "requests", "304", "sent", "saved", "full ms", "304 ms")
    lines = [
        (
            row.endpoint,
            str(row.requests),
            "-" if row.ratio is None else f"{row.ratio:.0%}",
            format_bytes(row.bytes_sent),
            format_bytes(row.bytes_saved),
            _ms(row.mean_ms("full"), row.p95_ms("full")),
            _ms(row.mean_ms("304"), row.p95_ms("304")),
        )
        for row in rows
    ]
    widths = [
        max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))
    ]

    def format_row(cells: t.Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    out = [format_row(header), format_row(["-" * w for w in widths])]
    for row, cells in zip(rows, lines, strict=True):
        out.append(format_row(cells))
        out.append(f"  {row.verdict}")
    if any(row.bytes_saved is None for row in rows):
        out.append("saved -: no full response was measured to size the 304s")
    out.append("times: mean / p95 (upper bound of its histogram bucket)")
    return "\n".join(out)
