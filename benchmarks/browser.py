"""Headless Chromium (Debian's package), the polling clients from
node_modules, and a loopback server: what the browser tests and the latency
benchmark share."""

from __future__ import annotations

import contextlib
import shutil
import threading
import typing as t
from collections.abc import Iterator
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
#: No sandbox or GPU in a container, and no trips to the internet.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
#: Each client's library, inside node_modules (installed by ``npm ci``).
LIBRARIES = {
    "htmx2": "htmx2/dist/htmx.min.js",
    "htmx4": "htmx4/dist/htmx.min.js",
    "unpoly": "unpoly/unpoly.min.js",
}
#: htmx 4's ``hx-ptag`` extension, which sends the tags.
PTAG = "htmx4/dist/ext/hx-ptag.js"


def missing() -> tuple[str, str] | None:
    """What keeps Chromium from running the clients, as ``(what, why)``,
    or ``None`` when nothing does."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return "Playwright", str(exc)
    if shutil.which(CHROMIUM) is None:
        return "Chromium", f"{CHROMIUM} is not installed"
    files = (*LIBRARIES.values(), PTAG)
    absent = [path for path in files if not (NODE_MODULES / path).is_file()]
    if absent:
        return "The npm packages", f"{absent} missing: run 'npm ci'"
    return None


def launch(playwright: t.Any) -> t.Any:
    """Start headless Chromium from a running ``sync_playwright()``."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=FLAGS
    )


@contextlib.contextmanager
def serving(app: t.Any) -> Iterator[str]:
    """Serve ``app`` on a loopback port from a thread; yield its URL.

    Werkzeug's server runs each request in its own thread, so a held poll
    does not block the others.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()
