"""Every way a session writes is seen by the registry, and published only when
the outermost transaction commits."""

from __future__ import annotations

import typing as t

import pytest

from flask_condpoll.sqlalchemy import table_names
from flask_condpoll.sqlalchemy import table_version

from .conftest import Shop

sa = pytest.importorskip("sqlalchemy")
orm = pytest.importorskip("sqlalchemy.orm")


def versions(shop: Shop, *targets: t.Any, user: int | None = None) -> t.Any:
    """What table_version() reads now, for the whole tables or one user's part."""
    with shop.app.test_request_context():
        if user is None:
            return table_version(*targets)()
        Note = shop.Note
        return table_version(Note, by=Note.user_id, key=lambda: user)()


class TestPublishing:
    def test_a_savepoint_release_publishes_nothing(self, shop):
        before = versions(shop, shop.Note)
        with shop.app.app_context():
            session = shop.db.session
            session.begin()
            with session.begin_nested():
                session.add(shop.Note(user_id=1))
            assert versions(shop, shop.Note) == before  # released, not committed
            session.commit()
        assert versions(shop, shop.Note) != before

    def test_a_rolled_back_outer_transaction_publishes_nothing(self, shop):
        before = versions(shop, shop.Note)
        with shop.app.app_context():
            session = shop.db.session
            with session.begin_nested():
                session.add(shop.Note(user_id=1))
            session.rollback()
        assert versions(shop, shop.Note) == before

    def test_a_rolled_back_savepoint_keeps_the_outer_changes(self, shop):
        before = versions(shop, shop.Note)
        with shop.app.app_context():
            session = shop.db.session
            session.add(shop.Note(user_id=1))
            session.flush()
            nested = session.begin_nested()
            session.add(shop.Note(user_id=2))
            nested.rollback()
            session.commit()
        assert versions(shop, shop.Note) != before

    def test_nothing_before_the_commit(self, shop):
        before = versions(shop, shop.Note)
        with shop.app.app_context():
            session = shop.db.session
            session.add(shop.Note(user_id=1))
            session.flush()
            assert versions(shop, shop.Note) == before
            session.commit()
        assert versions(shop, shop.Note) != before


class TestPartitions:
    def test_moving_a_row_whose_attributes_the_commit_expired(self, shop):
        """The old value was never loaded again: its partition changes anyway."""
        note_id = shop.add_note(user_id=1)
        before = versions(shop, user=1)
        with shop.app.app_context():
            note = shop.db.session.get(shop.Note, note_id)
            shop.db.session.commit()  # expires every attribute
            note.user_id = 2
            shop.db.session.commit()
        assert versions(shop, user=1) != before

    def test_moving_a_loaded_row_changes_both_partitions_only(self, shop):
        note_id = shop.add_note(user_id=1)
        before = {user: versions(shop, user=user) for user in (1, 2, 3)}

        def move(session):
            session.get(shop.Note, note_id).user_id = 2

        shop.commit(move)
        assert versions(shop, user=1) != before[1]
        assert versions(shop, user=2) != before[2]
        assert versions(shop, user=3) == before[3]

    def test_deleting_a_row_loaded_without_its_partition_column(self, shop):
        note_id = shop.add_note(user_id=1)
        before = versions(shop, user=1)
        with shop.app.app_context():
            session = shop.db.session
            note = session.scalars(
                sa.select(shop.Note)
                .where(shop.Note.id == note_id)
                .options(orm.load_only(shop.Note.id, shop.Note.body))
            ).one()
            session.delete(note)
            session.commit()  # must not fail the write
            assert session.get(shop.Note, note_id) is None
        assert versions(shop, user=1) != before


class TestWritePaths:
    @pytest.mark.parametrize(
        "write",
        [
            "bulk_save_objects",
            "bulk_insert_mappings",
            "bulk_update_mappings",
            "core_insert",
            "core_update_on_the_connection",
            "orm_update",
            "orm_delete",
        ],
    )
    def test_seen(self, shop, write):
        note_id = shop.add_note(user_id=1)
        before = versions(shop, shop.Note), versions(shop, user=1)
        Note, table = shop.Note, shop.Note.__table__

        def change(session):
            if write == "bulk_save_objects":
                session.bulk_save_objects([Note(user_id=1, body="b")])
            elif write == "bulk_insert_mappings":
                session.bulk_insert_mappings(Note, [{"user_id": 1, "body": "b"}])
            elif write == "bulk_update_mappings":
                session.bulk_update_mappings(Note, [{"id": note_id, "body": "b"}])
            elif write == "core_insert":
                session.execute(sa.insert(table).values(user_id=1, body="b"))
            elif write == "core_update_on_the_connection":
                session.connection().execute(
                    sa.update(table).where(table.c.id == note_id).values(body="b")
                )
            elif write == "orm_update":
                session.execute(
                    sa.update(Note).where(Note.id == note_id).values(body="b")
                )
            else:
                session.execute(sa.delete(Note).where(Note.id == note_id))

        shop.commit(change)
        after = versions(shop, shop.Note), versions(shop, user=1)
        assert after[0] != before[0]
        assert after[1] != before[1]

    def test_association_rows_written_through_a_relationship(self, shop):
        note_id = shop.add_note()

        def tag(session):
            note = session.get(shop.Note, note_id)
            note.tags.append(shop.Tag(name="urgent"))
            session.flush()

        before = versions(shop, shop.note_tags)
        shop.commit(tag)
        assert versions(shop, shop.note_tags) != before

        def untag(session):
            note = session.get(shop.Note, note_id)
            note.tags.clear()
            session.flush()

        before = versions(shop, shop.note_tags)
        shop.commit(untag)
        assert versions(shop, shop.note_tags) != before

    def test_database_cascades_from_the_metadata(self, shop):
        """``ON DELETE CASCADE``: the database deletes the notes of a board;
        the foreign key in the metadata says so."""

        def add(session):
            board = shop.Board()
            session.add(board)
            session.flush()
            session.add(shop.Note(user_id=1, board_id=board.id))

        shop.commit(add)
        before = versions(shop, shop.Note), versions(shop, user=1)
        shop.commit(lambda session: session.execute(sa.delete(shop.Board)))
        after = versions(shop, shop.Note), versions(shop, user=1)
        assert after[0] != before[0]
        assert after[1] != before[1]

    def test_text_statements_need_touch(self, shop):
        from flask_condpoll import CondPoll

        table = shop.Note.__table__.name
        before = versions(shop, shop.Note)
        shop.commit(lambda s: s.execute(sa.text(f"DELETE FROM {table}")))
        assert versions(shop, shop.Note) == before  # documented: not seen
        with shop.app.app_context():
            shop.app.extensions["condpoll"]
            CondPoll.touch(t.cast(t.Any, None), shop.Note)
        assert versions(shop, shop.Note) != before

    def test_names_of_every_table(self, shop):
        assert table_names(shop.Note) == [shop.Note.__table__.fullname]
