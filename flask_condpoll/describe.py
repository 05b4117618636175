"""What makes a view's tags, by name only: the ``routes`` and ``explain``
commands show these, never the values that go into a tag."""

from __future__ import annotations

import typing as t
from collections.abc import Iterable

if t.TYPE_CHECKING:
    from .declaration import Declaration
    from .plans import ViewPlan


def callable_name(func: object) -> str | None:
    """``module.qualname`` of a generator or mixin (its ``repr`` if it has
    no name), or ``None`` for no callable."""
    if func is None:
        return None
    qualname = getattr(func, "__qualname__", None)
    if qualname is None:
        return repr(func)
    return f"{getattr(func, '__module__', '?')}.{qualname}"


def query_rule(query: bool | tuple[str, ...]) -> str:
    """Which query parameters go into the tag, as a view declared it."""
    if isinstance(query, tuple):
        return ", ".join(query)
    return "all of it" if query else "ignored"


def ingredients(
    declaration: Declaration,
    plan: ViewPlan,
    *,
    path: str,
    parameters: Iterable[str],
    headers: Iterable[str],
) -> list[tuple[str, str]]:
    """``(ingredient, names)`` for one request's tag: its path, the names of
    the query ``parameters`` and request ``headers`` that count, the
    generators and the mixins."""
    query = declaration.query
    sent = sorted(set(parameters))
    counted = sent if query is True else [p for p in sent if query and p in query]
    sent_vary = [name for name in plan.vary if name.lower() in headers]
    return [
        ("path", path),
        (
            "query",
            f"{query_rule(query)} (this request: {', '.join(counted) or 'none'})",
        ),
        ("etag", callable_name(declaration.etag) or "-"),
        ("last_modified", callable_name(declaration.last_modified) or "-"),
        ("mixins", ", ".join(str(callable_name(m)) for m in plan.mixins) or "-"),
        (
            "vary",
            f"{', '.join(plan.vary) or '-'}"
            f" (this request: {', '.join(sent_vary) or 'none'})",
        ),
    ]
