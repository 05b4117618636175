"""Guarded writes: the version a write's precondition is checked against
stays current until the write commits.

A write carrying a precondition (If-Match, If-None-Match, If-Unmodified-Since)
first takes a lock on what its version describes, in its own transaction,
then reads the version:

* **PostgreSQL**: a transaction-level advisory lock per name
  (``pg_advisory_xact_lock``), released at commit or rollback.
* **MariaDB, MySQL**: a named lock per name (``GET_LOCK``, waiting up to
  a second less than ``innodb_lock_wait_timeout``), released when the
  connection returns to the pool, right after the commit.
* **SQLite**: the database's write lock: ``BEGIN IMMEDIATE``, or, in a
  transaction already open (the "real BEGIN" recipe), a write that changes
  nothing.

A second guarded write of the same resource waits for the first to commit,
then sees its version. Under REPEATABLE READ or SERIALIZABLE the write's
snapshot may be older than the lock, so the version is also read afresh on a
pooled connection: if the two differ, the data changed after the snapshot
began and the precondition no longer holds (412). So does a serialization
failure or a deadlock while the version is read, and, on SQLite, a snapshot
that a commit made stale. Nothing the request did is kept: its transaction is
rolled back, not committed.
"""

from __future__ import annotations

import hashlib
import typing as t
import weakref
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from werkzeug.exceptions import PreconditionFailed

from ..core.preconditions import SAFE_METHODS
from ..running import current_request

#: The WSGI environ key of the lock names this request holds already.
HELD = "condpoll.sqlalchemy.locks"

#: Where a pooled MariaDB connection notes that it holds named locks.
_NAMED_LOCKS = "condpoll_named_locks"

#: The request headers that make a write guarded.
_PRECONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_UNMODIFIED_SINCE")

#: SQLSTATEs and MySQL error numbers of a transaction that lost a race.
_CONFLICTS = {"40001", "40P01", 1213}

#: SQLite's result code for a lock held by another connection.
_SQLITE_BUSY = 5

_releasing: weakref.WeakSet[Engine] = weakref.WeakSet()


class ChangedWhileChecking(PreconditionFailed):
    """412: the data a guarded write's precondition is about changed while it
    was being checked."""

    description = (
        "The resource changed while this request was being checked. Fetch it"
        " again and retry with its new validators."
    )


def guarded_write() -> bool:
    """Whether the current request is a write carrying a precondition."""
    current = current_request()
    if current is None or current[0] in SAFE_METHODS:
        return False
    return not current[1].keys().isdisjoint(_PRECONDITIONS)


def guarded(names: Sequence[str]) -> bool:
    """Whether the current request is a write with a precondition whose
    ``names`` this request has not locked yet (a second read, such as
    :func:`~flask_condpoll.refresh_validators`, reads its own writes)."""
    current = current_request()
    if not guarded_write() or current is None:
        return False
    held: set[str] = current[1].setdefault(HELD, set())
    if held.issuperset(names):
        return False
    held.update(names)
    return True


def lock(connection: Connection, table: sa.Table, names: Sequence[str]) -> None:
    """Take the write locks for a write in ``connection``'s transaction.

    Every write on SQLite starts with ``BEGIN IMMEDIATE`` (the write lock
    before the version is read); a guarded one (``names``) takes the write
    lock in a transaction already open too. Elsewhere only guarded writes
    lock ``names``; the version statement locks its row ``FOR UPDATE``.

    :raises ChangedWhileChecking: if SQLite's snapshot is stale.
    """
    dialect = connection.dialect.name
    if dialect == "sqlite":
        _lock_sqlite(connection, table, upgrade=bool(names))
    elif not names:
        return
    elif dialect == "postgresql":
        for key in sorted(_advisory_key(name) for name in names):
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))
    elif dialect in ("mysql", "mariadb"):
        _release_on_checkin(connection.engine)
        held = connection.info.setdefault(_NAMED_LOCKS, [])
        for name in sorted(names):
            held.append(_lock_name(name))
            # A second shorter than the row locks' wait: a writer that waits
            # here while holding shared locks (SERIALIZABLE reads) the lock's
            # holder needs gives up first, and the holder goes on.
            got = connection.exec_driver_sql(
                "SELECT GET_LOCK(%s, GREATEST(@@innodb_lock_wait_timeout - 1, 1))",
                (held[-1],),
            ).scalar()
            if got != 1:
                raise TimeoutError(f"Could not lock {name!r} for a guarded write.")


def is_conflict(exc: BaseException) -> bool:
    """Whether a database error means the transaction lost a race."""
    original = getattr(exc, "orig", exc)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code is None and getattr(original, "args", None):
        code = original.args[0]
    return isinstance(code, int | str) and code in _CONFLICTS


def _lock_sqlite(connection: Connection, table: sa.Table, *, upgrade: bool) -> None:
    dbapi: t.Any = connection.connection.dbapi_connection
    began = getattr(dbapi, "in_transaction", True)
    if began and not upgrade:
        return
    cursor = dbapi.cursor()
    try:
        if not began:
            cursor.execute("BEGIN IMMEDIATE")  # waits for the lock (timeout=)
            return
        # A write that changes nothing takes the write lock. SQLite refuses it
        # at once while another write is under way (waiting cannot help a
        # snapshot that write would make stale), or once one has committed.
        name = connection.dialect.identifier_preparer.format_table(table)
        cursor.execute(f"DELETE FROM {name} WHERE 0")
    except dbapi.Error as exc:
        code = getattr(exc, "sqlite_errorcode", 0)
        if began and code & 0xFF == _SQLITE_BUSY:
            raise ChangedWhileChecking() from exc
        raise
    finally:
        cursor.close()


def _advisory_key(name: str) -> int:
    digest = hashlib.blake2b(f"condpoll:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_name(name: str) -> str:
    """A MariaDB lock name: at most 64 characters."""
    return "condpoll:" + hashlib.blake2b(name.encode(), digest_size=16).hexdigest()


def _release_on_checkin(engine: Engine) -> None:
    if engine not in _releasing:
        _releasing.add(engine)
        event.listen(engine, "checkin", _release_named_locks)


def _release_named_locks(dbapi_connection: t.Any, record: t.Any) -> None:
    held = record.info.pop(_NAMED_LOCKS, ())
    if dbapi_connection is None or not held:
        return  # a connection that was closed released its locks
    cursor = dbapi_connection.cursor()
    try:
        for name in held:
            cursor.execute("SELECT RELEASE_LOCK(%s)", (name,))
    finally:
        cursor.close()
        dbapi_connection.rollback()  # leave it as the pool's reset did
