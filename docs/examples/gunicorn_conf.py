"""gunicorn settings for an app that holds polls (``gunicorn -c gunicorn_conf.py``)."""

from flask_condpoll.waiting import release_on_signal

worker_class = "gevent"  # or "gthread" with threads above CONDPOLL_WAIT_MAX_HELD
worker_connections = 2000  # each held poll is one open connection
graceful_timeout = 35  # above the longest wait= of any view


def post_worker_init(worker):
    release_on_signal()  # a stopping worker answers its held polls at once
