"""Objects whose state must start afresh in a forked child process.

Checking ``os.getpid()`` on every call costs a system call on the hot path;
registering once costs nothing until a fork.
"""

from __future__ import annotations

import os
import typing as t
import weakref


class ForkAware(t.Protocol):
    def after_fork(self) -> None:
        """Called in the child process, right after a fork."""


_registered: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def reset_after_fork(obj: ForkAware) -> None:
    """Call ``obj.after_fork()`` in every child this process forks from now on.

    Only a weak reference is kept: an object that is gone is not reset.
    """
    _registered.add(obj)


def _after_fork_in_child() -> None:
    for obj in list(_registered):
        obj.after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
