"""Checking the quickstart's views with flask_condpoll.testing."""

from flask_condpoll.testing import check_conditional

from .quickstart import app
from .quickstart import VERSIONS


def test_the_list_is_conditional():
    client = app.test_client()

    def change():
        VERSIONS[1] += 1

    check_conditional(
        client,
        "/lists/1",
        change=change,
        unsafe_method="PUT",
        write={"json": {"items": ["tea"]}},
    )
