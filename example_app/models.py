"""The example app's tables."""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

db = SQLAlchemy()

STATES = ("up", "degraded", "down")
KINDS = ("signup", "order", "refund", "login", "upload")


def utcnow() -> datetime:
    """The current time as a naive UTC datetime, as stored in the tables."""
    return datetime.now(UTC).replace(tzinfo=None)


class Stamped:
    """``updated_at`` maintained on every ORM insert and update."""

    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class Notification(Stamped, db.Model):  # type: ignore[name-defined,misc]
    """A message for one user; the badge counts the unread ones."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    text: Mapped[str] = mapped_column(String(200))
    read: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Service(Stamped, db.Model):  # type: ignore[name-defined,misc]
    """A monitored service and its current state."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="up")


class Activity(Stamped, db.Model):  # type: ignore[name-defined,misc]
    """Business events behind the dashboard's statistics."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    amount: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
