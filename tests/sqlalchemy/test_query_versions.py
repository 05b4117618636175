"""Query versions in real use: joins, key types, reused app contexts, writes
racing each other."""

from __future__ import annotations

import threading
import time
import typing as t
import uuid

import pytest
from flask import request

from flask_condpoll import conditional
from flask_condpoll.sqlalchemy import collection_version
from flask_condpoll.sqlalchemy import row_version

from .conftest import Poller
from .conftest import Shop

sa = pytest.importorskip("sqlalchemy")


def read(shop: Shop, generator: t.Callable[..., t.Any], **kwargs: t.Any) -> t.Any:
    with shop.app.test_request_context():
        return generator(**kwargs)


class TestJoins:
    def test_a_change_in_a_joined_table_changes_the_version(self, shop):
        Note, Tag = shop.Note, shop.Tag
        note_id = shop.add_note()

        def tag(session):
            note = session.get(Note, note_id)
            note.tags.append(Tag(name="urgent"))
            session.flush()

        shop.commit(tag)
        tagged = (
            sa.select(Note, Tag)
            .join(shop.note_tags, shop.note_tags.c.note_id == Note.id)
            .join(Tag, shop.note_tags.c.tag_id == Tag.id)
        )
        version = collection_version(tagged)
        before = read(shop, version)

        def rename(session):
            session.scalars(sa.select(Tag)).one().name = "later"

        shop.commit(rename)
        assert read(shop, version) != before
        assert read(shop, version.last_modified) is not None

    def test_a_joined_table_it_cannot_version_is_refused(self, shop):
        Note, Board = shop.Note, shop.Board
        with pytest.raises(
            TypeError, match=f"cannot see updates to '{Board.__tablename__}'"
        ):
            collection_version(sa.select(Note, Board.name).join(Board))

    def test_unless_told_its_updates_do_not_matter(self, shop):
        Note, Board = shop.Note, shop.Board
        version = collection_version(
            sa.select(Note).join(Board), updated_at={Board: None, Note: "updated_at"}
        )
        read(shop, version)

    def test_a_link_table_needs_no_timestamp(self, shop):
        """Its rows are inserted and deleted, never updated: the links are
        the version."""
        Note, links = shop.Note, shop.note_tags
        version = collection_version(
            sa.select(Note).join(links, links.c.note_id == Note.id)
        )
        note_id = shop.add_note()

        def tag(session):
            note = session.get(Note, note_id)
            note.tags.append(shop.Tag(name="a"))
            session.flush()

        before = read(shop, version)
        shop.commit(tag)
        assert read(shop, version) != before

    def test_single_table_strategies_refuse_joins(self, shop):
        Note, Tag = shop.Note, shop.Tag
        with pytest.raises(TypeError, match="versions one table"):
            collection_version(
                sa.select(Note).join(shop.note_tags).join(Tag), "updated_at"
            )


class TestKeyTypes:
    def test_uuid_keys_with_the_default_strategy(self, shop):
        Thing = shop.Thing
        version = collection_version(sa.select(Thing).where(Thing.owner == 1))
        seen = [read(shop, version)]

        def add(session):
            session.add(Thing(owner=1))

        shop.commit(add)
        seen.append(read(shop, version))
        shop.commit(lambda s: setattr(s.scalars(sa.select(Thing)).first(), "body", "x"))
        seen.append(read(shop, version))
        shop.commit(lambda s: s.delete(s.scalars(sa.select(Thing)).first()))
        seen.append(read(shop, version))
        assert len(set(seen[1:])) == 3
        assert seen[1] != seen[0]

    def test_row_version_by_uuid(self, shop):
        Thing = shop.Thing
        thing_id = uuid.uuid4()
        shop.commit(lambda s: s.add(Thing(id=thing_id)))
        version = row_version(Thing, arg="thing_id")
        before = read(shop, version, thing_id=thing_id)
        assert before is not None
        assert read(shop, version, thing_id=uuid.uuid4()) is None

        def edit(session):
            session.get(Thing, thing_id).body = "edited"

        shop.commit(edit)
        assert read(shop, version, thing_id=thing_id) != before

    def test_a_get_and_a_put_with_other_converters_agree(self, shop):
        """``/notes/<int:note_id>`` passes 7, ``/notes/<note_id>`` "7": one URL,
        one row, so a PUT with the GET's tag passes If-Match."""
        Note, db = shop.Note, shop.db
        note_id = shop.add_note(body="0")
        version = row_version(Note, arg="note_id")

        @shop.app.get("/rows/<int:note_id>")
        @conditional(etag=version, weak=False)
        def get_note(note_id):
            return db.session.get(Note, note_id).body

        @shop.app.put("/rows/<note_id>")
        @conditional(etag=version, weak=False)
        def put_note(note_id):
            db.session.get(Note, int(note_id)).body = "1"
            db.session.commit()
            return "", 204

        client = shop.app.test_client()
        tag = client.get(f"/rows/{note_id}").headers["ETag"]
        assert (
            client.put(f"/rows/{note_id}", headers={"If-Match": tag}).status_code == 204
        )
        assert (
            client.put(f"/rows/{note_id}", headers={"If-Match": tag}).status_code == 412
        )

    def test_max_id_needs_an_integer_key_at_declaration(self, shop):
        with pytest.raises(TypeError, match="integer key"):
            collection_version(shop.Thing, "max_id")


class TestReusedAppContext:
    """pytest-flask and many test setups push one app context for a test; the
    requests inside it must not share a version cache."""

    def test_a_change_between_two_requests_is_seen(self, shop):
        Note = shop.Note
        mine = sa.select(Note).where(Note.user_id == 1)
        version = collection_version(mine)
        shop.app.add_url_rule(
            "/mine",
            "mine",
            conditional(etag=version, last_modified=version.last_modified)(
                lambda: str(len(shop.db.session.scalars(mine).all()))
            ),
        )
        with shop.app.app_context():
            client = shop.app.test_client()
            poller = Poller(client, "/mine")
            poller.poll()
            shop.db.session.add(Note(user_id=1))
            shop.db.session.commit()
            assert poller.poll() == 200
            assert poller.body == b"1"


class TestConcurrentWrites:
    """Two writes with the same If-Match: exactly one passes, the other gets
    412, and nothing is lost (the version is read FOR UPDATE)."""

    def test_only_one_of_two_racing_writes_passes(self, shop):
        Note = shop.Note
        note_id = shop.add_note(body="0")
        version = row_version(Note, arg="note_id")

        @shop.app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
        @conditional(etag=version, require_precondition=True)
        def note(note_id):
            row = shop.db.session.get(Note, note_id)
            if request.method == "PUT":
                time.sleep(0.3)  # the other write arrives meanwhile
                row.body = str(int(row.body) + 1)
                shop.db.session.commit()
            return row.body

        client = shop.app.test_client()
        tag = client.get(f"/notes/{note_id}").headers["ETag"]
        statuses: list[int] = []

        def write() -> None:
            response = shop.app.test_client().put(
                f"/notes/{note_id}", headers={"If-Match": tag}
            )
            statuses.append(response.status_code)

        writers = [threading.Thread(target=write) for _ in range(2)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(30)
        assert sorted(statuses) == [200, 412]
        assert client.get(f"/notes/{note_id}").data == b"1"
