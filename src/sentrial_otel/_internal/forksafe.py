"""Module-level locks that a forked child gets anew.

A lock another thread holds when the process forks stays held in the child for good, so a
lock shared by every session (one each would cost every open session ~90 bytes) is
replaced in each forked child.
"""

from __future__ import annotations

import os
import threading
from typing import Any


def module_lock(namespace: dict[str, Any], name: str) -> threading.Lock:
    """A lock for ``namespace[name]`` (a module's ``globals()``), replaced after a fork.

    Code must read the lock through the module global each time (``with _LOCK:``)."""
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: namespace.__setitem__(name, threading.Lock()))
    return threading.Lock()
