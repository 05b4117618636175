"""Every ``CONDPOLL_*`` key is checked at ``init_app``, naming the key; the
docs list exactly the keys and defaults the code has."""

from __future__ import annotations

import dataclasses
import logging
import pathlib

import pytest
from flask import Flask

from flask_condpoll import CondPoll
from flask_condpoll.settings import DEFAULTS
from flask_condpoll.settings import Settings

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "config.rst"


def register(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "s", "CONDPOLL_STATS_URL": None, **config})
    CondPoll(app)
    return app


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("CONDPOLL_SECRET_KEY", 12345, TypeError),
        ("CONDPOLL_SECRET_KEY", "", ValueError),
        ("CONDPOLL_WEAK", "false", TypeError),
        ("CONDPOLL_WEAK", 0, TypeError),
        ("CONDPOLL_VARY", None, TypeError),
        ("CONDPOLL_VARY", "HX-Request", TypeError),
        ("CONDPOLL_VARY", ["HX Request"], ValueError),
        ("CONDPOLL_VARY", [42], ValueError),
        ("CONDPOLL_CACHE_CONTROL", 60, TypeError),
        ("CONDPOLL_CACHE_CONTROL", "no-store\r\nX: y", ValueError),
        ("CONDPOLL_CACHE_CONTROL", "  ", ValueError),
        ("CONDPOLL_POLL_FACTOR", 1e7, ValueError),
        ("CONDPOLL_POLL_FACTOR", float("inf"), ValueError),
        ("CONDPOLL_FRAGMENT_CACHE_CONTROL", ["no-store"], TypeError),
        ("CONDPOLL_SERVER_TIMING", "true", TypeError),
        ("CONDPOLL_SERVER_TIMING", 1, TypeError),
        ("CONDPOLL_REGISTRY_URL", "memcached://x", ValueError),
        ("CONDPOLL_REGISTRY_URL", False, ValueError),
        ("CONDPOLL_REGISTRY_PREFIX", None, TypeError),
        ("CONDPOLL_REGISTRY_TIMEOUT", "0.25", TypeError),
        ("CONDPOLL_REGISTRY_TIMEOUT", 0, ValueError),
        ("CONDPOLL_REGISTRY_TIMEOUT", -1, ValueError),
        ("CONDPOLL_REGISTRY_TIMEOUT", float("nan"), ValueError),
        ("CONDPOLL_REGISTRY_TIMEOUT", True, TypeError),
        ("CONDPOLL_REGISTRY_CLOCK_SKEW", -0.5, ValueError),
        ("CONDPOLL_CLIENT", "jquery", ValueError),
        ("CONDPOLL_CLIENT", None, ValueError),
        ("CONDPOLL_LIBRARY_URL", 42, TypeError),
        ("CONDPOLL_EXTENSION_URL", ["/x.js"], TypeError),
        ("CONDPOLL_POLL_FACTOR", -1, ValueError),
        ("CONDPOLL_POLL_FACTOR", "2", TypeError),
        ("CONDPOLL_POLL_FACTOR", float("inf"), ValueError),
        ("CONDPOLL_POLL_RESUME_CHECK", 0.5, ValueError),
        ("CONDPOLL_POLL_RESUME_CHECK", "60", TypeError),
        ("CONDPOLL_POLL_JITTER", 1, ValueError),
        ("CONDPOLL_POLL_JITTER", -0.1, ValueError),
        ("CONDPOLL_POLL_JITTER", None, TypeError),
        ("CONDPOLL_POLL_BACKOFF_CAP", 0, ValueError),
        ("CONDPOLL_POLL_BACKOFF_CAP", True, TypeError),
        ("CONDPOLL_POLL_TIMEOUT", -1, ValueError),
        ("CONDPOLL_POLL_TIMEOUT", None, TypeError),
        ("CONDPOLL_POLL_PAUSE_HIDDEN", "yes", TypeError),
        ("CONDPOLL_STATS_URL", False, ValueError),
        ("CONDPOLL_STATS_URL", "sqlite:///", ValueError),
        ("CONDPOLL_STATS_URL", "postgresql://db/stats", ValueError),
        ("CONDPOLL_STATS_PREFIX", 1, TypeError),
        ("CONDPOLL_STATS_BUCKET", 0, ValueError),
        ("CONDPOLL_STATS_BUCKET", "60", TypeError),
        ("CONDPOLL_STATS_BUCKET", 1.5, TypeError),
        ("CONDPOLL_STATS_BUCKET", True, TypeError),
        ("CONDPOLL_STATS_RETENTION", 0, ValueError),
        ("CONDPOLL_STATS_FLUSH_COUNT", 0, ValueError),
        ("CONDPOLL_STATS_FLUSH_INTERVAL", "1", TypeError),
        ("CONDPOLL_STATS_FLUSH_INTERVAL", float("inf"), ValueError),
        ("CONDPOLL_STATS_MAX_PENDING", -1, ValueError),
        ("CONDPOLL_VARY", {"Accept-Language": "de"}, TypeError),
        ("CONDPOLL_VARY", {"HX-Request"}, TypeError),
        ("CONDPOLL_CACHE_CONTROL", "private, max\u2011age=60", ValueError),
        ("CONDPOLL_FRAGMENT_CACHE_CONTROL", "no-store\u00a0", ValueError),
    ],
)
def test_wrong_values_fail_at_init_app_naming_the_key(key, value, error):
    with pytest.raises(error, match=key):
        register(**{key: value})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CONDPOLL_WEAK", False),
        ("CONDPOLL_WEAK", None),
        ("CONDPOLL_VARY", []),
        ("CONDPOLL_VARY", ("HX-Request",)),
        ("CONDPOLL_CACHE_CONTROL", None),
        ("CONDPOLL_REGISTRY_URL", None),
        ("CONDPOLL_REGISTRY_TIMEOUT", 1),
        ("CONDPOLL_REGISTRY_CLOCK_SKEW", 0),
        ("CONDPOLL_STATS_URL", None),
        ("CONDPOLL_SECRET_KEY", b"bytes work too"),
        ("CONDPOLL_POLL_FACTOR", 0),
        ("CONDPOLL_POLL_FACTOR", 2.5),
        ("CONDPOLL_POLL_RESUME_CHECK", None),
        ("CONDPOLL_POLL_JITTER", 0),
        ("CONDPOLL_POLL_PAUSE_HIDDEN", False),
    ],
)
def test_good_values(key, value):
    register(**{key: value})


