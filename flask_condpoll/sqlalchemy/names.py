"""Registry names for tables and their partitions, and which tables a change
reaches: a delete of a parent row cascades to the tables whose foreign keys
say ``ON DELETE CASCADE`` or ``SET NULL``.

A partition is named by its value as the database compares it, so that the
commit (a row's attribute: ``Status.open``, ``Decimal("100.00")``) and the
request (a URL's text: ``"open"``, ``100``) name the same one.
"""

from __future__ import annotations

import contextlib
import typing as t
import unicodedata
import uuid
import weakref
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultDialect

from ..registry.base import ANY_PARTITION
from ..registry.base import partition_name
from ..registry.base import whole_table

__all__ = [
    "ANY_PARTITION",
    "cascades",
    "partition_name",
    "partition_value",
    "table_names",
    "whole_table",
]

# Table name -> the columns (attribute keys) some table_version() partitions
# it by, with their types.
partitions: dict[str, dict[str, sa.types.TypeEngine[t.Any]]] = {}

_DIALECT = DefaultDialect()


def partition_value(type_: sa.types.TypeEngine[t.Any], value: object) -> str:
    """``value`` as a column of ``type_`` compares it, as text.

    Enums by their stored name (from a member, its name or its value),
    numbers by their value (``100`` is ``100.00``), UUIDs in their canonical
    form, text without case, accents or trailing spaces (as MariaDB's default
    collations compare it). Values that compare alike share a name, so both
    sides agree; a value it cannot convert keeps its ``str()``.
    """
    try:
        if isinstance(type_, sa.Enum):
            return _enum(type_, value)
        if isinstance(type_, sa.Integer | sa.Numeric):
            number = Decimal(str(int(value) if isinstance(value, bool) else value))
            number = number.normalize()
            return format(number, "f") if number else "0"
        if isinstance(type_, sa.Uuid):
            return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        if isinstance(type_, sa.String) and isinstance(value, str):
            text = unicodedata.normalize("NFKD", value)
            text = "".join(c for c in text if not unicodedata.combining(c))
            return text.casefold().rstrip(" ")
    except (ArithmeticError, LookupError, TypeError, ValueError):
        pass
    return str(value)


def _enum(type_: sa.Enum, value: object) -> str:
    members = type_.enum_class
    if members is not None and not isinstance(value, members):
        with contextlib.suppress(ValueError):  # else by name, as stored
            value = members(value)  # by its value, as a URL may give it
    process = t.cast(t.Any, type_).bind_processor(_DIALECT)  # untyped upstream
    return str(value if process is None else process(value))


def table_names(target: str | sa.Table | type) -> list[str]:
    """The registry names for a table name, a Table or a mapped class."""
    if isinstance(target, str):
        return [target]
    if isinstance(target, sa.Table):
        return [target.fullname]
    mapper: t.Any = sa.inspect(target)
    return [table.fullname for table in mapper.tables]


_dependents: weakref.WeakKeyDictionary[sa.MetaData, tuple[int, dict[str, set[str]]]]
_dependents = weakref.WeakKeyDictionary()


def cascades(table: sa.Table) -> set[str]:
    """Tables whose rows the database changes when rows of ``table`` are
    deleted or their keys updated, following foreign keys transitively."""
    metadata = table.metadata
    count, graph = _dependents.get(metadata, (-1, {}))
    if count != len(metadata.tables):
        graph = {}
        for child_table in metadata.tables.values():
            for key in child_table.foreign_keys:
                actions = {(key.ondelete or "").upper(), (key.onupdate or "").upper()}
                if actions & {"CASCADE", "SET NULL", "SET DEFAULT"}:
                    parent = key.target_fullname.rpartition(".")[0]
                    graph.setdefault(parent, set()).add(child_table.fullname)
        _dependents[metadata] = (len(metadata.tables), graph)
    found: set[str] = set()
    todo = [table.fullname]
    while todo:
        for child in graph.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
