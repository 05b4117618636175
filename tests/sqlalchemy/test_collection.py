"""Aggregate version generators on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import pytest

sa = pytest.importorskip("sqlalchemy")

from flask import Flask  # noqa: E402

from flask_condpoll import conditional  # noqa: E402
from flask_condpoll import CondPoll  # noqa: E402
from flask_condpoll.sqlalchemy import collection_version  # noqa: E402
from flask_condpoll.sqlalchemy import max_updated_at  # noqa: E402
from flask_condpoll.sqlalchemy import row_version  # noqa: E402

from .models import create_schema  # noqa: E402
from .models import engine_for  # noqa: E402
from .models import Schema  # noqa: E402


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    CondPoll(app)
    return app


def newest(schema: Schema, limit: int = 50) -> t.Any:
    N = schema.Notification
    return (
        sa.select(N)
        .where(N.user_id == sa.bindparam("user_id"))
        .order_by(N.id.desc())
        .limit(limit)
    )


def add(schema: Schema, count: int, user_id: int = 1) -> list[int]:
    with schema.Session() as session:
        rows = [schema.Notification(user_id=user_id) for _ in range(count)]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


class Probe:
    """Read a generator in a fresh app context, as each request would."""

    def __init__(self, app: Flask, generator: t.Callable[..., t.Any], **kwargs: t.Any):
        self.app, self.generator, self.kwargs = app, generator, kwargs

    def __call__(self) -> t.Any:
        with self.app.app_context():
            return self.generator(**self.kwargs)


def composite(app: Flask, schema: Schema, limit: int = 50) -> Probe:
    version = collection_version(newest(schema, limit), bind=schema.engine)
    return Probe(app, version, user_id=1)


class TestComposite:
    def test_insert(self, app, schema):
        add(schema, 3)
        probe = composite(app, schema)
        before = probe()
        add(schema, 1)
        assert probe() != before

    def test_other_users_rows_do_not_count(self, app, schema):
        add(schema, 3)
        probe = composite(app, schema)
        before = probe()
        add(schema, 2, user_id=2)
        assert probe() == before

    def test_update(self, app, schema):
        ids = add(schema, 3)
        probe = composite(app, schema)
        before = probe()
        with schema.Session() as session:
            session.get(schema.Notification, ids[0]).body = "edited"
            session.commit()
        assert probe() != before

    def test_delete(self, app, schema):
        ids = add(schema, 3)
        probe = composite(app, schema)
        before = probe()
        with schema.Session() as session:
            session.delete(session.get(schema.Notification, ids[1]))
            session.commit()
        assert probe() != before

    def test_delete_then_insert(self, app, schema):
        ids = add(schema, 3)
        probe = composite(app, schema)
        before = probe()
        with schema.Session() as session:
            session.delete(session.get(schema.Notification, ids[0]))
            session.add(schema.Notification(user_id=1))
            session.commit()
        after = probe()
        assert after[0] == before[0]  # same count: COUNT alone would miss it
        assert after != before

    def test_delete_newest_then_insert_reusing_its_id(self, app, schema):
        """SQLite reuses the highest rowid: only the timestamp tells."""
        ids = add(schema, 3)
        probe = composite(app, schema)
        before = probe()
        with schema.Session() as session:
            session.delete(session.get(schema.Notification, ids[-1]))
            session.commit()
        with schema.Session() as session:
            session.add(schema.Notification(id=ids[-1], user_id=1))
            session.commit()
        assert probe() != before

    def test_pagination_shift(self, app, schema):
        """Deleting a shown row brings an older one into the page of 5."""
        ids = add(schema, 8)
        probe = composite(app, schema, limit=5)
        before = probe()
        with schema.Session() as session:
            session.delete(session.get(schema.Notification, ids[-2]))
            session.commit()
        after = probe()
        assert after[0] == before[0] == 5
        assert after != before

    def test_change_outside_the_page_is_ignored(self, app, schema):
        ids = add(schema, 8)
        probe = composite(app, schema, limit=5)
        before = probe()
        with schema.Session() as session:
            session.get(schema.Notification, ids[0]).body = "old row, not shown"
            session.commit()
        assert probe() == before

    def test_rollback_keeps_the_version(self, app, schema):
        ids = add(schema, 3)
        probe = composite(app, schema)
        before = probe()
        with schema.Session() as session:
            session.get(schema.Notification, ids[0]).body = "never"
            session.add(schema.Notification(user_id=1))
            session.flush()
            session.rollback()
        assert probe() == before

    def test_bulk_update_and_delete(self, app, schema):
        add(schema, 4)
        probe = composite(app, schema)
        N = schema.Notification
        first = probe()
        with schema.Session() as session:
            session.execute(sa.update(N).where(N.user_id == 1).values(body="bulk"))
            session.commit()
        second = probe()
        assert second != first
        with schema.Session() as session:
            session.execute(
                sa.delete(N).where(
                    N.id == sa.select(sa.func.min(N.id)).scalar_subquery()
                )
            )
            session.commit()
        assert probe() != second

    def test_out_of_order_commits(self, app, schema):
        """A transaction that stamped its row earlier commits later."""
        ids = add(schema, 2)
        probe = composite(app, schema)
        N = schema.Notification
        early = schema.now() - timedelta(seconds=30)
        stamp_early = sa.update(N).where(N.id == ids[0]).values(updated_at=early)
        with schema.Session() as slow, schema.Session() as fast:
            if schema.engine.dialect.name != "sqlite":
                slow.execute(stamp_early)  # holds its transaction open
            fast.execute(sa.update(N).where(N.id == ids[1]).values(body="fast"))
            fast.commit()
            served = probe()
            if schema.engine.dialect.name == "sqlite":
                slow.execute(stamp_early)  # one writer at a time: stamped earlier
            slow.commit()
        # MAX(updated_at) did not move; the composite still sees the commit.
        assert probe()[3] == served[3]
        assert probe() != served

    def test_one_query_no_orm_objects(self, app, schema):
        add(schema, 3)
        statements: list[str] = []
        loaded: list[object] = []
        sa.event.listen(
            schema.engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        sa.event.listen(
            schema.Notification, "load", lambda target, ctx: loaded.append(target)
        )
        composite(app, schema)()
        assert len(statements) == 1
        assert "count(" in statements[0].lower()
        assert loaded == []


class TestWhatTheSimpleStrategiesMiss:
    """Each documented miss, shown: the composite default sees all of them."""

    def probe(self, app, schema, strategy):
        version = collection_version(newest(schema), strategy, bind=schema.engine)
        return Probe(app, version, user_id=1)

    def test_max_id_misses_updates(self, app, schema):
        ids = add(schema, 3)
        probe = self.probe(app, schema, "max_id")
        before = probe()
        with schema.Session() as session:
            session.get(schema.Notification, ids[0]).body = "edited"
            session.commit()
        assert probe() == before

    def test_count_misses_delete_then_insert(self, app, schema):
        ids = add(schema, 3)
        probe = self.probe(app, schema, "count")
        before = probe()
        with schema.Session() as session:
            session.delete(session.get(schema.Notification, ids[0]))
            session.add(schema.Notification(user_id=1))
            session.commit()
        assert probe() == before

    def test_updated_at_misses_deleting_an_older_row(self, app, schema):
        ids = add(schema, 3)
        probe = self.probe(app, schema, "updated_at")
        before = probe()
        with schema.Session() as session:
            session.delete(session.get(schema.Notification, ids[0]))
            session.commit()
        assert probe() == before

    def test_updated_at_moves_backwards_when_newest_is_deleted(self, app, schema):
        ids = add(schema, 2)
        with schema.Session() as session:
            session.get(schema.Notification, ids[1]).updated_at = (
                schema.now() + timedelta(hours=1)
            )
            session.commit()
        probe = self.probe(app, schema, "updated_at")
        before = probe()
        with schema.Session() as session:
            session.delete(session.get(schema.Notification, ids[1]))
            session.commit()
        assert probe()[0] < before[0]


class TestLastModified:
    @pytest.mark.parametrize("aware", [False, True])
    def test_postgresql_timestamp_kinds(self, app, tmp_path, aware):
        self.check(app, create_schema(engine_for("postgresql", tmp_path), aware=aware))

    @pytest.mark.parametrize("precision", [6, 0])
    def test_mariadb_precisions(self, app, tmp_path, precision):
        self.check(
            app, create_schema(engine_for("mariadb", tmp_path), precision=precision)
        )

    def test_sqlite_naive_text(self, app, tmp_path):
        self.check(app, create_schema(engine_for("sqlite", tmp_path)))

    def check(self, app: Flask, schema: Schema) -> None:
        """A row stamped 12:00:00.750 UTC goes out as 12:00:00 GMT and 304s."""
        try:
            stamp = datetime(2024, 5, 1, 12, 0, 0, 750000)
            with schema.Session() as session:
                value = stamp.replace(tzinfo=UTC) if schema.aware else stamp
                session.add(schema.Notification(user_id=1, updated_at=value))
                session.commit()
            latest = Probe(
                app, max_updated_at(newest(schema), bind=schema.engine), user_id=1
            )()
            if latest.tzinfo is None:
                latest = latest.replace(tzinfo=UTC)
            assert abs(latest - stamp.replace(tzinfo=UTC)) < timedelta(seconds=1)

            version = collection_version(
                newest(schema), params=lambda: {"user_id": 1}, bind=schema.engine
            )

            @app.get("/n")
            @conditional(etag=version, last_modified=version.last_modified)
            def n():
                return "n"

            client = app.test_client()
            response = client.get("/n")
            assert response.headers["Last-Modified"] == "Wed, 01 May 2024 12:00:00 GMT"
            again = client.get(
                "/n", headers={"If-Modified-Since": response.headers["Last-Modified"]}
            )
            assert again.status_code == 304
        finally:
            schema.drop()


class TestRowVersion:
    @pytest.fixture
    def documents(self, app, schema):
        D = schema.Document
        version = row_version(D, arg="doc_id", bind=schema.engine)

        @app.route("/docs/<int:doc_id>", methods=["GET", "PUT"])
        @conditional(etag=version, weak=False, require_precondition=True)
        def document(doc_id):
            from flask import abort
            from flask import request

            with schema.Session() as session:
                doc = session.get(D, doc_id)
                if doc is None:
                    abort(404)
                if request.method == "PUT":
                    doc.body = request.get_data(as_text=True)
                    session.commit()
                return doc.body

        with schema.Session() as session:
            session.add_all([D(id=1, body="one"), D(id=2, body="two")])
            session.commit()
        return app.test_client()

    def body(self, schema, doc_id):
        with schema.Session() as session:
            return session.get(schema.Document, doc_id).body

    def test_update_changes_only_that_row(self, documents, schema):
        one, two = (documents.get(f"/docs/{n}").headers["ETag"] for n in (1, 2))
        assert (
            documents.put("/docs/1", data="new", headers={"If-Match": one}).status_code
            == 200
        )
        assert (
            documents.get("/docs/1", headers={"If-None-Match": one}).status_code == 200
        )
        assert (
            documents.get("/docs/2", headers={"If-None-Match": two}).status_code == 304
        )

    def test_stale_if_match_write_changes_nothing(self, documents, schema):
        tag = documents.get("/docs/1").headers["ETag"]
        assert (
            documents.put(
                "/docs/1", data="first", headers={"If-Match": tag}
            ).status_code
            == 200
        )
        response = documents.put(
            "/docs/1", data="lost update", headers={"If-Match": tag}
        )
        assert response.status_code == 412
        assert self.body(schema, 1) == "first"

    def test_unconditional_write_is_refused(self, documents, schema):
        assert documents.put("/docs/1", data="blind").status_code == 428
        assert self.body(schema, 1) == "one"

    def test_missing_row_has_no_representation(self, documents):
        assert (
            documents.put("/docs/9", data="x", headers={"If-Match": "*"}).status_code
            == 412
        )
        assert (
            documents.get("/docs/9", headers={"If-None-Match": "*"}).status_code == 404
        )

    def test_needs_a_timestamp_or_version(self, schema):
        with pytest.raises(TypeError, match="updates are invisible"):
            row_version(schema.Notification, updated_at=None)


class TestErrors:
    def test_unknown_strategy(self, schema):
        with pytest.raises(ValueError, match="must be one of: composite, max_id"):
            collection_version(schema.Notification, "newest")

    def test_strategy_needs_a_column_at_declaration(self, schema):
        with pytest.raises(TypeError, match="needs an updated_at"):
            collection_version(
                schema.Notification,
                "updated_at",
                updated_at="missing",
                bind=schema.engine,
            )

    def test_last_modified_needs_a_timestamp_strategy(self, app, schema):
        version = collection_version(schema.Notification, "count", bind=schema.engine)
        with app.app_context(), pytest.raises(TypeError, match="reads no timestamp"):
            version.last_modified()

    def test_no_bind_without_flask_sqlalchemy(self, app, schema):
        version = collection_version(schema.Notification)
        with app.app_context(), pytest.raises(RuntimeError, match="bind=engine"):
            version()

    def test_select_built_per_request(self, app, schema):
        add(schema, 2, user_id=7)
        N = schema.Notification
        version = collection_version(
            lambda user_id: sa.select(N).where(N.user_id == user_id), bind=schema.engine
        )
        assert Probe(app, version, user_id=7)()[0] == 2
        assert Probe(app, version, user_id=8)()[0] == 0
