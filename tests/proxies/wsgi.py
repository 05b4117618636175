"""What gunicorn serves behind the proxies: the example app, the quickstart's
write API under ``/api`` and a public fragment under ``/shared``.

``DATABASE_URL`` names the (seeded) example database.
"""

from __future__ import annotations

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_condpoll.settings import DEFAULTS

DEFAULTS["CONDPOLL_STATS_URL"] = None  # no stats files, as in every test

from docs.examples import quickstart  # noqa: E402
from docs.examples import shared_fragment  # noqa: E402
from example_app import create_app  # noqa: E402

#: Seconds between the example page's status polls.
POLL_INTERVAL = 0.5

example = create_app({"EXAMPLE_POLL_INTERVAL": POLL_INTERVAL})
app = DispatcherMiddleware(
    example, {"/api": quickstart.app, "/shared": shared_fragment.app}
)
