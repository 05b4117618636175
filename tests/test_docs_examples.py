"""Every example in docs/ is run here."""

import pytest


def test_quickstart_check():
    from docs.examples.test_quickstart import test_items_are_conditional

    test_items_are_conditional()


def test_quickstart_views():
    from docs.examples.quickstart import app

    client = app.test_client()
    assert client.post("/lists/1/items").status_code == 428
    tag = client.get("/lists/1/items").headers["ETag"]
    assert client.post("/lists/1/items", headers={"If-Match": tag}).status_code == 412


def test_notifications_example(tmp_path):
    pytest.importorskip("flask_sqlalchemy")
    from docs.examples.notifications import create_app
    from docs.examples.notifications import db
    from docs.examples.notifications import Notification
    from flask_condpoll.testing import check_conditional

    app = create_app(f"sqlite:///{tmp_path}/n.db")
    client = app.test_client()
    client.post("/login/1")

    def notify():
        with app.app_context():
            db.session.add(Notification(user_id=1, text="hello"))
            db.session.commit()

    check_conditional(client, "/notifications", change=notify)
    check_conditional(client, "/notifications/badge", change=notify)
    assert client.get("/notifications").json == ["hello", "hello"]


@pytest.mark.parametrize(
    ("client", "extension_url", "attribute"),
    [
        ("htmx2", None, "data-condpoll-etag"),
        ("htmx4", "/ptag.js", "hx-ptag"),
        ("unpoly", None, "up-etag"),
    ],
)
def test_polling_example(client, extension_url, attribute):
    import re

    from docs.examples import polling

    app = polling.create_app(client, extension_url=extension_url)
    page = app.test_client()
    html = page.get("/").get_data(as_text=True)
    assert f"{polling.COUNTS[1]} unread" in html
    tag = re.search(rf'{attribute}="([^"]+)"', html).group(1).replace("&#34;", '"')
    headers = (
        {"X-Up-Target": "#badge"} if client == "unpoly" else {"HX-Request": "true"}
    )
    first_poll = page.get("/badge", headers=headers | {"If-None-Match": tag})
    assert first_poll.status_code == 304
    polling.COUNTS[1] += 1
    assert (
        page.get("/badge", headers=headers | {"If-None-Match": tag}).status_code == 200
    )
