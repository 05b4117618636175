"""Prometheus metrics of the stats: a blueprint, or a WSGI app on its own path."""

import ipaddress

from flask import Flask
from flask import request
from prometheus_client import CollectorRegistry
from prometheus_client import make_wsgi_app
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_condpoll import conditional
from flask_condpoll import CondPoll
from flask_condpoll.stats.metrics import metrics_blueprint
from flask_condpoll.stats.metrics import StatsMetrics

SCRAPERS = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.0.0.0/8")]


def from_a_scraper():
    """Only Prometheus may read the numbers (behind a proxy, use ProxyFix)."""
    address = ipaddress.ip_address(request.remote_addr)
    return any(address in network for network in SCRAPERS)


def create_app(stats_url="sqlite:///condpoll-stats.sqlite3"):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="change me", CONDPOLL_STATS_URL=stats_url)
    CondPoll(app)
    app.register_blueprint(metrics_blueprint(guard=from_a_scraper))  # GET /metrics

    @app.get("/status")
    @conditional(etag=lambda: "all good")
    def status():
        return "all good"

    return app


def mount_metrics(app, path="/internal/metrics"):
    """The same numbers from prometheus_client's own WSGI app, in a registry
    you may fill with other collectors too."""
    registry = CollectorRegistry()
    registry.register(StatsMetrics(app.extensions["condpoll"].stats_store))
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {path: make_wsgi_app(registry)})
