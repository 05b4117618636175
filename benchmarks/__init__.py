"""flask-condpoll's benchmarks: see ``docs/benchmarks.rst``."""

USER = 7  # every scenario renders this user's 50 newest notifications
