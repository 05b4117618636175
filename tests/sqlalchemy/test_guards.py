"""Guarded writes: two writers with the same precondition, at once, on every
database and isolation level. Exactly one passes; the other gets 412 and
changes nothing."""

from __future__ import annotations

import threading
import time
import typing as t

import pytest
from flask import request

from flask_condpoll import conditional
from flask_condpoll import refresh_validators
from flask_condpoll.sqlalchemy import collection_version
from flask_condpoll.sqlalchemy import row_version
from flask_condpoll.sqlalchemy import table_version

from .conftest import build_shop
from .conftest import drop
from .conftest import load_user_first
from .conftest import Shop

sa = pytest.importorskip("sqlalchemy")

#: Seconds a passing writer keeps its transaction open after its write.
HOLD = 0.4

CASES = [
    ("sqlite", None),
    ("postgresql", None),
    ("postgresql", "REPEATABLE READ"),
    ("postgresql", "SERIALIZABLE"),
    ("mariadb", None),
    ("mariadb", "READ COMMITTED"),
    ("mariadb", "SERIALIZABLE"),
]


@pytest.fixture(params=CASES, ids=[f"{b}-{i or 'default'}" for b, i in CASES])
def shop(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[Shop]:
    backend, isolation = request.param
    options: dict[str, t.Any] = {}
    if isolation is not None:
        options["isolation_level"] = isolation
    if backend == "mariadb":  # a write stuck behind a lock fails here, not in 50 s
        lock_wait = "SET SESSION innodb_lock_wait_timeout = 10"
        options["connect_args"] = {"init_command": lock_wait}
    built = build_shop(backend, tmp_path, engine_options=options)
    built.isolation = isolation  # type: ignore[attr-defined]
    load_user_first(built)  # the write's snapshot begins before its check
    add_views(built)
    yield built
    drop(built)


def add_views(shop: Shop) -> None:
    db, Note = shop.db, shop.Note

    @shop.app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @conditional(etag=row_version(Note, arg="note_id"), require_precondition=True)
    def note(note_id: int) -> str:
        row = db.session.get(Note, note_id)
        if request.method == "PUT":
            if row is None:
                row = Note(id=note_id, user_id=1, body="")
                db.session.add(row)
            row.body += request.get_data(as_text=True)
            db.session.flush()
            time.sleep(HOLD)  # the other writer arrives meanwhile
            db.session.commit()
        return row.body if row else ""

    mine = sa.select(Note).where(Note.user_id == 1).order_by(Note.id)

    @shop.app.route("/notes", methods=["GET", "POST"])
    @conditional(etag=collection_version(mine), require_precondition=True)
    def notes() -> tuple[str, int]:
        if request.method == "POST":
            db.session.add(Note(user_id=1, body=request.get_data(as_text=True)))
            db.session.flush()
            time.sleep(HOLD)
            db.session.commit()
            return "", 201
        return ",".join(n.body for n in db.session.scalars(mine)), 200


def race(shop: Shop, method: str, url: str, headers: dict[str, str]) -> list[int]:
    """Two writers, released at once; their statuses, sorted."""
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def write(body: str) -> None:
        client = shop.app.test_client()
        barrier.wait()
        response = client.open(url, method=method, headers=headers, data=body)
        statuses.append(response.status_code)

    writers = [threading.Thread(target=write, args=(body,)) for body in "ab"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    return sorted(statuses)


def test_one_of_two_updates_with_the_same_if_match_passes(shop):
    note_id = shop.add_note(body="0")
    client = shop.app.test_client()
    tag = client.get(f"/notes/{note_id}").headers["ETag"]
    assert race(shop, "PUT", f"/notes/{note_id}", {"If-Match": tag}) == [200, 412]
    assert client.get(f"/notes/{note_id}").data in (b"0a", b"0b")


def losing(shop: Shop) -> set[int]:
    """How the second of two racing writes may be refused.

    MariaDB's SERIALIZABLE turns the loader's read of the table into shared
    locks that the first writer's insert must wait for, while the second
    waits for the first's named lock: InnoDB cannot see that deadlock, and
    the second gives up (503, Retry-After) when the lock wait times out.
    Nothing is lost either way.
    """
    serializable = shop.isolation == "SERIALIZABLE"  # type: ignore[attr-defined]
    return {412, 503} if shop.backend == "mariadb" and serializable else {412}


def test_one_of_two_creates_with_if_none_match_star_passes(shop):
    first, second = race(shop, "PUT", "/notes/77", {"If-None-Match": "*"})
    assert first == 200 and second in losing(shop)
    assert shop.app.test_client().get("/notes/77").data in (b"a", b"b")


def test_one_of_two_appends_with_the_lists_tag_passes(shop):
    shop.add_note(body="0")
    client = shop.app.test_client()
    tag = client.get("/notes").headers["ETag"]
    first, second = race(shop, "POST", "/notes", {"If-Match": tag})
    assert first == 201 and second in losing(shop)
    assert client.get("/notes").data in (b"0,a", b"0,b")


def test_a_write_refreshing_its_validators_reads_its_own_change(shop):
    """The second read of a guarded write is not a race with itself."""
    Note, db = shop.Note, shop.db
    note_id = shop.add_note(body="0")
    version = row_version(Note, arg="note_id")

    @shop.app.route("/docs/<int:note_id>", methods=["GET", "PUT"])
    @conditional(etag=version, require_precondition=True)
    def doc(note_id: int) -> str:
        row = db.session.get(Note, note_id)
        if request.method == "PUT":
            row.body = request.get_data(as_text=True)
            db.session.flush()
            refresh_validators()
            db.session.commit()
        return str(row.body)

    client = shop.app.test_client()
    tag = client.get(f"/docs/{note_id}").headers["ETag"]
    written = client.put(f"/docs/{note_id}", data="1", headers={"If-Match": tag})
    assert written.status_code == 200
    new_tag = written.headers["ETag"]
    assert (
        client.get(f"/docs/{note_id}", headers={"If-None-Match": new_tag}).status_code
        == 304
    )


class TestTableVersionCannotGuardWrites:
    @pytest.fixture
    def shop(self, tmp_path: t.Any) -> t.Iterator[Shop]:
        built = build_shop("sqlite", tmp_path)
        yield built
        drop(built)

    def test_a_view_requiring_a_precondition_fails_the_first_request(self, shop):
        @shop.app.route("/notes", methods=["GET", "POST"])
        @conditional(etag=table_version(shop.Note), require_precondition=True)
        def notes() -> str:
            return ""

        with pytest.raises(RuntimeError, match="cannot check a write's precondition"):
            shop.app.test_client().get("/notes")

    def test_a_write_carrying_one_is_refused(self, shop, caplog):
        @shop.app.route("/notes", methods=["GET", "POST"])
        @conditional(etag=table_version(shop.Note))
        def notes() -> tuple[str, int]:
            if request.method == "POST":
                shop.db.session.add(shop.Note(user_id=1))
                shop.db.session.commit()
            return "", 200

        client = shop.app.test_client()
        assert client.post("/notes").status_code == 200  # no precondition
        tag = client.get("/notes").headers["ETag"]
        response = client.post("/notes", headers={"If-Match": tag})
        assert response.status_code == 503
        assert "row_version()" in caplog.text
        with shop.app.app_context():
            assert shop.db.session.query(shop.Note).count() == 1


def test_sqlite_with_real_transactions(tmp_path):
    """SQLAlchemy's recipe for real SQLite transactions (``BEGIN`` on the
    first statement, WAL): the user loader's read has begun the transaction
    when the version is read. Taking the write lock then either succeeds, or
    fails at once because another write is under way: 412, not "database is
    locked"."""
    built = build_shop("sqlite", tmp_path)
    try:
        with built.app.app_context():
            engine = built.db.engine

            @sa.event.listens_for(engine, "connect")
            def connect(dbapi_connection: t.Any, record: t.Any) -> None:
                dbapi_connection.isolation_level = None
                dbapi_connection.execute("PRAGMA journal_mode=WAL")

            @sa.event.listens_for(engine, "begin")
            def begin(connection: t.Any) -> None:
                connection.exec_driver_sql("BEGIN")

            engine.dispose()
        load_user_first(built)
        add_views(built)
        note_id = built.add_note(body="0")
        tag = built.app.test_client().get(f"/notes/{note_id}").headers["ETag"]
        statuses = race(built, "PUT", f"/notes/{note_id}", {"If-Match": tag})
        assert statuses == [200, 412]
    finally:
        drop(built)


def test_mariadb_named_locks_are_released_with_the_connection(tmp_path):
    from flask_condpoll.sqlalchemy.guards import _lock_name

    built = build_shop("mariadb", tmp_path)
    try:
        add_views(built)
        note_id = built.add_note(body="0")
        client = built.app.test_client()
        tag = client.get(f"/notes/{note_id}").headers["ETag"]
        assert (
            client.put(f"/notes/{note_id}", headers={"If-Match": tag}).status_code
            == 200
        )
        name = _lock_name(f"{built.Note.__table__.fullname}|id={note_id}")
        with built.app.app_context(), built.db.engine.connect() as other:
            free = other.exec_driver_sql("SELECT IS_FREE_LOCK(%s)", (name,)).scalar()
        assert free == 1
    finally:
        drop(built)
