"""What a forked child gets anew: module-level locks, and work for objects that live on in it.

A lock another thread holds when the process forks stays held in the child for good, so a
lock shared by every session (one each would cost every open session ~90 bytes) is
replaced in each forked child. Objects such as the delivery processor or an HTTP session
register the work their copy in a child needs (a fresh thread, fresh connections).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def module_lock(namespace: dict[str, Any], name: str) -> threading.Lock:
    """A lock for ``namespace[name]`` (a module's ``globals()``), replaced after a fork.

    Code must read the lock through the module global each time (``with _LOCK:``)."""
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: namespace.__setitem__(name, threading.Lock()))
    return threading.Lock()


def in_fork_children(owner: T, action: Callable[[T], None]) -> None:
    """Run ``action(owner)`` in every fork child this process makes from now on, as long as
    ``owner`` lives (it is held weakly: registering keeps nothing alive). It runs inside
    ``os.fork()`` in the child, before any other thread exists there."""
    if not hasattr(os, "register_at_fork"):
        return
    weak_owner = weakref.ref(owner)

    def in_child() -> None:
        inherited = weak_owner()
        if inherited is not None:
            action(inherited)

    os.register_at_fork(after_in_child=in_child)
