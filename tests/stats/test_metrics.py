"""Prometheus exposition of the stats: every outcome, exact across four
gunicorn workers, and a store that cannot be read is a gauge, not an error."""

from __future__ import annotations

import signal
import threading
import time
import urllib.request
from urllib.error import HTTPError

import pytest
from flask import Flask
from flask import redirect

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.stats import COUNTERS
from flask_condpoll.stats import OVERFLOW
from flask_condpoll.stats import TIME_BOUNDS

from .workers import start_gunicorn

prometheus = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from flask_condpoll.stats.metrics import metrics_blueprint  # noqa: E402
from flask_condpoll.stats.metrics import OUTCOMES  # noqa: E402
from flask_condpoll.stats.metrics import StatsMetrics  # noqa: E402


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def make_app(tmp_path, **options) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="s", TESTING=True, CONDPOLL_STATS_URL="sqlite:///s.db")
    CondPoll(app)
    app.register_blueprint(metrics_blueprint(**options))

    @app.get("/items")
    @conditional(etag=lambda: 1)
    def items() -> str:
        return "i" * 100

    return app


@pytest.fixture
def app(tmp_path) -> Flask:
    return make_app(tmp_path)


def polled(app: Flask, polls: int = 3) -> None:
    client = app.test_client()
    tag = client.get("/items").headers["ETag"]
    for _ in range(polls):
        client.get("/items", headers={"If-None-Match": tag})
    app.extensions["condpoll"].stats.flush()


def test_exposition(app):
    polled(app)
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content_type.startswith("text/plain; version=0.0.4")
    found = samples(response.get_data(as_text=True))
    name = "condpoll_requests_total"
    requests = {o: value(found, name, endpoint="items", outcome=o) for o in OUTCOMES}
    assert requests == {
        "not_modified": 3,
        "full": 1,
        "precondition_failed": 0,
        "precondition_required": 0,
        "aborted": 0,
    }
    assert value(found, "condpoll_sent_bytes_total", endpoint="items") == 100
    assert value(found, "condpoll_saved_bytes", endpoint="items") == 300
    assert value(found, "condpoll_saved_seconds", endpoint="items") >= 0
    count = value(
        found, "condpoll_request_duration_seconds_count", endpoint="items", path="304"
    )
    assert count == 3
    bounds = [
        label
        for (name, labels) in found
        if name == "condpoll_request_duration_seconds_bucket"
        and ("path", "304") in labels
        for key, label in labels
        if key == "le"
    ]
    assert bounds == [repr(bound / 1e6) for bound in TIME_BOUNDS] + ["+Inf"]
    assert value(found, "condpoll_stats_store_up") == 1
    assert value(found, "condpoll_stats_dropped_requests_total") == 0


def test_openmetrics(app):
    polled(app)
    response = app.test_client().get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).endswith("# EOF\n")


def test_the_pipelines_own_troubles(app):
    store = app.extensions["condpoll"].stats_store
    counts = [0] * len(COUNTERS)
    for name, number in (("requests", 7), ("batches_dropped", 2), ("store_errors", 9)):
        counts[COUNTERS.index(name)] = number
    store.add("overflow", {(OVERFLOW, 0): counts})
    found = samples(app.test_client().get("/metrics").get_data(as_text=True))
    assert value(found, "condpoll_stats_dropped_requests_total") == 7
    assert value(found, "condpoll_stats_dropped_batches_total") == 2
    assert value(found, "condpoll_stats_store_errors_total") == 9
    assert not any(dict(labels).get("endpoint") == OVERFLOW for _, labels in found)


def test_saved_bytes_are_absent_until_known(app):
    client = app.test_client()
    tag = client.get("/items").headers["ETag"]
    app.extensions["condpoll"].stats.flush()
    app.extensions["condpoll"].stats_store.reset()
    client.get("/items", headers={"If-None-Match": tag})
    app.extensions["condpoll"].stats.flush()
    found = samples(client.get("/metrics").get_data(as_text=True))
    assert ("condpoll_saved_bytes", (("endpoint", "items"),)) not in found
    full = value(found, "condpoll_requests_total", endpoint="items", outcome="full")
    assert full == 0


def test_an_unreadable_store_is_a_gauge(tmp_path):
    app = make_app(tmp_path)
    (tmp_path / "s.db").write_text("not a database" * 20)
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert samples(response.get_data(as_text=True)) == {
        ("condpoll_stats_store_up", ()): 0
    }


