"""Selects whose rows the aggregates cannot stand for, refused when a
collection version is declared.

The aggregates read the key, timestamp and version columns of exactly the
rows a select returns. That fails for a select grouped with GROUP BY (its
rows are groups: there is no one key and timestamp per row), and for a
subquery among the selected columns or in ORDER BY (a ``column_property``
count, a ``scalar_subquery()``): it shows rows of other tables that the
aggregates never read.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.sql import Select
from sqlalchemy.sql import visitors

#: Elements that read rows of their own.
_SUBQUERIES = (sa.Select, sa.ScalarSelect, sa.Exists)


def check_shape(query: Select[t.Any]) -> None:
    """Refuse a select whose rows the aggregates cannot stand for.

    :raises TypeError: naming what the select does and the fix.
    """
    if query._group_by_clauses or query._having_criteria:
        raise TypeError(
            "collection_version() cannot version a select with GROUP BY: its"
            " rows are groups, not rows of a table, so moving a row between"
            " groups or replacing one would not change the tag. Version the"
            " rows the groups are made of: the same select without GROUP BY,"
            " HAVING and the aggregates, such as"
            " collection_version(select(Post).where(...))."
        )
    for index, column in enumerate(_loaded_columns(query)):
        if _reads_rows(column):
            name = getattr(column, "key", None) or f"number {index + 1}"
            raise TypeError(
                f"collection_version() cannot version the column {name!r}: it is"
                " a subquery (a column_property() or scalar_subquery()) reading"
                " rows that the select does not return, so changing them would"
                " not change the tag. Version a select that joins those tables"
                " and leaves the column out instead, such as select(Post)"
                ".outerjoin(Comment).options(defer(Post.comment_count))."
            )
    for clause in query._order_by_clauses:
        if _reads_rows(clause):
            raise TypeError(
                "collection_version() cannot version a select ordered by a"
                " subquery: the order of the rows it returns depends on rows it"
                " does not return, so a change to those would not change the"
                " tag. Order by columns of the tables it selects or joins."
            )


def _loaded_columns(query: Select[t.Any]) -> t.Any:
    """The columns the select loads: with its entities' column_property()s,
    as its loader options (``defer``, ``undefer``) leave them."""
    try:
        return query.compile().compile_state.statement.selected_columns  # type: ignore[union-attr]
    except sa.exc.CompileError:  # a construct only its dialect compiles
        return query.selected_columns


def _reads_rows(element: t.Any) -> bool:
    return any(isinstance(node, _SUBQUERIES) for node in visitors.iterate(element))
