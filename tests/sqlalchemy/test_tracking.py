"""Commit-driven versions: session events bump the registry after commit."""

from __future__ import annotations

import threading
import time
import typing as t
from datetime import datetime

import pytest

sa = pytest.importorskip("sqlalchemy")

from flask import Flask  # noqa: E402
from sqlalchemy.orm import Mapped  # noqa: E402
from sqlalchemy.orm import mapped_column  # noqa: E402

from flask_condpoll import conditional  # noqa: E402
from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.registry import MemoryRegistry  # noqa: E402
from flask_condpoll.sqlalchemy import collection_version  # noqa: E402
from flask_condpoll.sqlalchemy import table_names  # noqa: E402
from flask_condpoll.sqlalchemy import table_version  # noqa: E402
from flask_condpoll.sqlalchemy import track_commits  # noqa: E402

from .models import create_schema  # noqa: E402
from .models import engine_for  # noqa: E402
from .models import Schema  # noqa: E402


@pytest.fixture
def registry(schema) -> MemoryRegistry:
    registry = MemoryRegistry()
    track_commits(schema.Session, registry=registry)
    return registry


def version(registry: MemoryRegistry, schema: Schema) -> t.Any:
    return registry.read(table_names(schema.Notification)).versions[1]


def test_insert_update_delete_bump_after_commit(registry, schema):
    N = schema.Notification
    with schema.Session() as session:
        row = N(user_id=1)
        session.add(row)
        session.flush()
        assert version(registry, schema) == 0  # flushed, not committed
        session.commit()
        assert version(registry, schema) == 1
        row.body = "edited"
        session.commit()
        assert version(registry, schema) == 2
        session.delete(row)
        session.commit()
        assert version(registry, schema) == 3


def test_commit_without_changes_does_not_bump(registry, schema):
    with schema.Session() as session:
        session.execute(sa.select(schema.Notification))
        session.commit()
    assert version(registry, schema) == 0


def test_rollback_does_not_bump(registry, schema):
    with schema.Session() as session:
        session.add(schema.Notification(user_id=1))
        session.flush()
        session.rollback()
        session.commit()
    assert version(registry, schema) == 0


def test_savepoint_rollback_keeps_the_outer_changes(registry, schema):
    with schema.Session() as session:
        session.add(schema.Notification(user_id=1))
        session.flush()
        with session.begin_nested() as savepoint:
            session.add(schema.Notification(user_id=2))
            session.flush()
            savepoint.rollback()
        session.commit()
    assert version(registry, schema) == 1


def test_bulk_update_and_delete_bump(registry, schema):
    N = schema.Notification
    with schema.Session() as session:
        session.execute(sa.insert(N), [{"user_id": 1}, {"user_id": 2}])
        session.commit()
        assert version(registry, schema) == 1
        session.execute(sa.update(N).values(body="bulk"))
        session.commit()
        assert version(registry, schema) == 2
        session.execute(sa.delete(N).where(N.user_id == 2))
        session.commit()
        assert version(registry, schema) == 3


def test_versioned_table_is_separate(registry, schema):
    with schema.Session() as session:
        session.add(schema.Document(body="doc"))
        session.commit()
    assert version(registry, schema) == 0
    assert registry.read(table_names(schema.Document)).versions[1] == 1


class TestCommitsOutsideAnAppContext:
    """A background thread or a worker script commits with a tracked
    sessionmaker, and no app context: the app's registry is still bumped."""

    def commit_in_a_thread(self, schema: Schema) -> None:
        def finish_job() -> None:
            with schema.Session() as session:
                session.add(schema.Notification(user_id=1))
                session.commit()

        thread = threading.Thread(target=finish_job)
        thread.start()
        thread.join(30)

    def read(self, app: Flask, schema: Schema) -> t.Any:
        with app.app_context():
            return table_version(schema.Notification)()

    def test_the_app_tracking_began_in(self, schema):
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "s"
        CondPoll(app)
        with app.app_context():
            track_commits(schema.Session)
        before = self.read(app, schema)
        self.commit_in_a_thread(schema)
        assert self.read(app, schema) != before

    def test_the_app_it_was_given(self, schema, caplog):
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "s"
        CondPoll(app)
        track_commits(schema.Session, app=app)
        before = self.read(app, schema)
        self.commit_in_a_thread(schema)
        assert self.read(app, schema) != before
        assert "no registry to bump" not in caplog.text

    def test_every_app_tracking_the_session_hears_of_it_once(self, schema):
        """An app factory run twice (two apps, one sessionmaker): a commit in
        a thread bumps both registries; one in an app context, that app's,
        once."""
        apps = [Flask(__name__), Flask(__name__)]
        for app in apps:
            app.config["SECRET_KEY"] = "s"
            CondPoll(app)
            with app.app_context():
                track_commits(schema.Session)
        before = [self.read(app, schema) for app in apps]
        self.commit_in_a_thread(schema)
        after = [self.read(app, schema) for app in apps]
        assert all(a != b for a, b in zip(after, before, strict=True))
        with apps[0].app_context(), schema.Session() as session:
            session.add(schema.Notification(user_id=2))
            session.commit()
        assert self.read(apps[0], schema)[1] == after[0][1] + 1
        assert self.read(apps[1], schema) == after[1]

    def test_without_one_the_commit_is_kept_and_logged(self, schema, caplog):
        track_commits(schema.Session)
        self.commit_in_a_thread(schema)
        with schema.Session() as session:
            assert session.scalar(sa.select(sa.func.count(schema.Notification.id)))
        assert "inside an app context, or pass it app=" in caplog.text