def test_describe_reads_nothing():
    class Store:
        def lifetime(self):
            raise AssertionError("read at registration")

    registry = prometheus.CollectorRegistry(auto_describe=True)
    registry.register(StatsMetrics(Store()))


def test_stats_off(tmp_path):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", CONDPOLL_STATS_URL=None)
    CondPoll(app)
    app.register_blueprint(metrics_blueprint())
    response = app.test_client().get("/metrics")
    assert response.status_code == 404
    assert b"Stats are off" in response.data


@pytest.mark.parametrize(
    ("answer", "status"), [(True, 200), (None, 200), (False, 403), ("login", 302)]
)
def test_guard(tmp_path, answer, status):
    def guard():
        return redirect("/login") if answer == "login" else answer

    app = make_app(tmp_path, guard=guard)
    assert app.test_client().get("/metrics").status_code == status


def test_guard_must_be_callable(tmp_path):
    with pytest.raises(TypeError, match="guard must be a function"):
        metrics_blueprint(guard="admin")


# Four gunicorn workers: the counts of every worker, read back by any of them.


def send(base: str, method: str, path: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(f"{base}{path}", method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()
    except HTTPError as error:
        return error.read()


def scrape(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return samples(response.read().decode())


def test_four_workers_scrape_exact_totals(stats_target):
    env, _ = stats_target
    process, base = start_gunicorn(env | {"STATS_APP_METRICS": "1"}, workers=4)
    try:
        with urllib.request.urlopen(f"{base}/poll", timeout=10) as response:
            tag = response.headers["ETag"]
        plan = [
            ("GET", "/poll", {}, 39),  # and the one above: 40 full
            ("GET", "/poll", {"If-None-Match": tag}, 60),
            ("PUT", "/doc", {}, 15),
            ("PUT", "/doc", {"If-Match": '"stale"'}, 10),
            ("GET", "/broken", {}, 12),
            ("GET", "/gone", {}, 7),
        ]
        sent_bytes: dict[str, int] = {"/poll": 300}
        lock = threading.Lock()

        def run(method, path, headers, times):
            for _ in range(times):
                body = send(base, method, path, headers)
                with lock:
                    sent_bytes[path] = sent_bytes.get(path, 0) + len(body)

        threads = [threading.Thread(target=run, args=step) for step in plan]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected_total = 40 + 60 + 15 + 10 + 12 + 7
        deadline = time.monotonic() + 15
        while True:
            found = scrape(base)
            total = sum(
                number
                for (name, _), number in found.items()
                if name == "condpoll_requests_total"
            )
            if total == expected_total or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(3 * 0.5)  # three more flush intervals: nothing more comes
        scrapes = [scrape(base) for _ in range(8)]  # answered by any worker
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    assert all(other == scrapes[0] for other in scrapes)
    found = scrapes[0]

    def requests(endpoint: str) -> dict[str, float]:
        return {
            outcome: value(
                found, "condpoll_requests_total", endpoint=endpoint, outcome=outcome
            )
            for outcome in OUTCOMES
            if value(
                found, "condpoll_requests_total", endpoint=endpoint, outcome=outcome
            )
        }

    assert requests("poll") == {"not_modified": 60, "full": 40}
    assert requests("doc") == {"precondition_required": 15, "precondition_failed": 10}
    assert requests("broken") == {"full": 12}
    assert requests("gone") == {"aborted": 7}
    for endpoint, path in (("poll", "/poll"), ("doc", "/doc"), ("broken", "/broken")):
        assert (
            value(found, "condpoll_sent_bytes_total", endpoint=endpoint)
            == (sent_bytes[path])
        )
    assert value(found, "condpoll_sent_bytes_total", endpoint="gone") == 0
    assert value(found, "condpoll_saved_bytes", endpoint="poll") == 60 * 300
    assert value(found, "condpoll_generator_failures_total", endpoint="broken") == 12
    assert value(found, "condpoll_generator_failures_total", endpoint="poll") == 0
    duration = "condpoll_request_duration_seconds_count"
    assert value(found, duration, endpoint="poll", path="304") == 60
    assert value(found, duration, endpoint="poll", path="full") == 40
    assert value(found, duration, endpoint="broken", path="full") == 12
    assert value(found, "condpoll_stats_store_up") == 1
    assert value(found, "condpoll_stats_dropped_requests_total") == 0
    assert value(found, "condpoll_stats_store_errors_total") == 0
