"""SQLAlchemy version generators (the ``sqlalchemy`` extra).

Two ways to version the data behind a view:

* **One aggregate query** per request: :func:`collection_version`,
  :func:`row_version`, :func:`max_updated_at`. Sees every write, whoever
  made it; reads the view's own snapshot when it already has one.
* **The commit-driven registry**: :func:`track_commits` bumps a version per
  table (and partition) after every commit, and :func:`table_version` reads
  it without touching the database.
"""

from __future__ import annotations

from .aggregate import Aggregate
from .aggregate import build_aggregate
from .aggregate import STRATEGIES
from .checksum import timestamp_checksum
from .collection import collection_version
from .collection import CollectionVersion
from .collection import max_updated_at
from .execution import Bind
from .names import ANY_PARTITION
from .names import partition_name
from .names import table_names
from .rows import row_version
from .rows import RowVersion
from .tables import SnapshotTooOld
from .tables import table_version
from .tables import TableVersion
from .tracking import track_commits

__all__ = [
    "ANY_PARTITION",
    "STRATEGIES",
    "Aggregate",
    "Bind",
    "CollectionVersion",
    "RowVersion",
    "SnapshotTooOld",
    "TableVersion",
    "build_aggregate",
    "collection_version",
    "max_updated_at",
    "partition_name",
    "row_version",
    "table_names",
    "table_version",
    "timestamp_checksum",
    "track_commits",
]
