"""The :class:`CondPoll` extension object: the composition root.

It imports the pieces (settings, state, registry, stats, front-end, CLI) and
wires them into an application; nothing in the package imports it.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable

from flask import current_app
from flask import Flask

from . import checks
from .cli import cli
from .frontend import blueprint
from .frontend import TEMPLATE_GLOBALS
from .polling import PollControl
from .polling import Steering
from .polling import store_for
from .registry import registry_from_url
from .registry import whole_table
from .settings import DEFAULTS
from .settings import Settings
from .state import CondPollState
from .state import get_state
from .stats import Collector
from .stats import store_from_url
from .timing import add_server_timing
from .timing import enabled

Mixin = Callable[[], object]
F = t.TypeVar("F", bound=Mixin)


class CondPoll:
    """Conditional requests for Flask views.

    Register it with an application directly or through :meth:`init_app`::

        condpoll = CondPoll(app)

    :param app: the application to register with now.
    """

    def __init__(self, app: Flask | None = None) -> None:
        self._mixins: list[Mixin] = []
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension with ``app`` and read its configuration.

        Every ``CONDPOLL_*`` key is checked here (see :doc:`/config`), so
        a wrong value fails now, naming the key, rather than on a request.

        :raises RuntimeError: if a :class:`CondPoll` is already registered on
            ``app``, or if neither ``SECRET_KEY`` nor ``CONDPOLL_SECRET_KEY``
            is set.
        :raises TypeError: for a setting of the wrong type.
        :raises ValueError: for a setting out of range.
        """
        if "condpoll" in app.extensions:
            raise RuntimeError(
                "A 'CondPoll' instance has already been registered on this Flask"
                " app. Import and use that instance instead."
            )
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        settings = Settings.from_config(app.config)
        secret = settings.secret_key or app.secret_key
        if not isinstance(secret, str | bytes) or not secret:
            raise RuntimeError(
                "flask-condpoll needs a key for its ETags: set SECRET_KEY or"
                " CONDPOLL_SECRET_KEY (a string) in the app config before"
                " calling init_app()."
            )
        registry = registry_from_url(
            settings.registry_url,
            prefix=settings.registry_prefix,
            timeout=settings.registry_timeout,
        )
        store = store_from_url(
            settings.stats_url,
            instance_path=app.instance_path,
            prefix=settings.stats_prefix,
            retention=settings.stats_retention,
        )
        collector = None
        if store is not None:
            collector = Collector(
                store,
                bucket_seconds=settings.stats_bucket,
                flush_count=settings.stats_flush_count,
                flush_interval=settings.stats_flush_interval,
                max_pending=settings.stats_max_pending,
            )
        control = PollControl(
            store_for(
                app.instance_path,
                [
                    (
                        getattr(registry, "client", None),
                        f"{settings.registry_prefix}polling",
                    ),
                    (getattr(store, "client", None), f"{settings.stats_prefix}polling"),
                ],
            ),
            factor=settings.poll_factor,
        )
        state = app.extensions["condpoll"] = CondPollState(
            app,
            settings,
            secret=secret,
            mixins=self._mixins,
            registry=registry,
            stats_store=store,
            stats=collector,
            polling=control,
        )
        state.response_hooks.append(Steering(control, settings.poll_resume_check))
        if enabled(settings.server_timing, app.debug):
            state.response_hooks.append(add_server_timing)
        app.register_blueprint(blueprint)
        app.jinja_env.globals.update(TEMPLATE_GLOBALS)
        app.cli.add_command(cli)
        checks.install(app)

    @property
    def mixins(self) -> tuple[Mixin, ...]:
        """The registered ETag mixins, in registration order."""
        return tuple(self._mixins)

    def etag_mixin(self, func: F) -> F:
        """Register a function whose value is mixed into every ETag.

        Use it for whatever selects a different page for the same URL and
        data: the current user, the locale, a deploy id. It is called with no
        arguments once per conditional request; if it raises, the request
        fails open like a failing generator. A view opts out with
        ``@conditional(..., app_mixins=False)``. ::

            @condpoll.etag_mixin
            def current_user_id():
                return session.get("user_id")

        :raises TypeError: if ``func`` is not callable.
        """
        if not callable(func):
            raise TypeError(f"etag_mixin() needs a function, not {func!r}.")
        self._mixins.append(func)
        return func

    def touch(self, *targets: t.Any) -> None:
        """Bump the registry version of tables changed behind its back.

        Call it after writes the session listeners cannot see: ``text()``
        statements, other programs, triggers, imports. Every partitioned
        version of the tables changes too. ::

            condpoll.touch(Notification)        # a mapped class
            condpoll.touch("audit_log")         # a table name

        :param targets: table names, :class:`~sqlalchemy.schema.Table` objects
            or mapped classes.
        :raises RuntimeError: if the app has no registry.
        """
        tables: list[str] = []
        for target in targets:
            if isinstance(target, str):
                tables.append(target)
            else:
                from .sqlalchemy.names import table_names

                tables.extend(table_names(target))
        state = get_state(current_app._get_current_object())  # type: ignore[attr-defined]
        state.require_registry().bump(
            [name for table in tables for name in whole_table(table)]
        )
