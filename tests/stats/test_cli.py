"""``flask condpoll stats`` through the CLI runner."""

from __future__ import annotations

import json
import time

import pytest

from flask_condpoll.stats import COUNTERS
from flask_condpoll.stats import OVERFLOW
from tests.test_cli import make_app
from tests.test_cli import run
from tests.test_cli import traffic


@pytest.fixture
def app(tmp_path):
    return make_app("sqlite:///stats.db", tmp_path)


class TestStats:
    def test_empty(self, app):
        result = run(app, "stats")
        assert result.exit_code == 0
        assert "No stats yet in" in result.output
        assert "stats.db" in result.output

    def test_table(self, app):
        traffic(app)
        result = run(app, "stats")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0].split() == [
            "endpoint",
            "requests",
            "304",
            "sent",
            "saved",
            "full",
            "ms",
            "304",
            "ms",
        ]
        items = next(line for line in lines if line.startswith("items"))
        assert items.split()[1:3] == ["31", "97%"]
        assert "30.0 kB" in items  # 30 304s times a 1000-byte page saved
        assert "working: most polls cost a 304" in result.output
        assert "changes too often" in result.output  # /doc never matches

    def test_json(self, app):
        traffic(app)
        data = json.loads(run(app, "stats", "--json").output)
        rows = {row["endpoint"]: row for row in data["endpoints"]}
        assert rows["items"]["counts"]["not_modified"] == 30
        assert rows["items"]["bytes_saved"] == 30000
        assert rows["doc"]["ratio_304"] == 0
        assert data["overflow"] == 0

    def test_endpoint(self, app):
        traffic(app)
        data = json.loads(run(app, "stats", "--json", "--endpoint", "doc").output)
        assert [row["endpoint"] for row in data["endpoints"]] == ["doc"]

    def test_unknown_endpoint_lists_the_known_ones(self, app):
        traffic(app)
        result = run(app, "stats", "--endpoint", "itmes")
        assert result.exit_code == 2
        assert "no endpoint 'itmes'; known: doc, items." in result.output

    def test_a_conditional_view_without_counts_is_known(self, app):
        result = run(app, "stats", "--endpoint", "items")
        assert result.exit_code == 0
        assert "No stats yet" in result.output

    def test_saved_is_unknown_without_a_full_response(self, app):
        """A page that renders the fragment itself, and then only 304s."""
        client = app.test_client()
        tag = client.get("/items/1").headers["ETag"]
        app.extensions["condpoll"].stats.flush()
        app.extensions["condpoll"].stats_store.reset()  # forget that 200
        for _ in range(3):
            client.get("/items/1", headers={"If-None-Match": tag})
        app.extensions["condpoll"].stats.flush()
        result = run(app, "stats")
        assert result.output.splitlines()[2].split()[1:5] == ["3", "100%", "0", "B"]
        assert result.output.splitlines()[2].split()[5] == "-"
        assert "saved -: no full response was measured" in result.output
        data = json.loads(run(app, "stats", "--json").output)
        assert data["endpoints"][0]["bytes_saved"] is None
        assert data["endpoints"][0]["time_saved_ms"] is None

    def test_since(self, app):
        traffic(app)
        store = app.extensions["condpoll"].stats_store
        old = int(time.time()) - 7200
        counts = [0] * len(COUNTERS)
        counts[0] = 1000
        store.add("old", {("items", old // 60 * 60): counts})
        recent = json.loads(run(app, "stats", "--json", "--since", "10m").output)
        everything = json.loads(run(app, "stats", "--json").output)

        def requests(data):
            return {r["endpoint"]: r["counts"]["requests"] for r in data["endpoints"]}

        assert requests(recent)["items"] == 31
        assert requests(everything)["items"] == 1031

    def test_bad_since(self, app):
        result = run(app, "stats", "--since", "soon")
        assert result.exit_code == 2
        assert "not a duration" in result.output

    @pytest.mark.parametrize(
        ("sort", "first"),
        [
            ("requests", "doc"),
            ("ratio", "items"),
            ("saved", "items"),
            ("endpoint", "doc"),
        ],
    )
    def test_sort(self, app, sort, first):
        traffic(app)
        data = json.loads(run(app, "stats", "--json", "--sort", sort).output)
        assert data["endpoints"][0]["endpoint"] == first

    def test_reset_asks_first(self, app):
        traffic(app)
        refused = run(app, "stats", "--reset", input="n\n")
        assert refused.exit_code == 1
        assert "Delete every count" in refused.output
        assert "items" in run(app, "stats").output
        accepted = run(app, "stats", "--reset", input="y\n")
        assert "Stats reset." in accepted.output
        assert "No stats yet" in run(app, "stats").output

    def test_reset_yes(self, app):
        traffic(app)
        assert "Stats reset." in run(app, "stats", "--reset", "--yes").output
        assert "No stats yet" in run(app, "stats").output

    def test_watch_refreshes_until_ctrl_c(self, app, monkeypatch):
        traffic(app)
        sleeps = []

        def sleep(seconds):
            sleeps.append(seconds)
            if len(sleeps) == 2:
                raise KeyboardInterrupt

        monkeypatch.setattr("flask_condpoll.stats.cli.time.sleep", sleep)
        result = run(app, "stats", "--watch", "0.5")
        assert result.exit_code == 0
        assert sleeps == [0.5, 0.5]
        assert result.output.count("Every 0.5s, Ctrl-C to stop.") == 2

    def test_overflow_is_reported(self, app):
        traffic(app)
        counts = [0] * len(COUNTERS)
        counts[0] = 12
        app.extensions["condpoll"].stats_store.add("o", {(OVERFLOW, 0): counts})
        result = run(app, "stats")
        assert "12 requests were not counted" in result.output
        assert json.loads(run(app, "stats", "--json").output)["overflow"] == 12

    def test_unreachable_store(self, tmp_path):
        from ..redis_server import free_port

        app = make_app(f"redis://127.0.0.1:{free_port()}/0", tmp_path)
        result = run(app, "stats")
        assert result.exit_code == 1
        assert "Cannot use the stats store (Redis at 127.0.0.1:" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize(
        ("make", "url", "error"),
        [
            (lambda tmp: (tmp / "file").write_text("x"), "file/s.db", "writable"),
            (lambda tmp: (tmp / "s.db").write_text("x" * 200), "s.db", "database"),
            (lambda tmp: (tmp / "s.db").mkdir(), "s.db", "unable to open"),
        ],
    )
    def test_unreadable_sqlite_store(self, tmp_path, make, url, error):
        make(tmp_path)
        result = run(make_app(f"sqlite:///{url}", tmp_path), "stats")
        assert result.exit_code == 1
        assert "Error: Cannot use the stats store (" in result.output
        assert error in result.output
        assert "No stats yet" not in result.output

    def test_stats_off(self, tmp_path):
        result = run(make_app(None, tmp_path), "stats")
        assert result.exit_code == 1
        assert "Stats are off: set CONDPOLL_STATS_URL" in result.output
