"""Front-ends: polling markup for htmx 2, htmx 4 and Unpoly 3, the Jinja
macros over it, and the small client files served at immutable URLs."""

from __future__ import annotations

from .blueprint import asset_url
from .blueprint import ASSETS
from .blueprint import blueprint
from .blueprint import condpoll_poll
from .blueprint import condpoll_scripts
from .blueprint import IMMUTABLE
from .blueprint import TEMPLATE_GLOBALS
from .prepare import condpoll_etag
from .prepare import prepare_poll

__all__ = [
    "ASSETS",
    "IMMUTABLE",
    "TEMPLATE_GLOBALS",
    "asset_url",
    "blueprint",
    "condpoll_etag",
    "condpoll_poll",
    "condpoll_scripts",
    "prepare_poll",
]
