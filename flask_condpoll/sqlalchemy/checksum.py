"""A per-row timestamp checksum that every dialect computes the same way."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

_MODULUS = 2147483647  # a prime below 2**31: sums stay far from overflow


class timestamp_checksum(FunctionElement[int]):
    """A timestamp as microseconds since 1970, modulo a prime, on any dialect.

    Summed over rows, it changes when any row's timestamp changes, forwards or
    backwards, which ``MAX`` misses.
    """

    type = sa.BigInteger()
    inherit_cache = True
    name = "timestamp_checksum"


@compiles(timestamp_checksum)
def _checksum_default(
    element: timestamp_checksum, compiler: SQLCompiler, **kw: t.Any
) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"MOD(CAST(EXTRACT(EPOCH FROM {arg}) * 1000000 AS BIGINT), {_MODULUS})"


@compiles(timestamp_checksum, "sqlite")
def _checksum_sqlite(
    element: timestamp_checksum, compiler: SQLCompiler, **kw: t.Any
) -> str:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff": seconds, then microseconds.
    # unixepoch() (SQLite 3.38+) gives the same seconds as strftime('%s'), faster.
    arg = compiler.process(element.clauses, **kw)
    version = compiler.dialect.server_version_info or (0,)
    seconds = (
        f"unixepoch({arg})"
        if version >= (3, 38)
        else f"CAST(strftime('%s', {arg}) AS INTEGER)"
    )
    return (
        f"(({seconds} * 1000000 + CAST(substr({arg}, 21, 6) AS INTEGER)) % {_MODULUS})"
    )


@compiles(timestamp_checksum, "mysql")
@compiles(timestamp_checksum, "mariadb")
def _checksum_mysql(
    element: timestamp_checksum, compiler: SQLCompiler, **kw: t.Any
) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"MOD(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {arg}), {_MODULUS})"
