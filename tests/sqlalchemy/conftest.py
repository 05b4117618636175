"""A Flask-SQLAlchemy shop on each database: notes per user, tags, boards.

Every test gets its own tables (unique names) and drops them afterwards; the
database services are shared.
"""

from __future__ import annotations

import threading
import typing as t
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import UTC

import pytest

sa = pytest.importorskip("sqlalchemy")
flask_sqlalchemy = pytest.importorskip("flask_sqlalchemy")

from flask import Flask  # noqa: E402
from flask import g  # noqa: E402
from sqlalchemy.dialects import mysql  # noqa: E402
from sqlalchemy.orm import Mapped  # noqa: E402
from sqlalchemy.orm import mapped_column  # noqa: E402
from sqlalchemy.orm import relationship  # noqa: E402

from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.sqlalchemy import track_commits  # noqa: E402

from ..services import MARIADB_URL  # noqa: E402
from ..services import POSTGRESQL_URL  # noqa: E402
from ..services import sql_engine  # noqa: E402
from ..services import unique  # noqa: E402

BACKENDS = ["sqlite", "postgresql", "mariadb"]


def database_url(backend: str, tmp_path: t.Any) -> str:
    """The URL of a reachable database (skip locally, fail under CI if not)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/shop.db"
    url = POSTGRESQL_URL if backend == "postgresql" else MARIADB_URL
    sql_engine(backend, url).dispose()
    return url


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Shop:
    """The app, its models, and ways to act as another process would."""

    app: Flask
    db: t.Any
    Note: t.Any
    Tag: t.Any
    Board: t.Any
    Thing: t.Any
    note_tags: t.Any
    backend: str
    #: Called from a ``before_request`` after the user loader, if set: a
    #: commit made by someone else while this request is under way.
    meanwhile: list[t.Callable[[], None]] = field(default_factory=list)
    threads: list[t.Any] = field(default_factory=list)

    def settle(self) -> None:
        """Wait for the commits made meanwhile."""
        for thread in self.threads:
            thread.join(30)

    def commit(self, change: t.Callable[[t.Any], object]) -> None:
        """Run ``change(session)`` and commit, as another request would."""
        with self.app.app_context():
            change(self.db.session)
            self.db.session.commit()

    def add_note(self, user_id: int = 1, body: str = "note") -> int:
        created: list[int] = []

        def add(session: t.Any) -> None:
            note = self.Note(user_id=user_id, body=body)
            session.add(note)
            session.flush()
            created.append(note.id)

        self.commit(add)
        return created[0]


def build_shop(
    backend: str,
    tmp_path: t.Any,
    *,
    engine_options: dict[str, t.Any] | None = None,
    registry_url: str = "memory://",
    track: bool = True,
    **config: t.Any,
) -> Shop:
    suffix = unique("s")
    db = flask_sqlalchemy.SQLAlchemy()
    timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

    class Board(db.Model):  # type: ignore[name-defined]
        __tablename__ = f"board_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(80), default="board")

    note_tags = sa.Table(
        f"note_tags_{suffix}",
        db.metadata,
        sa.Column("note_id", sa.ForeignKey(f"note_{suffix}.id", ondelete="CASCADE")),
        sa.Column("tag_id", sa.ForeignKey(f"tag_{suffix}.id", ondelete="CASCADE")),
    )

    class Tag(db.Model):  # type: ignore[name-defined]
        __tablename__ = f"tag_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(80))
        updated_at: Mapped[datetime] = mapped_column(
            timestamp, default=utcnow, onupdate=utcnow
        )

    class Note(db.Model):  # type: ignore[name-defined]
        __tablename__ = f"note_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(index=True)
        board_id: Mapped[int | None] = mapped_column(
            sa.ForeignKey(f"board_{suffix}.id", ondelete="CASCADE")
        )
        body: Mapped[str] = mapped_column(sa.String(200), default="")
        updated_at: Mapped[datetime] = mapped_column(
            timestamp, default=utcnow, onupdate=utcnow
        )
        tags: Mapped[list[Tag]] = relationship(secondary=note_tags)

    class Thing(db.Model):  # type: ignore[name-defined]
        """Keyed by a UUID, as many apps do."""

        __tablename__ = f"thing_{suffix}"
        id: Mapped[uuid.UUID] = mapped_column(
            sa.Uuid, primary_key=True, default=uuid.uuid4
        )
        owner: Mapped[int] = mapped_column(default=1)
        body: Mapped[str] = mapped_column(sa.String(200), default="")
        updated_at: Mapped[datetime] = mapped_column(
            timestamp, default=utcnow, onupdate=utcnow
        )

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="s",
        TESTING=True,
        SQLALCHEMY_DATABASE_URI=database_url(backend, tmp_path),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options or {},
        CONDPOLL_STATS_URL=None,
        CONDPOLL_REGISTRY_URL=registry_url,
        **config,
    )
    db.init_app(app)
    CondPoll(app)
    if track:
        track_commits(db.session)
    with app.app_context():
        db.create_all()
    return Shop(app, db, Note, Tag, Board, Thing, note_tags, backend)


def drop(shop: Shop) -> None:
    with shop.app.app_context():
        shop.db.session.remove()
        shop.db.drop_all()
        for engine in shop.db.engines.values():
            engine.dispose()


@pytest.fixture(params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[Shop]:
    built = build_shop(request.param, tmp_path)
    yield built
    drop(built)


def load_user_first(shop: Shop) -> None:
    """A ``before_request`` user loader, then whatever happens meanwhile."""

    @shop.app.before_request
    def load_user() -> None:
        g.notes_seen = shop.db.session.scalar(
            sa.select(sa.func.count()).select_from(shop.Note)
        )

    @shop.app.before_request
    def someone_commits() -> None:
        while shop.meanwhile:
            # Another thread: its own app context, session and connection. It
            # may have to wait for this request's locks (SERIALIZABLE reads
            # lock what they read): then it commits once this request is done.
            thread = threading.Thread(target=shop.meanwhile.pop())
            thread.start()
            thread.join(1)
            shop.threads.append(thread)


class Poller:
    """A client that keeps the body of its last 200 and sends its tag."""

    def __init__(self, client: t.Any, url: str, **headers: str) -> None:
        self.client, self.url, self.headers = client, url, headers
        self.body: bytes | None = None
        self.tag: str | None = None
        self.statuses: list[int] = []

    def poll(self) -> int:
        headers = dict(self.headers)
        if self.tag:
            headers["If-None-Match"] = self.tag
        response = self.client.get(self.url, headers=headers)
        self.statuses.append(response.status_code)
        if response.status_code == 200:
            self.body = response.data
            self.tag = response.headers.get("ETag")
        else:
            assert response.status_code == 304, response.status
        return int(response.status_code)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def schema(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[t.Any]:
    """Fresh tables on each database (the service tests' skip rule applies)."""
    pytest.importorskip("sqlalchemy")
    from .models import create_schema
    from .models import engine_for

    schema = create_schema(engine_for(request.param, tmp_path))
    yield schema
    schema.drop()
