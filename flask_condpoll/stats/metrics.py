"""Prometheus and OpenMetrics exposition of the stats (the ``metrics`` extra).

:class:`StatsMetrics` is a custom collector over the stats store, rather
than prometheus_client's own counters in multiprocess mode: the store already
adds up every worker and every host, so whichever worker answers a scrape
gives the same totals, with no shared folder to set up and wipe at start-up,
nothing per host, and nothing counted twice. A scrape reads the store's
lifetime totals, which only grow (``--reset`` is a counter reset); a request
shows once its process has flushed (``CONDPOLL_STATS_FLUSH_INTERVAL``).
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import request
from flask import Response
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import choose_encoder

from ..state import get_state
from .counters import COUNTERS
from .counters import OVERFLOW
from .counters import TIME_BOUNDS
from .guard import before_request
from .guard import Guard
from .stores import StatsStore
from .stores import StatsStoreError
from .summary import EndpointStats
from .summary import summarize

if t.TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

#: The ``outcome`` label of ``condpoll_requests_total``: every request
#: counts under exactly one.
OUTCOMES = (
    "not_modified",  # 304, or 204 to an htmx 4 poll
    "full",  # the view answered
    "precondition_failed",  # 412, or 503 to an unverifiable write
    "precondition_required",  # 428
    "aborted",  # the view, a generator or a mixin raised
)

_PATHS = (("304", "t304", "time_304_us"), ("full", "tfull", "time_full_us"))


class StatsMetrics:
    """A prometheus_client collector of one stats store's counts.

    Register it with any registry, or serve it with
    :func:`metrics_blueprint`::

        registry = CollectorRegistry()
        registry.register(StatsMetrics(app.extensions["condpoll"].stats_store))

    :param store: the store to read on every scrape.
    """

    def __init__(self, store: StatsStore) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        """The metric families, without reading the store."""
        return list(_families().values())

    def collect(self) -> Iterator[Metric]:
        """Read the store's lifetime totals into metric families.

        An unreadable store gives ``condpoll_stats_store_up 0`` alone.
        """
        families = _families()
        try:
            lifetime = self.store.lifetime()
        except StatsStoreError:
            families["up"].add_metric([], 0)
            yield families["up"]
            return
        families["up"].add_metric([], 1)
        rows = {row.endpoint: row for row in summarize(lifetime)}
        overflow = rows.pop(
            OVERFLOW, EndpointStats(OVERFLOW, dict.fromkeys(COUNTERS, 0))
        )
        families["dropped_requests"].add_metric([], overflow.requests)
        families["dropped_batches"].add_metric([], overflow.batches_dropped)
        families["store_errors"].add_metric([], overflow.store_errors)
        for row in rows.values():
            _add_endpoint(families, row)
        yield from families.values()


def _families() -> dict[str, t.Any]:
    endpoint = ["endpoint"]
    return {
        "requests": CounterMetricFamily(
            "condpoll_requests",
            "Requests answered by conditional views, by outcome.",
            labels=[*endpoint, "outcome"],
        ),
        "sent": CounterMetricFamily(
            "condpoll_sent_bytes",
            "Body bytes of every answer of known size (a 304 has none).",
            labels=endpoint,
        ),
        "saved": GaugeMetricFamily(
            "condpoll_saved_bytes",
            "Estimated bytes the 304s did not send: 304s times the mean size"
            " of a full GET response (absent until one was measured).",
            labels=endpoint,
        ),
        "saved_time": GaugeMetricFamily(
            "condpoll_saved_seconds",
            "Estimated server time the 304s saved: 304s times the difference"
            " of the mean full and 304 times.",
            labels=endpoint,
        ),
        "duration": HistogramMetricFamily(
            "condpoll_request_duration_seconds",
            "Time spent in the decorator: with the view on the full path,"
            " without it on the 304 path.",
            labels=[*endpoint, "path"],
        ),
        "generator_failures": CounterMetricFamily(
            "condpoll_generator_failures",
            "Version generators or mixins that raised (the request failed open).",
            labels=endpoint,
        ),
        "dropped_requests": CounterMetricFamily(
            "condpoll_stats_dropped_requests",
            "Requests not counted: the stats store was unreachable too long.",
        ),
        "dropped_batches": CounterMetricFamily(
            "condpoll_stats_dropped_batches",
            "Batches of counts given up after CONDPOLL_STATS_MAX_PENDING.",
        ),
        "store_errors": CounterMetricFamily(
            "condpoll_stats_store_errors",
            "Flushes that failed (counted once the store took a batch again).",
        ),
        "up": GaugeMetricFamily(
            "condpoll_stats_store_up", "Whether this scrape could read the store."
        ),
    }


def _add_endpoint(families: dict[str, t.Any], row: EndpointStats) -> None:
    name = row.endpoint
    for outcome in OUTCOMES:
        families["requests"].add_metric([name, outcome], row.counts[outcome])
    families["sent"].add_metric([name], row.bytes_sent)
    families["generator_failures"].add_metric([name], row.generator_failed)
    if row.bytes_saved is not None:
        families["saved"].add_metric([name], row.bytes_saved)
    if row.time_saved_ms is not None:
        families["saved_time"].add_metric([name], row.time_saved_ms / 1000)
    for path, prefix, total in _PATHS:
        running, buckets = 0, []
        for index, bound in enumerate(TIME_BOUNDS):
            running += row.counts[f"{prefix}_{index}"]
            buckets.append((repr(bound / 1_000_000), running))
        running += row.counts[f"{prefix}_{len(TIME_BOUNDS)}"]
        buckets.append(("+Inf", running))
        families["duration"].add_metric(
            [name, path], buckets, row.counts[total] / 1_000_000
        )


def metrics_blueprint(
    *, guard: Guard | None = None, name: str = "condpoll_metrics"
) -> Blueprint:
    """A blueprint serving the app's stats at ``/metrics`` for Prometheus.

    It answers in the OpenMetrics format when the scraper asks for it, else
    in Prometheus' text format. ::

        app.register_blueprint(metrics_blueprint(guard=from_a_scraper))  # GET /metrics

    :param guard: the app's access check, run before each request (see
        :data:`~flask_condpoll.stats.guard.Guard`).
    :param name: the blueprint's name, to register more than one.
    """
    blueprint = Blueprint(name, __name__)
    if guard is not None:
        blueprint.before_request(before_request(guard))

    @blueprint.get("/metrics")
    def metrics() -> Response:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        store = get_state(app).stats_store
        if store is None:
            abort(404, "Stats are off: set CONDPOLL_STATS_URL to collect them.")
        registry = CollectorRegistry()
        registry.register(StatsMetrics(store))
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        response: Response = app.response_class(
            encoder(registry), content_type=content_type
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint
