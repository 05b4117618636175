"""The :class:`CondPoll` extension object and its per-application state."""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from collections.abc import Iterable

from flask import current_app
from flask import Flask

from .etag import derive_key
from .etag import TagMaker
from .markup import check_client
from .registry import registry_from_url
from .registry import VersionRegistry
from .stats import Collector
from .stats_store import StatsStore
from .stats_store import store_from_url

if t.TYPE_CHECKING:
    from .conditional import Declaration

#: Configuration keys and their defaults.
DEFAULTS: dict[str, object] = {
    "CONDPOLL_SECRET_KEY": None,
    "CONDPOLL_WEAK": True,
    "CONDPOLL_VARY": ("HX-Request", "X-Up-Target"),
    "CONDPOLL_CACHE_CONTROL": "private, no-cache",
    "CONDPOLL_FRAGMENT_CACHE_CONTROL": "no-store",
    "CONDPOLL_REGISTRY_URL": "memory://",
    "CONDPOLL_REGISTRY_PREFIX": "condpoll:",
    "CONDPOLL_REGISTRY_TIMEOUT": 0.25,
    "CONDPOLL_CLIENT": "htmx2",
    "CONDPOLL_LIBRARY_URL": None,
    "CONDPOLL_EXTENSION_URL": None,
    "CONDPOLL_STATS_URL": "sqlite:///condpoll-stats.sqlite3",
    "CONDPOLL_STATS_PREFIX": "condpoll:",
    "CONDPOLL_STATS_BUCKET": 60,
    "CONDPOLL_STATS_RETENTION": 7 * 86400,
    "CONDPOLL_STATS_FLUSH_COUNT": 1000,
    "CONDPOLL_STATS_FLUSH_INTERVAL": 1.0,
    "CONDPOLL_STATS_MAX_PENDING": 600,
}

#: Request headers sent by polling clients (htmx, Unpoly). A request carrying
#: one of them gets ``CONDPOLL_FRAGMENT_CACHE_CONTROL``.
FRAGMENT_HEADERS = ("HX-Request", "X-Up-Target")


def environ_key(header: str) -> str:
    """The WSGI environ key holding a request header."""
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"


