"""The Django peer of the benchmark's Flask app, configured in-process.

Only the instruction-count mode uses it (``J304``, ``JA`` and ``JD``): the
same SQLite file and table, the same 50 rows, the same markup.
"""

from __future__ import annotations

from pathlib import Path

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

TEMPLATES = Path(__file__).resolve().parent / "templates" / "django"


def create_app(database: str) -> WSGIHandler:
    """Configure Django for ``database`` and return its WSGI handler."""
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["localhost"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": database,
                # Keep the connection across requests, as SQLAlchemy's pool
                # does; Django's default opens a new one per request.
                "CONN_MAX_AGE": None,
            }
        },
        # No middleware: @condition evaluates the preconditions itself and
        # needs none (ConditionalGetMiddleware is for views without it).
        MIDDLEWARE=[],
        ROOT_URLCONF="benchmarks.django_views",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [str(TEMPLATES)],
            }
        ],
        USE_I18N=False,
        USE_TZ=False,  # the rows hold naive UTC, as SQLAlchemy wrote them
    )
    django.setup()
    return WSGIHandler()