def test_text_statements_are_not_seen_and_touch_fixes_it(schema):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    condpoll = CondPoll(app)
    track_commits(schema.Session)
    table = schema.Notification.__tablename__
    with app.app_context():
        registry = app.extensions["condpoll"].registry
        with schema.Session() as session:
            session.execute(
                sa.text(
                    f"INSERT INTO {table} (user_id, body, updated_at)"
                    " VALUES (1, 'raw', CURRENT_TIMESTAMP)"
                )
            )
            session.commit()
        assert registry.read([table]).versions[1] == 0
        condpoll.touch(schema.Notification)
        assert registry.read([table]).versions[1] == 1
        condpoll.touch(table)
        assert registry.read([table]).versions[1] == 2


def test_same_second_updates_on_second_precision_column(tmp_path):
    """DATETIME without fractions: the aggregate cannot see a second update
    within the same second; a version_id_col and the registry can."""
    schema = create_schema(engine_for("mariadb", tmp_path), precision=0)
    try:
        registry = MemoryRegistry()
        track_commits(schema.Session, registry=registry)
        app = Flask(__name__)
        N, D = schema.Notification, schema.Document
        notes = collection_version(N, bind=schema.engine)
        docs = collection_version(D, bind=schema.engine)

        def read() -> tuple[t.Any, t.Any, t.Any]:
            with app.app_context():
                return (
                    notes(),
                    docs(),
                    registry.read(table_names(N) + table_names(D)).versions,
                )

        second = datetime(2024, 5, 1, 12, 0, 0)
        with schema.Session() as session:
            note, doc = N(user_id=1, updated_at=second), D(body="a", updated_at=second)
            session.add_all([note, doc])
            session.commit()
            before = read()
            note.body, note.updated_at = "b", second.replace(microsecond=400000)
            doc.body, doc.updated_at = "b", second.replace(microsecond=400000)
            session.commit()
        after = read()
        assert after[0] == before[0]  # documented miss: same second
        assert after[1] != before[1]  # version_id_col sees it
        assert after[2] != before[2]  # the registry sees it
    finally:
        schema.drop()


def test_zero_statements_with_registry_one_with_aggregate(schema):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    CondPoll(app)
    track_commits(schema.Session)
    N = schema.Notification
    aggregate = collection_version(N, bind=schema.engine)

    @app.get("/aggregate")
    @conditional(etag=aggregate)
    def by_aggregate():
        with schema.Session() as session:
            return str(session.scalar(sa.select(sa.func.count()).select_from(N)))

    @app.get("/registry")
    @conditional(etag=table_version(N))
    def by_registry():
        with schema.Session() as session:
            return str(session.scalar(sa.select(sa.func.count()).select_from(N)))

    statements: list[str] = []
    sa.event.listen(
        schema.engine, "before_cursor_execute", lambda *a: statements.append(a[2])
    )
    client = app.test_client()
    for url, expected in (("/aggregate", 1), ("/registry", 0)):
        tag = client.get(url).headers["ETag"]
        statements.clear()
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
        assert len(statements) == expected, statements
    with app.app_context(), schema.Session() as session:
        session.add(N(user_id=1))
        session.commit()
    response = client.get("/registry", headers={"If-None-Match": tag})
    assert response.status_code == 200
    assert response.data == b"1"


def test_registry_unavailable_uses_fallback(schema):
    from flask_condpoll.registry import RegistryUnavailable

    class Down:
        def read(self, names):
            raise RegistryUnavailable("down")

        def bump(self, names):
            pass

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    CondPoll(app)
    app.extensions["condpoll"].registry = Down()
    N = schema.Notification
    fallback = collection_version(N, bind=schema.engine)

    @app.get("/with")
    @conditional(etag=table_version(N, fallback=fallback))
    def with_fallback():
        return "x"

    @app.get("/without")
    @conditional(etag=table_version(N))
    def without_fallback():
        return "x"

    client = app.test_client()
    tag = client.get("/with").headers["ETag"]
    assert client.get("/with", headers={"If-None-Match": tag}).status_code == 304
    plain = client.get("/without", headers={"If-None-Match": "*"})
    assert plain.status_code == 200
    assert "ETag" not in plain.headers


