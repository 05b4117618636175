"""A pytest plugin for ``make test-wheel``: import flask_condpoll from the
installed wheel instead of this checkout, so that the suite tests what users
install (``python -m pytest -p tests.installed``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _import_installed() -> Path:
    saved = sys.path[:]
    sys.path[:] = [entry for entry in saved if Path(entry or ".").resolve() != ROOT]
    try:
        import flask_condpoll
    finally:
        sys.path[:] = saved
    location = Path(flask_condpoll.__file__).resolve()
    if location.parent == ROOT / "flask_condpoll":
        raise RuntimeError(
            f"flask_condpoll was imported from the checkout ({location}), not"
            " from an installed wheel: install one first (make test-wheel)."
        )
    return location


INSTALLED = _import_installed()


def pytest_report_header() -> str:
    return f"flask_condpoll installed at {INSTALLED.parent}"
