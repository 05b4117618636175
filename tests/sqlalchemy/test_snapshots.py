"""A tag never describes newer data than the body it is sent with, whatever the
isolation level and whenever the view's transaction began.

The shape of the failure: a ``before_request`` user loader opens the
session's transaction (under REPEATABLE READ its snapshot is fixed then),
someone commits, and the version is read afterwards. If the version sees the
commit and the body does not, the client stores the new tag with the old
body: every later poll is a 304, and it never sees the change.
"""

from __future__ import annotations

import re
import threading
import typing as t
from datetime import datetime

import pytest
from flask import Flask
from flask import g
from flask import render_template_string
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.frontend import prepare_poll
from flask_condpoll.registry.base import whole_table
from flask_condpoll.sqlalchemy import collection_version
from flask_condpoll.sqlalchemy import snapshots
from flask_condpoll.sqlalchemy import table_version
from flask_condpoll.sqlalchemy import track_commits

from ..services import unique
from .conftest import build_shop
from .conftest import drop
from .conftest import load_user_first
from .conftest import Poller
from .conftest import Shop
from .conftest import utcnow
from .test_shapes import TIMESTAMP

sa = pytest.importorskip("sqlalchemy")
flask_sqlalchemy = pytest.importorskip("flask_sqlalchemy")
orm = pytest.importorskip("sqlalchemy.orm")
Mapped = orm.Mapped
mapped_column = orm.mapped_column

CASES = [
    ("sqlite", None),
    ("postgresql", None),  # READ COMMITTED
    ("postgresql", "REPEATABLE READ"),
    ("postgresql", "SERIALIZABLE"),
    ("mariadb", None),  # REPEATABLE READ
    ("mariadb", "READ COMMITTED"),
    ("mariadb", "SERIALIZABLE"),
]


