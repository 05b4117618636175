"""The example app's tables."""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

db = SQLAlchemy()

STATES = ("up", "degraded", "down")


def utcnow() -> datetime:
    """The current time as a naive UTC datetime, as stored in the tables."""
    return datetime.now(UTC).replace(tzinfo=None)


class Service(db.Model):  # type: ignore[name-defined,misc]
    """A monitored service and its current state."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    state: Mapped[str] = mapped_column(default="up")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
