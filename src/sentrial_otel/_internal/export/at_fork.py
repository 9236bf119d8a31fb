"""Work done in each fork child, for an object that lives on in it."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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