def test_flask_sqlalchemy_default_bind(tmp_path):
    flask_sqlalchemy = pytest.importorskip("flask_sqlalchemy")
    db = flask_sqlalchemy.SQLAlchemy()

    class Item(db.Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        list_id: Mapped[int]
        updated_at: Mapped[datetime] = mapped_column(
            default=datetime.utcnow, onupdate=datetime.utcnow
        )

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="s", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/f.db"
    )
    db.init_app(app)
    CondPoll(app)
    track_commits(db.session)
    items = sa.select(Item).where(Item.list_id == sa.bindparam("list_id"))

    @app.get("/lists/<int:list_id>")
    @conditional(etag=collection_version(items))
    def by_list(list_id):
        return "x"

    @app.get("/fresh/<int:list_id>")
    @conditional(etag=table_version(Item))
    def fresh(list_id):
        return "x"

    with app.app_context():
        db.create_all()
    client = app.test_client()
    tags = [client.get(url).headers["ETag"] for url in ("/lists/1", "/fresh/1")]
    with app.app_context():
        db.session.add(Item(list_id=1))
        db.session.commit()
    time.sleep(0.001)
    for url, tag in zip(("/lists/1", "/fresh/1"), tags, strict=True):
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 200
    assert client.get("/lists/2").status_code == 200


class TestPartitions:
    """table_version(by=..., key=...): only that partition's changes count."""

    @pytest.fixture
    def setup(self, schema):
        from flask_condpoll.sqlalchemy import table_version

        app = Flask(__name__)
        app.config["SECRET_KEY"] = "s"
        condpoll = CondPoll(app)
        track_commits(schema.Session)
        N = schema.Notification
        version = table_version(N, by=N.user_id, key=lambda user: user)

        def read(user: int) -> t.Any:
            with app.app_context():
                return version(user=user)

        return app, condpoll, read, N

    def commit(self, schema, app, change):
        with app.app_context(), schema.Session() as session:
            change(session)
            session.commit()

    def test_a_change_moves_only_its_partition(self, schema, setup):
        app, _, read, N = setup
        one, two = read(1), read(2)
        self.commit(schema, app, lambda s: s.add(N(user_id=1)))
        assert read(1) != one
        assert read(2) == two

    def test_moving_a_row_changes_both_partitions(self, schema, setup):
        app, _, read, N = setup
        self.commit(schema, app, lambda s: s.add(N(id=5, user_id=1)))
        one, two, three = read(1), read(2), read(3)

        def move(session):
            session.get(N, 5).user_id = 2

        self.commit(schema, app, move)
        assert read(1) != one
        assert read(2) != two
        assert read(3) == three

    def test_delete_changes_its_partition(self, schema, setup):
        app, _, read, N = setup
        self.commit(schema, app, lambda s: s.add(N(id=6, user_id=4)))
        before = read(4)
        self.commit(schema, app, lambda s: s.delete(s.get(N, 6)))
        assert read(4) != before

    def test_bulk_statements_and_touch_change_every_partition(self, schema, setup):
        app, condpoll, read, N = setup
        before = [read(1), read(2)]
        self.commit(schema, app, lambda s: s.execute(sa.update(N).values(body="x")))
        after_bulk = [read(1), read(2)]
        assert all(a != b for a, b in zip(before, after_bulk, strict=True))
        with app.app_context():
            condpoll.touch(N)
        assert all(a != b for a, b in zip(after_bulk, [read(1), read(2)], strict=True))

    def test_needs_by_and_key(self, schema):
        from flask_condpoll.sqlalchemy import table_version

        N = schema.Notification
        with pytest.raises(TypeError, match="both 'by' and 'key'"):
            table_version(N, by=N.user_id)
        with pytest.raises(TypeError, match="exactly one table"):
            table_version(N, schema.Document, by=N.user_id, key=lambda: 1)


@pytest.mark.parametrize(
    "mode", ["conditional_savepoint", "create_savepoint", "rollback_only"]
)
def test_a_session_joining_a_connections_transaction_bumps_at_its_commit(
    registry, schema, mode
):
    """A transaction per request or per test: the session's commit ends only
    its part; the data commits with the connection's transaction."""
    with schema.engine.connect() as connection:
        outer = connection.begin()
        session = schema.Session(bind=connection, join_transaction_mode=mode)
        session.add(schema.Notification(user_id=1))
        session.commit()
        assert version(registry, schema) == 0  # nothing other clients can see yet
        session.close()
        outer.commit()
        assert version(registry, schema) >= 1
        seen_at_commit = version(registry, schema)
    # Bumped again once the commit is done: a poll that read the data just
    # before it landed gets a tag that is stale now.
    assert version(registry, schema) == seen_at_commit + 1


def test_a_connection_that_rolls_back_bumps_nothing(registry, schema):
    with schema.engine.connect() as connection:
        outer = connection.begin()
        session = schema.Session(bind=connection)
        session.add(schema.Notification(user_id=1))
        session.commit()
        session.close()
        outer.rollback()
    assert version(registry, schema) == 0
