"""``flask condpoll``: whether polling pays, and which views are conditional."""

from __future__ import annotations

import json
import re
import time
import typing as t

import click
from flask import current_app
from flask.cli import AppGroup

from .extension import CondPollState
from .stats import EndpointStats
from .stats import OVERFLOW
from .stats import summarize
from .stats_store import describe
from .stats_store import StatsStoreError

cli = AppGroup("condpoll", help="Conditional polling: stats and routes.")

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
    "saved": lambda s: -s.bytes_saved,
    "endpoint": lambda s: s.endpoint,
}


def _state() -> CondPollState:
    return t.cast(CondPollState, current_app.extensions["condpoll"])


@cli.command("stats")
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
            click.confirm(f"Delete every count in {describe(store)}?", abort=True)
        _guard(store.reset, store)
        click.echo("Stats reset.")
        return

    def show() -> None:
        start = None if since is None else time.time() - since
        totals = _guard(lambda: store.totals(since=start, endpoint=endpoint), store)
        overflow = totals.pop(OVERFLOW, [0])[0]
        rows = sorted(summarize(totals), key=SORT_KEYS[sort])
        if as_json:
            click.echo(json.dumps(_as_json(rows, overflow), indent=2))
        elif not rows:
            click.echo(
                f"No stats yet in {describe(store)}. Counts appear once conditional"
                " views have served requests (workers flush every"
                f" {current_app.config['CONDPOLL_STATS_FLUSH_INTERVAL']} s)."
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
            f"Cannot reach the stats store ({describe(store)}): {exc}"
        ) from None


def _as_json(rows: list[EndpointStats], overflow: int) -> dict[str, t.Any]:
    return {
        "endpoints": [
            {
                "endpoint": row.endpoint,
                "ratio_304": row.ratio,
                "bytes_saved": row.bytes_saved,
                "time_saved_ms": round(row.time_saved_ms, 3),
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


def _bytes(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # pragma: no cover


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
            _bytes(row.bytes_sent),
            _bytes(row.bytes_saved),
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
    out.append("times: mean / p95 (upper bound of its histogram bucket)")
    return "\n".join(out)


@cli.command("routes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def routes_command(as_json: bool) -> None:
    """Every conditional view: rule, methods, generators, weak, vary, caching."""
    app = current_app
    state = _state()
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        declaration = getattr(app.view_functions.get(rule.endpoint), "condpoll", None)
        if declaration is None:
            continue
        settings = state.resolve(declaration)
        found.append(
            {
                "rule": rule.rule,
                "endpoint": rule.endpoint,
                "methods": sorted((rule.methods or set()) - {"OPTIONS"}),
                "etag": _name(declaration.etag),
                "last_modified": _name(declaration.last_modified),
                "weak": settings.weak,
                "vary": list(settings.vary),
                "cache_control": settings.cache_control,
                "fragment_cache_control": settings.fragment_cache_control,
                "require_precondition": declaration.require_precondition,
            }
        )
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("No view is decorated with @conditional.")
        return
    for route in found:
        click.echo(
            f"{route['rule']}  [{', '.join(route['methods'])}]  {route['endpoint']}"
        )
        for key in ("etag", "last_modified"):
            if route[key]:
                click.echo(f"    {key}: {route[key]}")
        click.echo(f"    tag: {'weak' if route['weak'] else 'strong'}")
        click.echo(f"    vary: {', '.join(route['vary']) or '-'}")
        click.echo(
            f"    cache-control: {route['cache_control'] or '-'}"
            f" (polls: {route['fragment_cache_control'] or '-'})"
        )
        if route["require_precondition"]:
            click.echo("    writes need If-Match or If-Unmodified-Since (428)")


def _name(generator: t.Any) -> str | None:
    if generator is None:
        return None
    qualname = getattr(generator, "__qualname__", None)
    if qualname is None:
        return repr(generator)
    return f"{generator.__module__}.{qualname}"