def test_missing_secret_is_reported_at_start_up():
    app = Flask(__name__)
    with pytest.raises(RuntimeError, match="SECRET_KEY or CONDPOLL_SECRET_KEY"):
        CondPoll(app)


def test_condpoll_secret_key_alone_is_enough():
    app = Flask(__name__)
    app.config["CONDPOLL_SECRET_KEY"] = "only this"
    CondPoll(app)


def test_unknown_keys_are_reported_with_a_suggestion(caplog):
    with caplog.at_level(logging.WARNING, logger="flask_condpoll"):
        register(CONDPOLL_REGISTY_URL="redis://x")
    assert "Unknown configuration key CONDPOLL_REGISTY_URL" in caplog.text
    assert "Did you mean CONDPOLL_REGISTRY_URL?" in caplog.text


def test_settings_are_immutable():
    app = register()
    settings = app.extensions["condpoll"].settings
    with pytest.raises(AttributeError):
        settings.weak = True


def test_defaults_go_into_the_config():
    app = register()
    for key, default in DEFAULTS.items():
        if key != "CONDPOLL_STATS_URL":
            assert app.config[key] == default


def test_the_docs_table_is_generated_from_the_settings():
    from docs.config_table import render

    table = render()
    for field in dataclasses.fields(Settings):
        default = repr(field.default).replace("'", '"')
        assert f"``{field.metadata['key']}``\n     - ``{default}``" in table
    assert "_generated/config_table.rst" in DOCS.read_text()


def test_every_field_has_a_key_and_a_doc():
    keys = [field.metadata["key"] for field in dataclasses.fields(Settings)]
    assert len(set(keys)) == len(keys)
    for field in dataclasses.fields(Settings):
        assert field.metadata["key"].startswith("CONDPOLL_")
        assert len(field.metadata["doc"]) > 20, field.name
