"""A generator that reads a view argument the view never gets fails when it
is declared (or at the first request), not by failing open for ever."""

from __future__ import annotations

from datetime import datetime

import pytest

sa = pytest.importorskip("sqlalchemy")

from flask import Flask  # noqa: E402
from sqlalchemy.orm import DeclarativeBase  # noqa: E402
from sqlalchemy.orm import Mapped  # noqa: E402
from sqlalchemy.orm import mapped_column  # noqa: E402

from flask_condpoll import conditional  # noqa: E402
from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.sqlalchemy import collection_version  # noqa: E402
from flask_condpoll.sqlalchemy import row_version  # noqa: E402


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "required_arguments_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[int]
    updated_at: Mapped[datetime]


OWNED = sa.select(Item).where(Item.owner == sa.bindparam("owner"))


def test_row_version_key_must_be_a_view_argument():
    with pytest.raises(TypeError, match=r"reads the view argument.* id"):

        @conditional(etag=row_version(Item))
        def item(item_id: int) -> str:
            return "x"

    @conditional(etag=row_version(Item, arg="item_id"))
    def named(item_id: int) -> str:
        return "x"


def test_collection_bind_parameters_must_be_view_arguments():
    with pytest.raises(TypeError, match=r"reads the view argument.* owner"):

        @conditional(etag=collection_version(OWNED))
        def owned(owner_id: int) -> str:
            return "x"

    @conditional(etag=collection_version(OWNED))
    def by_owner(owner: int) -> str:
        return "x"

    @conditional(etag=collection_version(OWNED, params=lambda owner_id: {"owner": 1}))
    def mapped(owner_id: int) -> str:
        return "x"


def test_a_view_taking_any_arguments_is_checked_at_the_first_request():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None, TESTING=True)
    CondPoll(app)

    @app.get("/items/<int:item_id>")
    @conditional(etag=row_version(Item))
    def item(**kwargs: int) -> str:
        return "x"

    with pytest.raises(RuntimeError, match=r"reads the view argument.* id"):
        app.test_client().get("/items/1")
