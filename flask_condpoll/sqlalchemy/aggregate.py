"""The one aggregate statement behind a
:func:`~flask_condpoll.sqlalchemy.collection_version`.

The aggregates run over exactly the rows a select returns (a subquery keeps
its ORDER BY, LIMIT and OFFSET), for every table the select reads: each
entity it selects and each table it joins.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.sql import Select

from .checksum import timestamp_checksum
from .shapes import check_shape

#: The collection strategies and the aggregates each one reads.
STRATEGIES = ("composite", "max_id", "updated_at", "count")

#: ``updated_at=``: an attribute or column name looked up on every table, a
#: column, or a mapping from mapped class, Table or table name to a name
#: (``None``: the table has none, and its updates are not versioned).
UpdatedAt = str | sa.ColumnElement[t.Any] | Mapping[t.Any, str | None] | None


class Source(t.NamedTuple):
    """One table a select reads, as the select names it (maybe aliased)."""

    table: sa.Table
    columns: sa.sql.ColumnCollection[str, sa.ColumnElement[t.Any]]
    mapper: t.Any


class Aggregate(t.NamedTuple):
    """What :func:`build_aggregate` returns.

    :param statement: the aggregate select, one row.
    :param table: the first table the select reads (its bind runs the query).
    :param timestamps: positions of the ``MAX(updated_at)`` values in the row.
    :param tables: every table the select reads.
    :param stamps: the ``updated_at`` columns it reads.
    """

    statement: Select[t.Any]
    table: sa.Table
    timestamps: tuple[int, ...]
    tables: tuple[sa.Table, ...] = ()
    stamps: tuple[sa.ColumnElement[t.Any], ...] = ()


def build_aggregate(
    query: Select[t.Any],
    strategy: str = "composite",
    updated_at: UpdatedAt = "updated_at",
) -> Aggregate:
    """Build the one aggregate statement for ``strategy`` over ``query``'s rows.

    The ``composite`` strategy versions every table the select reads; the
    others read one table.

    :raises TypeError: when a table cannot be versioned (no timestamp or
        version column on a joined or inherited table, no integer key for
        ``max_id``, a subquery in FROM) or the select's shape cannot be (see
        :mod:`.shapes`), naming the table and the fix.
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {strategy!r}, must be one of: {', '.join(STRATEGIES)}."
        )
    check_shape(query)
    sources = list(_sources(query))
    primary = sources[0]
    own = set(primary.mapper.tables) if primary.mapper else {primary.table}
    if strategy != "composite" and any(s.table not in own for s in sources):
        names = ", ".join(s.table.name for s in sources)
        raise TypeError(
            f"The {strategy!r} strategy versions one table, and this select reads"
            f" {names}: a change to the others would be missed. Use the default"
            " 'composite' strategy, which versions them all."
        )
    labelled: list[sa.ColumnElement[t.Any]] = []
    plans: list[tuple[str, str, sa.Table, bool]] = []
    stamps: list[sa.ColumnElement[t.Any]] = []
    for index, source in enumerate(sources):
        versioned = source.table in own
        for kind, column, numeric in version_columns(
            source, updated_at, primary=versioned
        ):
            if kind == "ts":
                stamps.append(column)
            label = f"{kind}{index}_{len(labelled)}"
            labelled.append(column.label(label))
            plans.append((kind, label, source.table, numeric))
    inner = query.with_only_columns(*labelled, maintain_column_froms=True)
    if inner._limit_clause is None and inner._offset_clause is None:
        inner = inner.order_by(None)
    rows = inner.subquery("condpoll_rows")
    aggregates: list[t.Any] = []
    timestamps: list[int] = []

    def first(kind: str) -> tuple[t.Any, bool]:
        for found, label, table, numeric in plans:
            if found == kind and table in own:
                return rows.c[label], numeric
        what = {"pk": "a single-column primary key", "ts": "an updated_at column"}
        raise TypeError(
            f"The {strategy!r} strategy needs {what[kind]} on"
            f" {primary.table.name!r}; pass updated_at= or pick another strategy."
        )

    if strategy == "max_id":
        pk, numeric = first("pk")
        if not numeric or len(primary.table.primary_key.columns) != 1:
            raise TypeError(
                f"The 'max_id' strategy needs an integer key on {primary.table.name!r}:"
                " the newest row is the one with the highest key. Use the"
                " default 'composite' strategy."
            )
        aggregates.append(sa.func.max(pk))
    elif strategy == "count":
        aggregates.append(sa.func.count())
    elif strategy == "updated_at":
        timestamps.append(0)
        aggregates.append(sa.func.max(first("ts")[0]))
    else:
        aggregates.append(sa.func.count())
        for kind, label, _, numeric in plans:
            column = rows.c[label]
            if kind == "pk" and numeric:
                aggregates += [sa.func.max(column), sa.func.sum(column)]
            elif kind == "pk":
                text = sa.cast(column, sa.String)
                aggregates += [sa.func.max(text), sa.func.min(text)]
            elif kind == "ts":
                timestamps.append(len(aggregates))
                aggregates += [
                    sa.func.max(column),
                    sa.func.sum(timestamp_checksum(column)),
                ]
            else:
                aggregates.append(sa.func.sum(column))
    statement = sa.select(*aggregates).select_from(rows)
    tables = tuple(dict.fromkeys(source.table for source in sources))
    return Aggregate(statement, primary.table, tuple(timestamps), tables, tuple(stamps))


