"""Checks for single configuration values: each returns the value it accepts
or raises with a message that names the setting and the fix."""

from __future__ import annotations

import math
import typing as t
from collections.abc import Callable
from collections.abc import Sequence

from werkzeug.urls import iri_to_uri

#: The supported polling clients.
CLIENTS = ("htmx2", "htmx4", "unpoly")

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

Check = Callable[[str, t.Any], t.Any]


def check_header_names(names: object, setting: str) -> tuple[str, ...]:
    """Validate a list of request header names from config or a decorator.

    :raises TypeError: for a string, a dict, a set or another non-list: the
        order of the names is part of the tag, so it must be fixed.
    :raises ValueError: for a name that is not a valid header name.
    """
    if isinstance(names, str | bytes):
        raise TypeError(
            f"{setting} must be a list of header names, not the string {names!r};"
            f" write [{names!r}]."
        )
    if not isinstance(names, Sequence):
        raise TypeError(
            f"{setting} must be a list of header names such as ['HX-Request'],"
            f" not {names!r}; use [] for none."
        )
    result = tuple(names)
    for name in result:
        if not (
            isinstance(name, str)
            and name
            and all(33 <= ord(c) < 127 and c not in ':,"()/;<=>?@[\\]{}' for c in name)
        ):
            raise ValueError(f"{setting} contains an invalid header name: {name!r}.")
    return result


def check_header_value(value: object, setting: str) -> str | None:
    """Validate a response header value (or ``None`` for no header)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{setting} must be a string or None, not {value!r}.")
    if any(c in value for c in "\r\n\x00"):
        raise ValueError(f"{setting} must not contain line breaks: {value!r}.")
    return value


def check_ascii_value(value: object, setting: str) -> str | None:
    """Validate a response header value that goes out as is (``Cache-Control``):
    visible ASCII, spaces and tabs (RFC 9110 §5.5), or ``None``.

    :raises TypeError: for a value that is not a string.
    :raises ValueError: for a line break or any other character.
    """
    checked = check_header_value(value, setting)
    if checked and not checked.strip(" \t"):
        raise ValueError(
            f"{setting} must not be blank: {checked!r}. Use None for no header."
        )
    if checked is not None:
        for char in checked:
            if not ("!" <= char <= "~" or char in " \t"):
                raise ValueError(
                    f"{setting} must be visible ASCII, spaces and tabs, not"
                    f" {checked!r}: {char!r} cannot be sent in a header."
                )
    return checked


def check_uri_reference(value: object, setting: str) -> str | None:
    """Validate a URI reference sent in a header (``Content-Location``), or
    ``None``. Non-ASCII characters are fine: Werkzeug percent-encodes them.

    :raises TypeError: for a value that is not a string.
    :raises ValueError: for a control character, or a value that is no URI.
    """
    checked = check_header_value(value, setting)
    if checked is not None:
        if not checked.strip(" \t"):
            raise ValueError(f"{setting} must be a URI reference, not {checked!r}.")
        if any(char < " " or char == "\x7f" for char in checked):
            raise ValueError(
                f"{setting} must not contain control characters: {checked!r}."
            )
        try:
            iri_to_uri(checked)
        except ValueError as exc:
            raise ValueError(
                f"{setting} must be a URI reference, not {checked!r}: {exc}."
            ) from None
    return checked


def boolean(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{key} must be True or False, not {value!r}.")
    return value


def optional_boolean(key: str, value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{key} must be True, False or None, not {value!r}.")
    return value


#: The largest polling factor, configured or set at run time.
MAX_POLL_FACTOR = 1e6


def number(low: float, *, strict: bool = True, high: float | None = None) -> Check:
    """A real number above ``low`` (or at least ``low`` when not strict), and
    at most ``high`` if given."""

    def check(key: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{key} must be a number of seconds, not {value!r}.")
        if high is not None and not low <= value <= high:
            raise ValueError(f"{key} must be from {low:g} to {high:g}, not {value!r}.")
        if not math.isfinite(value) or value < low or (strict and value == low):
            relation = "more than" if strict else "at least"
            raise ValueError(f"{key} must be {relation} {low:g}, not {value!r}.")
        return float(value)

    return check


def optional_number(low: float) -> Check:
    """``None``, or a number of seconds of at least ``low``."""
    check = number(low, strict=False)
    return lambda key, value: None if value is None else check(key, value)


def fraction(key: str, value: object) -> float:
    fraction: float = number(0, strict=False)(key, value)
    if fraction >= 1:
        raise ValueError(f"{key} must be below 1, not {value!r}.")
    return fraction


def count(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} must be a whole number, not {value!r}.")
    if value < 1:
        raise ValueError(f"{key} must be at least 1, not {value!r}.")
    return value


def text(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string, not {value!r}.")
    return value


def optional_text(key: str, value: object) -> str | None:
    return None if value is None else text(key, value)


def secret(key: str, value: object) -> str | bytes | None:
    if value is None:
        return None
    if not isinstance(value, str | bytes):
        raise TypeError(f"{key} must be a string or bytes, not {value!r}.")
    if not value:
        raise ValueError(f"{key} must not be empty; use None to fall back.")
    return value


def vary(key: str, value: object) -> tuple[str, ...]:
    return check_header_names(value, key)


def header(key: str, value: object) -> str | None:
    return check_ascii_value(value, key)


def client(key: str, value: object) -> str:
    if value not in CLIENTS:
        raise ValueError(
            f"Unsupported {key} {value!r}, must be one of: {', '.join(CLIENTS)}."
        )
    return str(value)


def registry_url(key: str, value: object) -> str | None:
    if value is None:
        return None
    if value == "memory://":
        return "memory://"
    if isinstance(value, str) and value.startswith(REDIS_SCHEMES):
        return value
    raise ValueError(
        f"Unsupported {key} {value!r}: use 'memory://', a 'redis://' URL, or None."
    )


def stats_url(key: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and (
        (value.startswith("sqlite:///") and len(value) > len("sqlite:///"))
        or value.startswith(REDIS_SCHEMES)
    ):
        return value
    raise ValueError(
        f"Unsupported {key} {value!r}: use 'sqlite:///file.db', a 'redis://'"
        " URL, or None to turn stats off."
    )