@pytest.fixture(params=CASES, ids=[f"{b}-{i or 'default'}" for b, i in CASES])
def shop(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[Shop]:
    backend, isolation = request.param
    options = {} if isolation is None else {"isolation_level": isolation}
    built = build_shop(backend, tmp_path, engine_options=options)
    load_user_first(built)
    add_views(built)
    yield built
    drop(built)


@pytest.fixture(params=CASES, ids=[f"{b}-{i or 'default'}" for b, i in CASES])
def untracked_shop(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[Shop]:
    """A read-only app: other programs write its data and call ``touch()``,
    so nothing calls ``track_commits``. The process-wide listeners that an
    earlier test may have installed are removed first: the generators must
    install what they need."""
    for target, name, listener in (
        (Engine, "begin", snapshots._connection_began),
        (Session, "after_begin", snapshots.record_begin),
        (Session, "after_transaction_end", snapshots.forget_begin),
    ):
        if event.contains(target, name, listener):
            event.remove(target, name, listener)
    backend, isolation = request.param
    options = {} if isolation is None else {"isolation_level": isolation}
    built = build_shop(backend, tmp_path, engine_options=options, track=False)
    load_user_first(built)
    add_views(built)
    yield built
    drop(built)


@pytest.mark.parametrize("view", ["registry", "fallback"])
def test_without_track_commits_a_touched_commit_is_never_hidden(untracked_shop, view):
    shop = untracked_shop

    def touch() -> None:  # as CondPoll.touch(Note) does
        with shop.app.app_context():
            registry = shop.app.extensions["condpoll"].require_registry()
            registry.bump(list(whole_table(shop.Note.__table__.fullname)))

    def written_elsewhere() -> None:
        shop.add_note(body="second")
        touch()

    shop.add_note(body="first")
    touch()
    poller = Poller(shop.app.test_client(), f"/{view}", **{"HX-Request": "true"})
    poller.poll()
    assert poller.body == b"first"
    shop.meanwhile.append(written_elsewhere)  # after the user loader's snapshot
    poller.poll()
    shop.settle()
    for _ in range(3):
        poller.poll()
    assert poller.body == truth(shop) == b"second,first", poller.statuses


def add_views(shop: Shop) -> None:
    db, Note = shop.db, shop.Note
    mine = sa.select(Note).where(Note.user_id == 1).order_by(Note.id.desc()).limit(20)
    aggregate = collection_version(mine)

    def render() -> str:
        return ",".join(note.body for note in db.session.scalars(mine))

    registry = table_version(Note, by=Note.user_id, key=lambda: 1)
    with_fallback = table_version(Note, fallback=aggregate)
    for name, generator in (
        ("aggregate", aggregate),
        ("registry", registry),
        ("fallback", with_fallback),
    ):
        shop.app.add_url_rule(f"/{name}", name, conditional(etag=generator)(render))


def truth(shop: Shop) -> bytes:
    with shop.app.test_request_context():
        return shop.app.view_functions["aggregate"].__wrapped__().encode()


@pytest.mark.parametrize("view", ["aggregate", "registry", "fallback"])
def test_a_commit_during_the_request_is_never_hidden_behind_a_304(shop, view):
    shop.add_note(body="first")
    client = shop.app.test_client()
    poller = Poller(client, f"/{view}", **{"HX-Request": "true"})
    poller.poll()
    assert poller.body == b"first"
    # The next poll's transaction has begun when this commit lands.
    shop.meanwhile.append(lambda: shop.add_note(body="second"))
    poller.poll()
    shop.settle()
    for _ in range(3):
        poller.poll()
    assert poller.body == truth(shop) == b"second,first", poller.statuses


@pytest.mark.parametrize("view", ["aggregate", "registry", "fallback"])
def test_an_edit_of_objects_loaded_before_the_version_is_never_hidden(shop, view):
    """The loader put the notes in the session (its identity map), then an
    edit committed: the ORM would hand the view the objects as loaded, under
    a tag that describes the edit."""
    note_id = shop.add_note(body="first")
    db, Note = shop.db, shop.Note

    def load_notes() -> None:
        g.notes = db.session.scalars(sa.select(Note)).all()

    shop.app.before_request_funcs.setdefault(None, []).insert(0, load_notes)
    client = shop.app.test_client()
    poller = Poller(client, f"/{view}")
    poller.poll()
    shop.meanwhile.append(
        lambda: shop.commit(lambda s: setattr(s.get(Note, note_id), "body", "edited"))
    )
    poller.poll()
    shop.settle()
    for _ in range(3):
        poller.poll()
    assert poller.body == truth(shop) == b"edited", poller.statuses


def test_changes_not_flushed_yet_are_kept(shop):
    """Objects the request changed before the version was read are not
    reloaded: their changes would be lost."""
    note_id = shop.add_note(body="first")
    db, Note = shop.db, shop.Note

    @shop.app.get("/edit-then-read/<int:note_id>")
    @conditional(
        etag=collection_version(
            sa.select(Note).where(Note.id == sa.bindparam("note_id"))
        )
    )
    def edit_then_read(note_id: int) -> str:
        return db.session.get(Note, note_id).body

    def edit_early() -> None:
        db.session.get(Note, note_id).body = "unsaved"

    shop.app.before_request_funcs.setdefault(None, []).insert(0, edit_early)
    client = shop.app.test_client()
    assert client.get(f"/edit-then-read/{note_id}").text == "unsaved"


@pytest.mark.parametrize("view", ["aggregate", "fallback"])
def test_the_version_shares_the_views_snapshot(shop, view):
    """Under REPEATABLE READ both miss the commit; elsewhere both see it: in
    either case the tag matches the body, so the poll is a plain 304 or 200."""
    shop.add_note(body="first")
    client = shop.app.test_client()
    poller = Poller(client, f"/{view}")
    poller.poll()
    shop.meanwhile.append(lambda: shop.add_note(body="second"))
    status = poller.poll()
    shop.settle()
    if status == 304:
        assert poller.body == b"first"
    else:
        assert poller.body == b"second,first"
        assert poller.tag is not None


def test_no_transaction_open_keeps_the_registry_fast(shop):
    """Without a ``before_request`` read, the registry needs no query and its
    tag is trusted: nothing began before it was read."""
    shop.app.before_request_funcs[None] = [
        f
        for f in shop.app.before_request_funcs[None]
        if f.__name__ not in ("load_user", "someone_commits")
    ]
    shop.add_note(body="first")
    client = shop.app.test_client()
    poller = Poller(client, "/registry")
    assert poller.poll() == 200
    assert poller.tag is not None
    assert poller.poll() == 304


@pytest.mark.parametrize("view", ["aggregate", "registry", "fallback"])
def test_a_page_never_embeds_a_fragment_tag_newer_than_its_content(shop, view):
    """The page prepares the fragment's tag and reads what the fragment shows,
    then someone commits before the page renders: its first poll must bring
    the commit."""
    db, Note = shop.db, shop.Note
    mine = sa.select(Note).where(Note.user_id == 1).order_by(Note.id.desc()).limit(20)

    @shop.app.get("/page")
    def page() -> str:
        prepare_poll(view, "notes")
        body = ",".join(note.body for note in db.session.scalars(mine))
        thread = threading.Thread(target=lambda: shop.add_note(body="second"))
        thread.start()
        thread.join(1)  # SERIALIZABLE may make it wait for this request
        shop.threads.append(thread)
        return render_template_string(FRAGMENT, view=view, body=body)

    shop.add_note(body="first")
    client = shop.app.test_client()
    html = client.get("/page").get_data(as_text=True)
    shop.settle()
    poller = Poller(client, f"/{view}", **{"HX-Request": "true"})
    poller.body = re.search(r">([^<]*)</div>", html)[1].encode()
    embedded = re.search(r'data-condpoll-etag="([^"]*)"', html)
    # None where the registry cannot vouch for the page's snapshot.
    poller.tag = embedded and embedded[1].replace("&#34;", '"')
    for _ in range(3):
        poller.poll()
    assert poller.body == truth(shop) == b"second,first", poller.statuses


FRAGMENT = """{% import "condpoll/macros.html" as condpoll -%}
{% call condpoll.poll(view, "notes") %}{{ body }}{% endcall %}"""
SNAPSHOTS = [
    ("postgresql", "REPEATABLE READ"),
    ("postgresql", "SERIALIZABLE"),
    ("mariadb", "REPEATABLE READ"),
]


def snapshot_url(
    request: pytest.FixtureRequest, tmp_path: t.Any
) -> tuple[str, dict[str, t.Any]]:
    from .conftest import database_url

    backend, isolation = request.param
    return database_url(backend, tmp_path), {"isolation_level": isolation}


class Fixture:
    """An app whose ``before_request`` reads, then lets someone else commit
    a note, before the view's version is read."""

    def __init__(self, app: t.Any, add_note: t.Callable[[], None]) -> None:
        self.app, self.add_note = app, add_note
        self.meanwhile: list[t.Callable[[], None]] = []
        self.counter = 100

        @app.before_request
        def someone_commits() -> None:
            while self.meanwhile:
                # Its own thread: its own app context, session and connection.
                thread = threading.Thread(target=self.meanwhile.pop())
                thread.start()
                thread.join(30)

    def check(self, url: str) -> None:
        """Poll, let a commit land mid-request, poll again: never a stale 304."""
        poller = Poller(self.app.test_client(), url)
        poller.poll()
        self.meanwhile.append(self.add_note)
        for _ in range(3):
            poller.poll()
        assert poller.body is not None and b"new" in poller.body, poller.statuses


def notes_model(db: t.Any, suffix: str, **table_args: t.Any) -> t.Any:
    class Note(db.Model):  # type: ignore[name-defined]
        __tablename__ = f"snote_{suffix}"
        __bind_key__ = table_args.get("bind_key")
        id: Mapped[int] = mapped_column(primary_key=True)
        body: Mapped[str] = mapped_column(sa.String(40), default="")
        updated_at: Mapped[datetime] = mapped_column(
            TIMESTAMP, default=utcnow, onupdate=utcnow
        )

    return Note


IDS = [f"{backend}-{isolation}" for backend, isolation in SNAPSHOTS]


@pytest.fixture(params=SNAPSHOTS, ids=IDS)
def two_binds(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[t.Any]:
    """Users on SQLite, notes on a second bind at snapshot isolation; the user
    loader reads both, so the notes' snapshot is fixed before the version."""
    url, options = snapshot_url(request, tmp_path)
    db = flask_sqlalchemy.SQLAlchemy()
    suffix = unique("b")

    class Account(db.Model):  # type: ignore[name-defined]
        __tablename__ = f"account_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)

    Note = notes_model(db, suffix, bind_key="data")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="s",
        TESTING=True,
        CONDPOLL_STATS_URL=None,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/accounts.db",
        SQLALCHEMY_BINDS={"data": {"url": url, **options}},
    )
    db.init_app(app)
    CondPoll(app)
    track_commits(db.session)

    @app.before_request
    def load_user() -> None:
        g.user = db.session.get(Account, 1)
        g.pinned = db.session.scalars(sa.select(Note).limit(1)).first()

    def render() -> str:
        return ",".join(n.body for n in db.session.scalars(sa.select(Note)))

    app.add_url_rule("/table", "table", conditional(etag=table_version(Note))(render))
    engine_callable = collection_version(Note, bind=lambda: db.engines["data"])
    app.add_url_rule("/callable", "callable", conditional(etag=engine_callable)(render))

    def add_note() -> None:
        with app.app_context():
            db.session.add(Note(body="new"))
            db.session.commit()

    with app.app_context():
        db.create_all()
        db.session.add_all([Account(id=1), Note(body="first")])
        db.session.commit()
    yield Fixture(app, add_note)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


class TestWhereTheSnapshotIs:
    def test_the_bind_a_registry_version_belongs_to(self, two_binds):
        """The first transaction of the request is SQLite's (no snapshot);
        the notes' own bind holds one since the user loader."""
        two_binds.check("/table")

    def test_a_bind_callable_returning_the_sessions_engine(self, two_binds):
        two_binds.check("/callable")


@pytest.fixture(params=SNAPSHOTS, ids=IDS)
def unit_of_work(
    request: pytest.FixtureRequest, tmp_path: t.Any
) -> t.Iterator[Fixture]:
    """Plain SQLAlchemy, one connection and transaction per request: the user
    loader reads through it, then the request's Session joins it."""
    url, options = snapshot_url(request, tmp_path)
    engine = sa.create_engine(url, **options)
    metadata = sa.MetaData()
    notes = sa.Table(
        unique("unote"),
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.String(40)),
    )
    metadata.create_all(engine)
    RequestSession = orm.sessionmaker()
    WorkerSession = orm.sessionmaker(engine)
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL=None)
    CondPoll(app)
    track_commits(RequestSession)
    track_commits(WorkerSession)

    @app.before_request
    def begin_unit_of_work() -> None:
        g.connection = engine.connect()
        g.transaction = g.connection.begin()
        g.user = g.connection.execute(sa.select(notes).limit(1)).first()
        g.session = RequestSession(bind=g.connection)

    @app.teardown_request
    def end_unit_of_work(exc: BaseException | None) -> None:
        g.session.close()
        g.transaction.commit()
        g.connection.close()

    @app.get("/notes")
    @conditional(etag=table_version(notes, session=lambda: g.session))
    def read_notes() -> str:
        return ",".join(row.body for row in g.session.execute(sa.select(notes)))

    def add_note() -> None:
        with app.app_context(), WorkerSession() as session:
            session.execute(sa.insert(notes).values(body="new"))
            session.commit()

    with engine.begin() as connection:
        connection.execute(sa.insert(notes).values(body="first"))
    yield Fixture(app, add_note)
    metadata.drop_all(engine)
    engine.dispose()


def test_a_session_joining_a_transaction_begun_before_it(unit_of_work):
    """The connection's snapshot is older than the Session's own start."""
    unit_of_work.check("/notes")


def test_reloading_keeps_changed_and_deleted_objects():
    from sqlalchemy.orm import DeclarativeBase
    from sqlalchemy.orm import Session as PlainSession

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "item"
        id: Mapped[int] = mapped_column(primary_key=True)
        body: Mapped[str]

    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    app = Flask(__name__)
    with PlainSession(engine) as session, app.test_request_context() as context:
        session.add_all([Item(id=n, body="old") for n in (1, 2, 3)])
        session.commit()
        deleted, changed, clean = (session.get(Item, n) for n in (1, 2, 3))
        session.delete(deleted)
        changed.body = "unsaved"
        snapshots.reload_before_view(session)
        for call in context.request.environ["condpoll.before_view"].values():
            call()
        assert deleted in session.deleted and changed.body == "unsaved"
        assert "body" not in vars(clean)  # expired: read again when used
