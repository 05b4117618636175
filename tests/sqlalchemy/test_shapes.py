"""Selects the aggregates cannot stand for are refused when declared; the
inheritance layouts they can are versioned on every database."""

from __future__ import annotations

import typing as t
from datetime import datetime

import pytest

sa = pytest.importorskip("sqlalchemy")

from flask import Flask  # noqa: E402
from sqlalchemy import orm  # noqa: E402
from sqlalchemy.dialects import mysql  # noqa: E402
from sqlalchemy.orm import column_property  # noqa: E402
from sqlalchemy.orm import DeclarativeBase  # noqa: E402
from sqlalchemy.orm import Mapped  # noqa: E402
from sqlalchemy.orm import mapped_column  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.sqlalchemy import collection_version  # noqa: E402

from ..services import unique  # noqa: E402
from .conftest import BACKENDS  # noqa: E402
from .conftest import utcnow  # noqa: E402
from .models import engine_for  # noqa: E402

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Blog:
    """Posts with a column_property count of their comments; staff in a
    joined-table inheritance whose subclass table has no timestamp."""

    def __init__(self, *, versioned_staff: bool = False) -> None:
        suffix = unique("b")

        class Base(DeclarativeBase):
            pass

        class Comment(Base):
            __tablename__ = f"comment_{suffix}"
            id: Mapped[int] = mapped_column(primary_key=True)
            post_id: Mapped[int] = mapped_column(sa.ForeignKey(f"post_{suffix}.id"))
            updated_at: Mapped[datetime] = mapped_column(
                TIMESTAMP, default=utcnow, onupdate=utcnow
            )

        class Post(Base):
            __tablename__ = f"post_{suffix}"
            id: Mapped[int] = mapped_column(primary_key=True)
            author: Mapped[int] = mapped_column(default=1)
            title: Mapped[str] = mapped_column(sa.String(40), default="")
            updated_at: Mapped[datetime] = mapped_column(
                TIMESTAMP, default=utcnow, onupdate=utcnow
            )

        Post.comments = column_property(
            sa.select(sa.func.count(Comment.id))
            .where(Comment.post_id == Post.id)
            .correlate_except(Comment)
            .scalar_subquery()
        )
        version: dict[str, t.Any] = {}

        class Employee(Base):
            __tablename__ = f"employee_{suffix}"
            id: Mapped[int] = mapped_column(primary_key=True)
            kind: Mapped[str] = mapped_column(sa.String(10))
            name: Mapped[str] = mapped_column(sa.String(40), default="")
            counter: Mapped[int] = mapped_column(default=0)
            updated_at: Mapped[datetime] = mapped_column(
                TIMESTAMP, default=utcnow, onupdate=utcnow
            )
            if versioned_staff:
                version["version_id_col"] = counter
            __mapper_args__ = {  # noqa: RUF012
                "polymorphic_on": kind,
                "polymorphic_identity": "employee",
                **version,
            }

        class Engineer(Employee):
            __tablename__ = f"engineer_{suffix}"
            id: Mapped[int] = mapped_column(
                sa.ForeignKey(f"employee_{suffix}.id"), primary_key=True
            )
            language: Mapped[str] = mapped_column(sa.String(20), default="py")
            __mapper_args__ = {"polymorphic_identity": "engineer"}  # noqa: RUF012

        self.Base, self.Post, self.Comment = Base, Post, Comment
        self.Employee, self.Engineer = Employee, Engineer


class TestRefusedWhenDeclared:
    def test_a_column_property_subquery(self):
        blog = Blog()
        with pytest.raises(TypeError, match="cannot version the column 'comments'"):
            collection_version(blog.Post)

    def test_a_scalar_subquery_column(self):
        blog = Blog()
        Post, Comment = blog.Post, blog.Comment
        count = (
            sa.select(sa.func.count(Comment.id))
            .where(Comment.post_id == Post.id)
            .scalar_subquery()
        )
        with pytest.raises(TypeError, match="column 'n': it is a subquery"):
            collection_version(sa.select(Post.id, count.label("n")))

    def test_ordering_by_a_subquery(self):
        blog = Blog()
        Post, Comment = blog.Post, blog.Comment
        count = sa.select(sa.func.count(Comment.id)).where(Comment.post_id == Post.id)
        with pytest.raises(TypeError, match="ordered by a subquery"):
            collection_version(sa.select(Post.id).order_by(count.scalar_subquery()))

    @pytest.mark.parametrize("having", [False, True])
    def test_group_by(self, having):
        Post = Blog().Post
        grouped = sa.select(Post.author, sa.func.count(Post.id)).group_by(Post.author)
        if having:
            grouped = sa.select(Post.author).group_by(Post.author)
            grouped = grouped.having(sa.func.count(Post.id) > 1)
        with pytest.raises(TypeError, match="GROUP BY: its rows are groups"):
            collection_version(grouped)

    def test_an_inherited_table_without_a_timestamp(self):
        blog = Blog()
        table = blog.Engineer.__table__.name
        with pytest.raises(
            TypeError, match=f"updates to '{table}', a table of Engineer's joined"
        ):
            collection_version(blog.Engineer)

    def test_unless_its_updates_may_be_missed(self):
        blog = Blog()
        table = blog.Engineer.__table__.name
        collection_version(
            blog.Engineer, updated_at={blog.Employee: "updated_at", table: None}
        )

    def test_what_stays_accepted(self):
        blog = Blog()
        Post, Comment = blog.Post, blog.Comment
        collection_version(sa.select(Post).options(orm.defer(Post.comments)))
        collection_version(blog.Employee)  # the base table alone has a timestamp
        collection_version(sa.select(Post.id, Post.title))
        collection_version(sa.select(Post.id).where(Post.id.in_(sa.select(Comment.id))))
        collection_version(sa.select(Post.id).distinct())
        collection_version(sa.select(sa.func.count(Post.id)))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[t.Any]:
    engine = engine_for(request.param, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
    CondPoll(app)
    return app


def read(app: Flask, version: t.Any) -> t.Any:
    with app.app_context():
        return version()


class TestVersionedOnEveryDatabase:
    def test_the_suggested_join_sees_a_new_comment(self, app, engine):
        blog = Blog()
        blog.Base.metadata.create_all(engine)
        try:
            Post, Comment = blog.Post, blog.Comment
            with Session(engine) as session:
                session.add_all([Post(id=1), Post(id=2)])
                session.commit()
            joined = sa.select(Post).outerjoin(Comment)
            version = collection_version(
                joined.options(orm.defer(Post.comments)), bind=engine
            )
            before = read(app, version)
            with Session(engine) as session:
                session.add(Comment(post_id=2))
                session.commit()
            assert read(app, version) != before
        finally:
            blog.Base.metadata.drop_all(engine)

    def test_a_version_id_col_sees_a_change_to_the_inherited_table(self, app, engine):
        blog = Blog(versioned_staff=True)
        blog.Base.metadata.create_all(engine)
        try:
            Engineer = blog.Engineer
            with Session(engine) as session:
                session.add(Engineer(id=1, name="ada"))
                session.commit()
            version = collection_version(Engineer, bind=engine)
            before = read(app, version)
            with Session(engine) as session:
                session.get(Engineer, 1).language = "rust"  # its own table only
                session.commit()
            assert read(app, version) != before
        finally:
            blog.Base.metadata.drop_all(engine)
