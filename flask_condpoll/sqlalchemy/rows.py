"""The version of one row: its key with its timestamp and version counter."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from .aggregate import Source
from .aggregate import UpdatedAt
from .aggregate import version_columns
from .execution import Bind
from .execution import can_see_new_commits
from .execution import request_cache_and_write
from .execution import run_version_query
from .names import partition_name
from .names import partition_value
from .snapshots import watch_transactions


class RowVersion:
    """A version generator for one row. Use :func:`row_version` to create one."""

    def __init__(
        self,
        model: type | sa.Table,
        *,
        arg: str | None,
        updated_at: UpdatedAt,
        bind: Bind,
    ) -> None:
        watch_transactions()
        mapper: t.Any = None
        if isinstance(model, sa.Table):
            table = model
        else:
            mapper = sa.inspect(model)
            table = mapper.local_table
        keys = list(table.primary_key.columns)
        if len(keys) != 1:
            raise TypeError(
                f"row_version() needs a single-column primary key on {table.name!r}."
            )
        source = Source(table, table.c, mapper)
        found = list(version_columns(source, updated_at, primary=True))
        parts = [column for kind, column, _ in found if kind != "pk"]
        self.stamps = tuple(column for kind, column, _ in found if kind == "ts")
        if not parts:
            raise TypeError(
                f"row_version() needs an updated_at column or a version_id_col on"
                f" {table.name!r}: without one, updates are invisible."
            )
        key = keys[0]
        self.arg: str = arg or str(key.key)
        self.column = str(key.key)
        self.key_type = key.type
        self.bind = bind
        self.table = table
        self.statement = sa.select(*parts).where(key == sa.bindparam(self.arg))
        #: The statement a write runs: it locks the row until the write commits.
        self.locked = self.statement.with_for_update()
        #: The view arguments it reads (checked against the URL rule).
        self.required_arguments = (self.arg,)

    def __repr__(self) -> str:
        return f"row_version({self.table.name}, arg={self.arg!r})"

    def wait_names(self, **kwargs: t.Any) -> tuple[str, ...] | None:
        """For a held poll: no registry names (it is re-checked), or ``None``
        when the view's snapshot could not see a change."""
        return () if can_see_new_commits(self.bind, self.table) else None

    def __call__(self, **kwargs: t.Any) -> tuple[t.Any, ...] | None:
        key = kwargs[self.arg]
        # As the column compares it: "7" from a <doc_id> rule and 7 from an
        # <int:doc_id> rule of the same URL give one tag.
        named = partition_value(self.key_type, key)
        row = run_version_query(
            self.bind,
            self.table,
            self.statement,
            {self.arg: key},
            write=request_cache_and_write()[1],
            locked=self.locked,
            timestamps=self.stamps,
            guard=(partition_name(self.table.fullname, self.column, named),),
        )
        return None if row is None else (named, *row)


def row_version(
    model: type | sa.Table,
    *,
    arg: str | None = None,
    updated_at: UpdatedAt = "updated_at",
    bind: Bind = None,
) -> RowVersion:
    """A version generator for one row: its key with its ``updated_at`` and
    ``version_id_col``. A missing row gives ``None`` (no representation).

    ::

        @app.get("/docs/<int:doc_id>")
        @conditional(etag=row_version(Doc, arg="doc_id"))
        def get_doc(doc_id):
            return {"body": db.get_or_404(Doc, doc_id).body}

    A write view of the same URL declares the same generator (see
    :func:`~flask_condpoll.refresh_validators`). On a write, the row is read
    with ``SELECT ... FOR UPDATE`` in the view's transaction (PostgreSQL,
    MariaDB, MySQL), so two writes with the same If-Match cannot both pass:
    the second waits, then sees the first's version and gets 412.

    :param model: a mapped class or Table with a single-column primary key of
        any type.
    :param arg: the view argument holding the key; defaults to the key's name.
    :param updated_at: the timestamp column or its attribute name.
    :param bind: as for :func:`~flask_condpoll.sqlalchemy.collection_version`.
    """
    return RowVersion(model, arg=arg, updated_at=updated_at, bind=bind)
