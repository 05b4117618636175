"""Mistakes only visible once every route is registered, reported at the first
request: a ``@conditional`` placed above the route decorator (it then wraps
nothing), generators that cannot take what a URL rule passes, views of one
URL whose tags could never agree, and writes that require a precondition
their generator cannot check."""

from __future__ import annotations

import logging
import typing as t

from flask import Flask
from werkzeug.routing import Rule

from .conditional import decorated_views
from .core.preconditions import SAFE_METHODS
from .declaration import Declaration
from .plans import declarations
from .plans import plan_for
from .plans import url_pattern
from .state import get_state

logger = logging.getLogger("flask_condpoll")


def find_problems(app: Flask) -> list[str]:
    """Describe every misplaced decorator, every generator its rule cannot
    call, and every URL whose views disagree."""
    problems = [
        f"The view {endpoint!r} is registered without its @conditional:"
        " @conditional is above the route decorator, so it wraps a function"
        " Flask never calls. Put it directly above the view function, below"
        " @app.route (and below authentication decorators)."
        for endpoint, view in app.view_functions.items()
        if view in decorated_views
    ]
    state = get_state(app)
    by_url: dict[tuple[str, str, str], dict[tuple[object, ...], list[str]]] = {}
    rules: dict[tuple[str, str, str], set[str]] = {}
    for rule in app.url_map.iter_rules():
        found = list(declarations(app, rule))
        for declaration in dict.fromkeys(declaration for _, declaration in found):
            problems.extend(_uncallable(rule, declaration))
        pattern = url_pattern(rule)
        for method, declaration in found:
            if method not in SAFE_METHODS and declaration.require_precondition:
                problems.extend(
                    f"The view {rule.endpoint!r} requires a precondition for"
                    f" {method}, and {refusal}"
                    for refusal in _cannot_guard(declaration)
                )
            plan = plan_for(state, declaration, rule.endpoint)
            rules.setdefault(pattern, set()).add(rule.rule)
            recipes = by_url.setdefault(pattern, {})
            label = f"{method} ({rule.endpoint})"
            recipes.setdefault(plan.recipe(declaration), []).append(label)
    for pattern, recipes in sorted(by_url.items()):
        methods = [label.split()[0] for labels in recipes.values() for label in labels]
        writes = any(method not in SAFE_METHODS for method in methods)
        if len(recipes) > 1 and writes:
            urls = " and ".join(map(repr, sorted(rules[pattern])))
            groups = "; ".join(", ".join(labels) for labels in recipes.values())
            problems.append(
                f"The conditional views of {urls} compute their tags"
                f" differently ({groups}): If-Match with the tag one of them"
                " handed out never passes another. Give them the same weak=,"
                " query=, mixins= and app_mixins=."
            )
    return problems


def _uncallable(rule: Rule, declaration: Declaration) -> list[str]:
    """The generators that cannot take the arguments ``rule`` passes: where
    the view's own signature could not tell (``decorators = [...]`` on a
    class-based view), or has arguments the rule never fills."""
    try:
        declaration.check_arguments(
            sorted({*rule.arguments, *(rule.defaults or ())}),
            f"{rule.endpoint!r} ({rule.rule})",
        )
    except TypeError as exc:
        return [str(exc)]
    return []


def _cannot_guard(declaration: Declaration) -> t.Iterator[str]:
    """Why the declaration's generators cannot check a write's precondition
    (their ``cannot_guard_writes``), if they cannot."""
    for generator in dict.fromkeys((declaration.etag, declaration.last_modified)):
        refusal = getattr(generator, "cannot_guard_writes", None)
        if isinstance(refusal, str):
            yield refusal


def install(app: Flask) -> None:
    """Check ``app`` once, before its first request.

    In debug and testing mode a problem raises :class:`RuntimeError`; in
    production it is logged as an error and requests are served.
    """

    def check_once() -> None:
        problems = find_problems(app)
        # Replace the list rather than mutate it: Flask may be iterating it.
        funcs = app.before_request_funcs
        funcs[None] = [f for f in funcs.get(None, []) if f is not check_once]
        if not problems:
            return
        message = "flask-condpoll found problems:\n- " + "\n- ".join(problems)
        if app.debug or app.testing:
            raise RuntimeError(message)
        logger.error("%s", message)

    app.before_request_funcs.setdefault(None, []).insert(0, t.cast(t.Any, check_once))
