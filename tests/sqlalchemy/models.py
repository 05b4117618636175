"""Per-test tables for the SQLAlchemy tests: each test gets its own names."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime
from datetime import UTC

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from ..services import MARIADB_URL
from ..services import POSTGRESQL_URL
from ..services import sql_engine
from ..services import unique

BACKENDS = ["sqlite", "postgresql", "mariadb"]


@dataclass
class Schema:
    """Tables created for one test, and how to reach them."""

    engine: sa.Engine
    Notification: t.Any
    Document: t.Any
    metadata: sa.MetaData
    Session: sessionmaker[Session]
    aware: bool

    def now(self) -> datetime:
        now = datetime.now(UTC)
        return now if self.aware else now.replace(tzinfo=None)

    def drop(self) -> None:
        self.metadata.drop_all(self.engine)
        self.engine.dispose()


def engine_for(backend: str, tmp_path: t.Any) -> sa.Engine:
    if backend == "sqlite":
        return sa.create_engine(f"sqlite:///{tmp_path}/test.db")
    if backend == "postgresql":
        return t.cast(sa.Engine, sql_engine("PostgreSQL", POSTGRESQL_URL))
    return t.cast(sa.Engine, sql_engine("MariaDB", MARIADB_URL))


def create_schema(
    engine: sa.Engine, *, precision: int = 6, aware: bool = False
) -> Schema:
    """Create a notification table and a versioned document table.

    :param precision: fractional-second digits of MariaDB's DATETIME.
    :param aware: PostgreSQL ``timestamptz`` instead of ``timestamp``.
    """
    suffix = unique("t")
    timestamp = sa.DateTime(timezone=aware).with_variant(
        mysql.DATETIME(fsp=precision), "mysql", "mariadb"
    )

    def now() -> datetime:
        value = datetime.now(UTC)
        return value if aware else value.replace(tzinfo=None)

    class Base(DeclarativeBase):
        pass

    class Notification(Base):
        __tablename__ = f"notification_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(index=True)
        body: Mapped[str] = mapped_column(sa.String(200), default="")
        updated_at: Mapped[datetime] = mapped_column(
            timestamp, default=now, onupdate=now
        )

    class Document(Base):
        __tablename__ = f"document_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        body: Mapped[str] = mapped_column(sa.String(200), default="")
        updated_at: Mapped[datetime] = mapped_column(
            timestamp, default=now, onupdate=now
        )
        version: Mapped[int] = mapped_column(nullable=False)
        __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    Base.metadata.create_all(engine)
    return Schema(
        engine=engine,
        Notification=Notification,
        Document=Document,
        metadata=Base.metadata,
        Session=sessionmaker(engine, expire_on_commit=False),
        aware=aware,
    )
