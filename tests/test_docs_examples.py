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


def test_auth_order_example():
    from docs.examples.auth_order import app

    user = app.test_client()
    with user.session_transaction() as session:
        session["user_id"] = 1
    tag = user.get("/inbox").headers["ETag"]
    assert user.get("/inbox", headers={"If-None-Match": tag}).status_code == 304
    anonymous = app.test_client().get("/inbox", headers={"If-None-Match": tag})
    assert anonymous.status_code == 401


def test_every_python_block_in_the_docs_compiles():
    """Inline examples that are not included from a tested file must at
    least be valid Python."""
    import pathlib
    import re

    docs = pathlib.Path(__file__).resolve().parent.parent / "docs"
    blocks = 0
    for page in docs.rglob("*.rst"):
        text = page.read_text()
        for match in re.finditer(
            r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text
        ):
            code = "\n".join(line[3:] for line in match[1].splitlines())
            compile(code, f"{page.name} block", "exec")
            blocks += 1
    assert blocks >= 3
