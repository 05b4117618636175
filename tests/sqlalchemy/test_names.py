"""Partition names: a row's attribute and a URL's text that the database
compares as equal name the same partition."""

from __future__ import annotations

import enum
import typing as t
import uuid
from decimal import Decimal

import pytest

sa = pytest.importorskip("sqlalchemy")

from flask import Flask  # noqa: E402
from sqlalchemy.orm import DeclarativeBase  # noqa: E402
from sqlalchemy.orm import Mapped  # noqa: E402
from sqlalchemy.orm import mapped_column  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.sqlalchemy import table_version  # noqa: E402
from flask_condpoll.sqlalchemy import track_commits  # noqa: E402
from flask_condpoll.sqlalchemy.names import partition_value  # noqa: E402

from ..services import unique  # noqa: E402
from .conftest import BACKENDS  # noqa: E402
from .models import engine_for  # noqa: E402


class Status(enum.Enum):
    OPEN = "open"
    DONE = "done"


OWNER = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    "type_, values",
    [
        (sa.Enum(Status), [Status.OPEN, "OPEN", "open"]),
        (sa.Numeric(10, 2), [Decimal("100.00"), 100, "100", 100.0, Decimal("1E+2")]),
        (sa.Integer(), [1, "1", "01", True, Decimal("1.0")]),
        (sa.Uuid(), [OWNER, str(OWNER), OWNER.hex, str(OWNER).upper()]),
        (sa.String(20), ["Core", "core", "CORE ", "core  "]),
        (sa.String(20), ["Café", "cafe"]),
    ],
)
def test_values_the_database_compares_as_equal_share_a_name(type_, values):
    assert len({partition_value(type_, value) for value in values}) == 1


@pytest.mark.parametrize(
    "type_, value, name",
    [
        (sa.Enum(Status), "closed", "closed"),
        (sa.Numeric(), "many", "many"),
        (sa.Uuid(), "not-a-uuid", "not-a-uuid"),
        (sa.Integer(), None, "None"),
        (sa.JSON(), {"queue": "a"}, "{'queue': 'a'}"),
    ],
)
def test_values_it_cannot_convert_keep_their_text(type_, value, name):
    assert partition_value(type_, value) == name


@pytest.fixture(params=BACKENDS)
def tasks(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[t.Any]:
    engine = engine_for(request.param, tmp_path)
    suffix = unique("p")

    class Base(DeclarativeBase):
        pass

    class Task(Base):
        __tablename__ = f"task_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        status: Mapped[Status] = mapped_column(sa.Enum(Status, name=f"st_{suffix}"))
        budget: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
        team: Mapped[str] = mapped_column(sa.String(20))

    Base.metadata.create_all(engine)
    Session = sessionmaker(engine)
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
    CondPoll(app)
    track_commits(Session)

    def add() -> None:
        with app.app_context(), Session() as session:
            session.add(Task(status=Status.OPEN, budget=Decimal("100.00"), team="core"))
            session.commit()

    def matches(where: t.Any) -> int:
        with Session() as session:
            return len(session.scalars(sa.select(Task).where(where)).all())

    yield app, Task, add, matches
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.mark.parametrize(
    "column, key",
    [("status", "open"), ("status", "OPEN"), ("budget", 100), ("team", "Core")],
)
def test_a_commit_changes_the_partition_a_request_names(tasks, column, key):
    """The view filters by the URL's value; the row was written with the
    attribute's. Where the database says they are equal, the version moves."""
    app, Task, add, matches = tasks
    attribute = getattr(Task, column)
    version = table_version(Task, by=attribute, key=lambda: key)
    with app.app_context():
        before = version()
    add()
    value = Status("open") if key == "open" else key
    shown = matches(attribute == value)
    with app.app_context():
        after = version()
    if shown:
        assert after != before, f"the view now shows {shown} row(s): stale 304"
