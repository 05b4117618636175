"""Every ``CONDPOLL_*`` configuration key, read and checked in one place.

:meth:`Settings.from_config` turns an app's config into one immutable
:class:`Settings`; nothing else in the package reads ``app.config``. A wrong
type or value raises at :meth:`CondPoll.init_app
<flask_condpoll.CondPoll.init_app>`, with a message naming the key.

(Longer than most modules on purpose: it is the one table of every key, and
docs/config.rst is generated from it. The checks are in :mod:`.config_values`.)
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import typing as t
from collections.abc import Mapping

from . import config_values as values
from .config_values import Check
from .config_values import check_header_names
from .config_values import check_header_value
from .config_values import CLIENTS
from .config_values import MAX_POLL_FACTOR

__all__ = [
    "CLIENTS",
    "DEFAULTS",
    "KEYS",
    "Settings",
    "check_header_names",
    "check_header_value",
]

logger = logging.getLogger("flask_condpoll")


def _option(key: str, default: object, check: Check, doc: str) -> t.Any:
    return dataclasses.field(
        default=default, metadata={"key": key, "check": check, "doc": doc}
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    """One application's configuration, checked. Field docs are the config docs."""

    secret_key: str | bytes | None = _option(
        "CONDPOLL_SECRET_KEY",
        None,
        values.secret,
        "Key for the tag hash. ``None`` uses ``SECRET_KEY``; one of the two must"
        " be set when the extension is registered. Set it to keep tags stable"
        " when ``SECRET_KEY`` rotates.",
    )
    weak: bool | None = _option(
        "CONDPOLL_WEAK",
        None,
        values.optional_boolean,
        '``True`` sends weak tags (``W/"..."``), ``False`` strong ones, unless'
        " a view says ``weak=``. ``None``: weak, except on URLs where a"
        " conditional view takes writes, which need strong tags for If-Match.",
    )
    vary: tuple[str, ...] = _option(
        "CONDPOLL_VARY",
        ("HX-Request", "X-Up-Target"),
        values.vary,
        "Request headers mixed into every tag and listed in ``Vary``, unless a"
        " view says ``vary=``. A list or tuple (not a set or dict: the order"
        " counts); ``[]`` for none.",
    )
    cache_control: str | None = _option(
        "CONDPOLL_CACHE_CONTROL",
        "private, no-cache",
        values.header,
        "``Cache-Control`` for requests that are not polls, in visible ASCII."
        " ``None`` sends none.",
    )
    fragment_cache_control: str | None = _option(
        "CONDPOLL_FRAGMENT_CACHE_CONTROL",
        "no-store",
        values.header,
        "``Cache-Control`` for polls: requests with ``HX-Request`` or"
        " ``X-Up-Target``. In visible ASCII; ``None`` sends none.",
    )
    server_timing: bool | None = _option(
        "CONDPOLL_SERVER_TIMING",
        None,
        values.optional_boolean,
        "Send a ``Server-Timing`` header with every conditional answer: why it"
        " is a 304 or a 200, and the time spent on the version, the decision"
        " and the view (see :doc:`stats`). ``None``: only in debug mode (as"
        " known when the extension is registered); ``True``; ``False``.",
    )
    registry_url: str | None = _option(
        "CONDPOLL_REGISTRY_URL",
        "memory://",
        values.registry_url,
        'The version registry behind ``table_version``: ``"memory://"`` (one'
        " process), a ``redis://`` URL, or ``None`` for none.",
    )
    registry_prefix: str = _option(
        "CONDPOLL_REGISTRY_PREFIX",
        "condpoll:",
        values.text,
        "Prefix of the registry's Redis keys.",
    )
    registry_timeout: float = _option(
        "CONDPOLL_REGISTRY_TIMEOUT",
        0.25,
        values.number(0),
        "Seconds to wait for Redis to connect or answer before failing open.",
    )
    registry_clock_skew: float = _option(
        "CONDPOLL_REGISTRY_CLOCK_SKEW",
        1.0,
        values.number(0, strict=False),
        "Seconds by which the clocks of the hosts sharing a registry may differ."
        " A registry version bumped this close to the start of a request's"
        " database snapshot is not trusted (see :doc:`sqlalchemy`).",
    )
    client: str = _option(
        "CONDPOLL_CLIENT",
        "htmx2",
        values.client,
        'The polling client the macros emit markup for: ``"htmx2"``,'
        ' ``"htmx4"`` or ``"unpoly"``.',
    )
    library_url: str | None = _option(
        "CONDPOLL_LIBRARY_URL",
        None,
        values.optional_text,
        "URL of htmx or Unpoly for the ``scripts`` macro.",
    )
    extension_url: str | None = _option(
        "CONDPOLL_EXTENSION_URL",
        None,
        values.optional_text,
        "URL of htmx 4's ``hx-ptag`` extension for the ``scripts`` macro.",
    )
    wait_max_held: int = _option(
        "CONDPOLL_WAIT_MAX_HELD",
        100,
        values.count,
        "How many polls one process may hold at once (views with ``wait=``);"
        " beyond it, polls are answered at once. Under gunicorn's gthread"
        " workers keep it below ``--threads``.",
    )
    wait_recheck: float = _option(
        "CONDPOLL_WAIT_RECHECK",
        1.0,
        values.number(0),
        "Seconds between checks of a held poll whose generator has no registry"
        " names to be woken by (aggregate queries): each check runs it again.",
    )
    wait_jitter: float = _option(
        "CONDPOLL_WAIT_JITTER",
        0.2,
        values.fraction,
        "Up to this fraction of a hold's timeout is cut at random, so held"
        " clients do not all come back at once.",
    )
    poll_factor: float = _option(
        "CONDPOLL_POLL_FACTOR",
        1.0,
        values.number(0, strict=False, high=MAX_POLL_FACTOR),
        "Every declared poll interval is multiplied by this (``2``: half as"
        " many polls); ``0`` stops polling, as GitLab's multiplier. ``flask"
        " condpoll polling`` changes it at run time. See :doc:`polling`.",
    )
    poll_resume_check: float | None = _option(
        "CONDPOLL_POLL_RESUME_CHECK",
        60.0,
        values.optional_number(1),
        "While polling is stopped, each poller asks again this often"
        " (``Retry-After``), so resuming needs no reload. ``None``: stopped"
        " pollers wait for a page reload.",
    )
    poll_jitter: float = _option(
        "CONDPOLL_POLL_JITTER",
        0.1,
        values.fraction,
        "Each wait is spread randomly by this fraction (``0.1``: ±10 %), so"
        " pages loaded together do not poll in lock-step.",
    )
    poll_backoff_cap: float = _option(
        "CONDPOLL_POLL_BACKOFF_CAP",
        120.0,
        values.number(0),
        "After errors (5xx, timeouts, network), each wait doubles up to this"
        " many seconds; the first success resets it.",
    )
    poll_timeout: float = _option(
        "CONDPOLL_POLL_TIMEOUT",
        30.0,
        values.number(0),
        "Seconds after which an unanswered poll counts as an error.",
    )
    poll_pause_hidden: bool = _option(
        "CONDPOLL_POLL_PAUSE_HIDDEN",
        True,
        values.boolean,
        "No polls while the page is hidden; one at once on return if a wait"
        " has passed. The ``poll`` macro's ``pause_hidden`` overrides it.",
    )
    stats_url: str | None = _option(
        "CONDPOLL_STATS_URL",
        "sqlite:///condpoll-stats.sqlite3",
        values.stats_url,
        "The stats store: ``sqlite:///`` (relative to the instance folder), a"
        " ``redis://`` URL, or ``None`` to collect nothing. See :doc:`stats`.",
    )
    stats_prefix: str = _option(
        "CONDPOLL_STATS_PREFIX",
        "condpoll:",
        values.text,
        "Prefix of the stats' Redis keys.",
    )
    stats_bucket: int = _option(
        "CONDPOLL_STATS_BUCKET",
        60,
        values.count,
        "Seconds per time bucket (the resolution of ``--since``).",
    )
    stats_retention: float = _option(
        "CONDPOLL_STATS_RETENTION",
        7 * 86400,
        values.number(0),
        "Seconds of history kept (7 days).",
    )
    stats_flush_count: int = _option(
        "CONDPOLL_STATS_FLUSH_COUNT",
        1000,
        values.count,
        "A process flushes its counts after this many requests...",
    )
    stats_flush_interval: float = _option(
        "CONDPOLL_STATS_FLUSH_INTERVAL",
        1.0,
        values.number(0),
        "...or after this many seconds, and at exit: the loss window on a crash.",
    )
    stats_max_pending: int = _option(
        "CONDPOLL_STATS_MAX_PENDING",
        600,
        values.count,
        "Batches kept while the stats store is unreachable; older ones become"
        " overflow.",
    )

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any]) -> Settings:
        """Read and check every ``CONDPOLL_*`` key of ``config``.

        Missing keys take their defaults. An unknown ``CONDPOLL_*`` key is
        logged with the closest known one, since it would otherwise be
        silently ignored.

        :raises TypeError: for a value of the wrong type, naming the key.
        :raises ValueError: for a value out of range, naming the key.
        """
        values = {}
        for field in dataclasses.fields(cls):
            key = field.metadata["key"]
            if key in config:
                values[field.name] = field.metadata["check"](key, config[key])
        unknown = sorted(set(k for k in config if k.startswith("CONDPOLL_")) - KEYS)
        for key in unknown:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            logger.warning("Unknown configuration key %s is ignored.%s", key, hint)
        return cls(**values)


#: Every configuration key, with its default.
DEFAULTS: dict[str, object] = {
    field.metadata["key"]: field.default for field in dataclasses.fields(Settings)
}
KEYS = frozenset(DEFAULTS)