def _sources(query: Select[t.Any]) -> Iterator[Source]:
    """Every table ``query`` reads, selected entities first, each once."""
    mappers = {}
    for description in query.column_descriptions:
        entity = description.get("entity")
        if entity is not None:
            mapper: t.Any = sa.inspect(entity)
            mappers[mapper.local_table] = mapper.mapper
    seen: set[t.Any] = set()
    leaves = list(_leaves(query.get_final_froms()))
    if not leaves:
        raise TypeError(f"Cannot tell which table {query} selects from.")
    primary_tables = [m.local_table for m in mappers.values()]
    leaves.sort(key=lambda leaf: _table(leaf) not in primary_tables[:1])
    for leaf in leaves:
        if leaf in seen:
            continue
        seen.add(leaf)
        table = _table(leaf)
        yield Source(table, leaf.c, mappers.get(table))


def _leaves(froms: t.Iterable[t.Any]) -> Iterator[t.Any]:
    for item in froms:
        if isinstance(item, sa.Join):
            yield from _leaves((item.left, item.right))
        elif isinstance(item, sa.Table) or (
            isinstance(item, sa.Alias) and isinstance(item.element, sa.Table)
        ):
            yield item
        else:
            raise TypeError(
                f"collection_version() cannot version {item!r} in FROM: it reads"
                " tables, joins of tables and aliases of tables. Version a"
                " subquery's tables with table_version() or select from them"
                " directly."
            )


def _table(leaf: t.Any) -> sa.Table:
    return t.cast(sa.Table, leaf if isinstance(leaf, sa.Table) else leaf.element)


def version_columns(
    source: Source, updated_at: UpdatedAt, *, primary: bool
) -> Iterator[tuple[str, sa.ColumnElement[t.Any], bool]]:
    """``(kind, column, numeric)`` for the key, timestamp and version columns.

    An association table (every column a foreign key, as relationships'
    ``secondary`` tables are) is keyed by all its columns; its rows are only
    ever inserted and deleted, so it needs no timestamp. Each table of a
    joined-table inheritance needs its own timestamp unless the mapper has a
    ``version_id_col``: SQLAlchemy bumps that one for a change to any of its
    tables, but stamps ``updated_at`` only in the table whose row it updates.
    """
    table, columns, mapper = source
    keys = list(table.primary_key.columns)
    links = not keys and all(column.foreign_keys for column in table.columns)
    if links:
        keys = list(table.columns)
    for key in keys:
        yield "pk", columns[key.key], _is_integer(key)
    timestamp = _timestamp(source, updated_at)
    if timestamp is not None:
        yield "ts", timestamp, False
    version = None if mapper is None else mapper.version_id_col
    if version is not None and version.table is table:
        yield "ver", columns[version.key], True
    inherited = (
        mapper is not None and len(mapper.tables) > 1 and mapper.version_id_col is None
    )
    if (
        (inherited or not primary)
        and not links
        and timestamp is None
        and version is None
        and not _declined(source, updated_at)
    ):
        if inherited and primary:
            raise TypeError(
                f"collection_version() cannot see updates to {table.name!r}, a"
                f" table of {mapper.class_.__name__}'s joined-table inheritance:"
                " it has no updated_at column, and SQLAlchemy stamps the base"
                " table's only when the base row itself changes. Add an"
                f" updated_at column to {table.name!r}, give the base class a"
                " version_id_col (bumped for a change to any of its tables), or"
                " accept that its updates are missed with updated_at="
                f"{{{mapper.base_mapper.class_.__name__}: 'updated_at',"
                f" {table.name!r}: None}}."
            )
        raise TypeError(
            f"collection_version() cannot see updates to {table.name!r}, which the"
            " select joins: it has no updated_at column and no version_id_col."
            f" Add one, name it with updated_at={{{table.name!r}: 'column'}}, or"
            f" accept that its updates are missed with updated_at={{{table.name!r}:"
            " None}."
        )


def _timestamp(source: Source, updated_at: UpdatedAt) -> sa.ColumnElement[t.Any] | None:
    table, columns, mapper = source
    name: t.Any = updated_at
    if isinstance(updated_at, Mapping):
        found = _setting(updated_at, table)
        name = None if found is None else found[1]
        if found is not None and isinstance(found[0], type):
            mapper = sa.inspect(found[0])
    if name is None:
        return None
    if isinstance(name, str):
        if mapper is not None and name in mapper.attrs:
            column = getattr(mapper.attrs[name], "expression", None)
            if isinstance(column, sa.Column) and column.table is table:
                return columns[column.key]
        return columns.get(name)
    column = sa.inspect(name).expression
    if getattr(column, "table", None) is table:
        return columns[str(column.key)]
    return None


def _declined(source: Source, updated_at: UpdatedAt) -> bool:
    if not isinstance(updated_at, Mapping):
        return False
    found = _setting(updated_at, source.table)
    return found is not None and found[1] is None


def _setting(
    updated_at: Mapping[t.Any, str | None], table: sa.Table
) -> tuple[t.Any, str | None] | None:
    """The ``updated_at=`` entry for ``table``: by class, Table or name."""
    for key, value in updated_at.items():
        if key is table or key in (table.name, table.fullname):
            return key, value
        if isinstance(key, type) and table in sa.inspect(key).tables:
            return key, value
    return None


def _is_integer(column: sa.Column[t.Any]) -> bool:
    try:
        return issubclass(column.type.python_type, int)
    except NotImplementedError:
        return False
