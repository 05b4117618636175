"""``flask condpoll``: the command group, and ``routes``, which lists every
conditional view."""

from __future__ import annotations

import json
import typing as t

import click
from flask import current_app
from flask.cli import AppGroup

from .checks import find_problems
from .describe import callable_name
from .describe import query_rule
from .explain import explain_command
from .plans import declarations
from .plans import plan_for
from .polling.cli import polling_command
from .state import get_state
from .stats.cli import stats_command

cli = AppGroup(
    "condpoll", help="Conditional polling: stats, routes, explain, steering."
)
cli.add_command(stats_command)
cli.add_command(explain_command)
cli.add_command(polling_command)


@cli.command("routes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def routes_command(as_json: bool) -> None:
    """Every conditional view: rule, methods, generators, weak, vary, caching.

    Also reports misplaced decorators and views of one URL whose tags differ.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        methods: dict[t.Any, list[str]] = {}
        for method, declaration in declarations(app, rule):
            methods.setdefault(declaration, []).append(method)
        for declaration, names in methods.items():
            plan = plan_for(state, declaration, rule.endpoint)
            found.append(
                {
                    "rule": rule.rule,
                    "endpoint": rule.endpoint,
                    "methods": names,
                    "etag": callable_name(declaration.etag),
                    "last_modified": callable_name(declaration.last_modified),
                    "weak": plan.weak,
                    "vary": list(plan.vary),
                    "query": query_rule(declaration.query),
                    "mixins": [callable_name(mixin) for mixin in plan.mixins],
                    "cache_control": plan.cache_control,
                    "fragment_cache_control": plan.fragment_cache_control,
                    "require_precondition": declaration.require_precondition,
                }
            )
    for problem in find_problems(app):
        click.echo(f"Problem: {problem}", err=True)
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
        click.echo(f"    query: {route['query']}")
        click.echo(f"    mixins: {', '.join(route['mixins']) or '-'}")
        click.echo(
            f"    cache-control: {route['cache_control'] or '-'}"
            f" (polls: {route['fragment_cache_control'] or '-'})"
        )
        if route["require_precondition"]:
            click.echo("    writes need a precondition (428 without one)")