FRAGMENT_ENVIRON = tuple(map(environ_key, FRAGMENT_HEADERS))

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

        :raises RuntimeError: if a :class:`CondPoll` is already registered on
            ``app``.
        """
        if "condpoll" in app.extensions:
            raise RuntimeError(
                "A 'CondPoll' instance has already been registered on this Flask"
                " app. Import and use that instance instead."
            )
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        app.extensions["condpoll"] = CondPollState(self, app)
        from .frontend import blueprint
        from .frontend import TEMPLATE_GLOBALS

        app.register_blueprint(blueprint)
        app.jinja_env.globals.update(TEMPLATE_GLOBALS)
        from .cli import cli

        app.cli.add_command(cli)

    @property
    def mixins(self) -> tuple[Mixin, ...]:
        """The registered ETag mixins, in registration order."""
        return tuple(self._mixins)

    def etag_mixin(self, func: F) -> F:
        """Register a function whose value is mixed into every ETag.

        Use it for whatever selects a different page for the same URL and
        data: the current user, the locale, a deploy id. It is called with no
        arguments once per conditional request; if it raises, the request
        fails open like a failing generator. ::

            @condpoll.etag_mixin
            def current_user_id():
                return session.get("user_id")
        """
        self._mixins.append(func)
        return func

    def touch(self, *targets: t.Any) -> None:
        """Bump the registry version of tables changed behind its back.

        Call it after writes the session listeners cannot see: raw SQL on
        another connection, other programs, imports. Partitioned versions of
        the tables change too. ::

            condpoll.touch(Notification)        # a mapped class
            condpoll.touch("audit_log")         # a table name

        :param targets: table names, :class:`~sqlalchemy.schema.Table` objects
            or mapped classes.
        :raises RuntimeError: if the app has no registry.
        """
        state: CondPollState = current_app.extensions["condpoll"]
        names: list[str] = []
        for target in targets:
            if isinstance(target, str):
                names.append(target)
            else:
                from .tracking import table_names

                names.extend(table_names(target))
        state.require_registry().bump([*names, *(f"{n}|*" for n in names)])


class Resolved(t.NamedTuple):
    """A view's declaration resolved against one application's config."""

    weak: bool
    vary: tuple[str, ...]
    vary_header: str
    vary_environ: tuple[str, ...]
    cache_control: str | None
    fragment_cache_control: str | None


class CondPollState:
    """Per-application state, in ``app.extensions["condpoll"]``.

    Configuration is read once, when :meth:`CondPoll.init_app` runs.
    """

    def __init__(self, extension: CondPoll, app: Flask) -> None:
        config = app.config
        self.extension = extension
        #: The extension's mixins: the same list, so later registrations count.
        self.mixins: list[Mixin] = extension._mixins
        check_client(config["CONDPOLL_CLIENT"])
        self.weak = bool(config["CONDPOLL_WEAK"])
        self.vary = check_header_names(config["CONDPOLL_VARY"], "CONDPOLL_VARY")
        self.cache_control: str | None = config["CONDPOLL_CACHE_CONTROL"]
        self.fragment_cache_control: str | None = config[
            "CONDPOLL_FRAGMENT_CACHE_CONTROL"
        ]
        self.registry: VersionRegistry | None = registry_from_url(
            config["CONDPOLL_REGISTRY_URL"],
            prefix=config["CONDPOLL_REGISTRY_PREFIX"],
            timeout=config["CONDPOLL_REGISTRY_TIMEOUT"],
        )
        self.stats_store: StatsStore | None = store_from_url(
            config["CONDPOLL_STATS_URL"],
            instance_path=app.instance_path,
            prefix=config["CONDPOLL_STATS_PREFIX"],
            retention=config["CONDPOLL_STATS_RETENTION"],
        )
        self.stats: Collector | None = None
        if self.stats_store is not None:
            self.stats = Collector(
                self.stats_store,
                bucket_seconds=config["CONDPOLL_STATS_BUCKET"],
                flush_count=config["CONDPOLL_STATS_FLUSH_COUNT"],
                flush_interval=config["CONDPOLL_STATS_FLUSH_INTERVAL"],
                max_pending=config["CONDPOLL_STATS_MAX_PENDING"],
            )
            self.stats.connect(app)
        self._app = app
        self._tags: TagMaker | None = None
        self._resolved: dict[Declaration, Resolved] = {}
        #: ``(endpoint, exception type)`` of generators failing right now.
        self.failing: set[tuple[str | None, type[Exception]]] = set()

    @property
    def tags(self) -> TagMaker:
        """The tag maker, keyed from ``CONDPOLL_SECRET_KEY`` or ``SECRET_KEY``.

        The key is derived on first use, so the secret may be configured
        after :meth:`CondPoll.init_app`.

        :raises RuntimeError: if neither key is set.
        """
        if self._tags is None:
            secret = self._app.config["CONDPOLL_SECRET_KEY"] or self._app.secret_key
            if not secret:
                raise RuntimeError(
                    "flask-condpoll needs a key for its ETags: set SECRET_KEY or"
                    " CONDPOLL_SECRET_KEY in the app config."
                )
            self._tags = TagMaker(derive_key(secret))
        return self._tags

    def require_registry(self) -> VersionRegistry:
        """Return the version registry.

        :raises RuntimeError: if ``CONDPOLL_REGISTRY_URL`` is ``None``.
        """
        if self.registry is None:
            raise RuntimeError(
                "This app has no version registry: set CONDPOLL_REGISTRY_URL to"
                " 'memory://' or a 'redis://' URL."
            )
        return self.registry

    def resolve(self, declaration: Declaration) -> Resolved:
        """Return ``declaration``'s settings with config defaults filled in."""
        try:
            return self._resolved[declaration]
        except KeyError:
            pass
        vary = self.vary if declaration.vary is None else declaration.vary
        if declaration.cache_control is None:
            page, fragment = self.cache_control, self.fragment_cache_control
        else:
            page = fragment = declaration.cache_control
        resolved = Resolved(
            weak=self.weak if declaration.weak is None else declaration.weak,
            vary=vary,
            vary_header=", ".join(vary),
            vary_environ=tuple(map(environ_key, vary)),
            cache_control=page,
            fragment_cache_control=fragment,
        )
        self._resolved[declaration] = resolved
        return resolved


def check_header_names(names: Iterable[str] | str, setting: str) -> tuple[str, ...]:
    """Validate a list of request header names from config or a decorator.

    :raises TypeError: for a single string instead of a list.
    :raises ValueError: for a name that is not a valid header name.
    """
    if isinstance(names, str):
        raise TypeError(
            f"{setting} must be a list of header names, not the string {names!r};"
            f" write [{names!r}]."
        )
    result = tuple(names)
    for name in result:
        if not name or not all(33 <= ord(c) < 127 and c not in ':,"' for c in name):
            raise ValueError(f"{setting} contains an invalid header name: {name!r}.")
    return result
