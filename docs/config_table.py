"""Writes the table of docs/config.rst from flask_condpoll.settings.Settings."""

from __future__ import annotations

import dataclasses
import pathlib

from flask_condpoll.settings import Settings

TARGET = pathlib.Path(__file__).resolve().parent / "_generated" / "config_table.rst"


def rows() -> list[tuple[str, str, str]]:
    """``(key, default, meaning)`` for every setting, in declaration order."""
    return [
        (
            field.metadata["key"],
            repr(field.default).replace("'", '"'),
            field.metadata["doc"],
        )
        for field in dataclasses.fields(Settings)
    ]


def render() -> str:
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 30 25 45",
        "",
        "   * - Key",
        "     - Default",
        "     - Meaning",
    ]
    for key, default, doc in rows():
        lines += [f"   * - ``{key}``", f"     - ``{default}``", f"     - {doc}"]
    return "\n".join(lines) + "\n"


def write() -> None:
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(render())
