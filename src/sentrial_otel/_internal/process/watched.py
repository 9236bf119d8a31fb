"""What the process's doors (``exit.py``) and the pools (``executors.py``) need of an engine.

A protocol rather than the engine's class: ``engine.py`` registers every engine with
``exit.py``, and the pipeline it builds instruments the pools, so neither module may import
the engine back (nor, for the pools, the pipeline).
"""

from __future__ import annotations

from typing import Any, Protocol

from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel.config import Settings


class WatchedEngine(Protocol):
    """An engine (``Telemetry``) as the end of its process sees it."""

    settings: Settings
    pipeline: Any  # export/pipeline.py's Pipeline: its delivery, whether we own it
    content: ContentPolicy
    recording: Recording

    def flush(self, timeout_s: float = 5.0) -> bool: ...

    def forget_parent_sessions(self) -> None:
        """In a forked child: drop the parent's open sessions, with a fresh table lock."""

    def open_sessions_unlocked(self) -> list[Any]:
        """The open sessions, read without the table's lock."""

    def wait_for_session_table(self) -> None:
        """Return once no other code holds the session table's lock."""
