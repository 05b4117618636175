"""Timestamps too coarse to tell changes apart.

MariaDB's and MySQL's ``DATETIME`` and ``TIMESTAMP`` keep whole seconds
unless declared with fractional seconds (``DATETIME(6)``). Two changes of a
row within one second then leave its ``updated_at`` alone, and so does
replacing a row by another stamped in the same second: its version does not
change. The first time a version query runs on such a column, a warning
names it and the fix.
"""

from __future__ import annotations

import logging
import typing as t
import weakref
from collections.abc import Sequence

import sqlalchemy as sa

logger = logging.getLogger("flask_condpoll")

#: Dialects whose date-time columns hold whole seconds unless told otherwise.
_COARSE_BY_DEFAULT = ("mysql", "mariadb")

_checked: weakref.WeakKeyDictionary[t.Any, set[str]] = weakref.WeakKeyDictionary()
_warned: set[tuple[str, str]] = set()


def check_precision(
    statement: t.Any, dialect: sa.Dialect, timestamps: Sequence[t.Any]
) -> None:
    """Warn, once per column, of a timestamp ``dialect`` keeps in whole seconds.

    :param statement: the version query, so that each is checked once per
        dialect.
    :param timestamps: the ``updated_at`` columns it reads.
    """
    seen = _checked.setdefault(statement, set())
    if dialect.name in seen:
        return
    seen.add(dialect.name)
    if dialect.name not in _COARSE_BY_DEFAULT:
        return
    for column in timestamps:
        if getattr(column.type.dialect_impl(dialect), "fsp", None):
            continue
        name = f"{getattr(column.table, 'name', '?')}.{column.key}"
        if (dialect.name, name) in _warned:
            continue
        _warned.add((dialect.name, name))
        logger.warning(
            "The timestamp column %s keeps whole seconds on %s: two changes"
            " within one second, or a row replaced by one stamped in the same"
            " second, do not change its version. Declare it with fractional"
            " seconds: DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',"
            " 'mariadb'), and ALTER the column to DATETIME(6).",
            name,
            "MariaDB" if getattr(dialect, "is_mariadb", False) else "MySQL",
        )
