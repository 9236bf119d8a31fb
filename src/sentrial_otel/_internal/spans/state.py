"""Sentrial's ``update_state``: per-thread agent state that the next steps carry.

Each step started after an update carries ``sentrial.state.before`` (the state the previous
step saw) and ``sentrial.state.after`` (the state now), as JSON content.
"""

from __future__ import annotations

import threading
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy

_BEFORE = sc.SENTRIAL_STATE_PREFIX + "before"
_AFTER = sc.SENTRIAL_STATE_PREFIX + "after"


class AgentState:
    """The state of each thread; ``active`` stays False until the first update, so steps
    skip the lookup until then."""

    __slots__ = ("_content", "_local", "active")

    def __init__(self, content: ContentPolicy) -> None:
        self._content = content
        self._local = threading.local()
        self.active = False

    def update(self, key: Any, value: Any) -> None:
        local = self._local
        values = getattr(local, "values", None)
        if values is None:
            values = local.values = {}
            local.before = {}
        values[str(key)] = value
        self.active = True

    def attributes(self) -> dict[str, Any]:
        """``sentrial.state.before/after`` for the step starting now (empty when this thread
        set no state, or content is not captured)."""
        local = self._local
        values = getattr(local, "values", None)
        if not values or not self._content.capture:
            return {}
        before = local.before
        after = dict(values)
        local.before = after
        encoder = self._content.encoder("state")
        return {_BEFORE: encoder.json(before).value, _AFTER: encoder.json(after).value}
