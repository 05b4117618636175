"""Every example in docs/ is run here."""

from docs.examples.test_quickstart import test_items_are_conditional  # noqa: F401


def test_quickstart_views():
    from docs.examples.quickstart import app

    client = app.test_client()
    assert client.post("/lists/1/items").status_code == 428
    tag = client.get("/lists/1/items").headers["ETag"]
    assert client.post("/lists/1/items", headers={"If-Match": tag}).status_code == 412
