"""The in-process registry: one worker process's versions."""

from __future__ import annotations

import ast
import os
import warnings

import pytest

from flask_condpoll.registry import MemoryRegistry


def test_versions_move_and_never_come_back():
    registry = MemoryRegistry()
    first = registry.read(["notes"]).versions
    registry.bump(["notes"])
    assert registry.read(["notes"]).versions != first
    assert MemoryRegistry().read(["notes"]).versions != first  # a new process


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_each_forked_worker_draws_its_own_epoch():
    """gunicorn --preload: the master builds the app, then forks a worker,
    which is recycled and replaced by a new fork of the master. The new one
    must not reproduce the versions the old one handed out."""
    registry = MemoryRegistry()  # the preloaded master's

    def in_a_worker() -> tuple[object, ...]:
        read, write = os.pipe()
        with warnings.catch_warnings():  # Python 3.12 warns of threads at fork
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            try:
                registry.bump(["notes"])
                os.write(write, repr(registry.read(["notes"]).versions).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        return tuple(ast.literal_eval(answer))

    first, second = in_a_worker(), in_a_worker()
    assert first != second
    assert first[0] != registry.epoch != second[0]
