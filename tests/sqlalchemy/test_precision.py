"""Timestamps in whole seconds are named when a version first reads them."""

from __future__ import annotations

import logging
import typing as t
import uuid
from datetime import datetime

import pytest

sa = pytest.importorskip("sqlalchemy")

from flask import Flask  # noqa: E402
from sqlalchemy.dialects import mysql  # noqa: E402
from sqlalchemy.orm import DeclarativeBase  # noqa: E402
from sqlalchemy.orm import Mapped  # noqa: E402
from sqlalchemy.orm import mapped_column  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.sqlalchemy import collection_version  # noqa: E402
from flask_condpoll.sqlalchemy import row_version  # noqa: E402

from ..services import unique  # noqa: E402
from .models import engine_for  # noqa: E402

SECOND = datetime(2030, 1, 1, 12, 0, 0)
A, B, C, Z = (uuid.UUID(int=n << 64) for n in (1, 5, 3, 9))  # C sorts between


def tagged(precision: int | None) -> t.Any:
    stamp = sa.DateTime()
    if precision is not None:
        stamp = stamp.with_variant(mysql.DATETIME(fsp=precision), "mysql", "mariadb")

    class Base(DeclarativeBase):
        pass

    class Tagged(Base):
        __tablename__ = unique("tagged")
        id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
        text: Mapped[str] = mapped_column(sa.String(20), default="")
        updated_at: Mapped[datetime] = mapped_column(stamp)

    return Tagged


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
    CondPoll(app)
    return app


def read(app: Flask, version: t.Any, **kwargs: t.Any) -> t.Any:
    with app.app_context():
        return version(**kwargs)


def test_mariadb_whole_seconds_miss_a_row_replaced_within_one_second(
    app, tmp_path, caplog
):
    """The documented limit, and the warning that points at it."""
    engine = engine_for("mariadb", tmp_path)
    Tagged = tagged(precision=None)
    Tagged.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add_all([Tagged(id=key, updated_at=SECOND) for key in (A, B, Z)])
            session.commit()
        version = collection_version(Tagged, bind=engine)
        with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
            before = read(app, version)
            read(app, row_version(Tagged, bind=engine), id=A)
        table = Tagged.__tablename__
        assert caplog.text.count(f"{table}.updated_at keeps whole seconds") == 1
        with Session(engine) as session:
            session.delete(session.get(Tagged, B))
            session.add(Tagged(id=C, updated_at=SECOND.replace(microsecond=250000)))
            session.commit()
        assert read(app, version) == before  # missed: the stamp lost its fraction
    finally:
        Tagged.metadata.drop_all(engine)
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_fractional_seconds_see_it_and_say_nothing(app, tmp_path, caplog, backend):
    engine = engine_for(backend, tmp_path)
    Tagged = tagged(precision=6)
    Tagged.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add_all([Tagged(id=key, updated_at=SECOND) for key in (A, B, Z)])
            session.commit()
        version = collection_version(Tagged, bind=engine)
        with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
            before = read(app, version)
        assert "whole seconds" not in caplog.text
        with Session(engine) as session:
            session.delete(session.get(Tagged, B))
            session.add(Tagged(id=C, updated_at=SECOND.replace(microsecond=250000)))
            session.commit()
        assert read(app, version) != before
    finally:
        Tagged.metadata.drop_all(engine)
        engine.dispose()
