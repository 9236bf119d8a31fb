"""LangGraph threads: the interrupted run a resume continues.

A LangGraph graph compiled with a checkpointer keeps its state per thread
(``config["configurable"]["thread_id"]``, which LangGraph and LangChain copy into every
run's metadata, so every span of the run carries it as ``gen_ai.conversation.id``: see
``_messages.conversation_id``). A run that pauses on an interrupt and its resume
(``Command(resume=...)``) are two runs, two traces. We remember the paused run's root span context by thread id, in this process,
so the resumed run's root starts with a span link to it. A resume in another process (a
new worker, a restart) finds nothing here: it still carries the same
``gen_ai.conversation.id``, but no link.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from opentelemetry.trace import Link, SpanContext

MAX_THREADS = 10_000
"""Interrupted threads remembered at most; the one interrupted longest ago goes first."""


def resumes(inputs: Any) -> bool:
    """Whether a top-level run's input continues a thread from its checkpoint: a LangGraph
    ``Command`` (``Command(resume=...)``) or no input at all (``invoke(None, config)``)."""
    return inputs is None or type(inputs).__name__ == "Command"


class InterruptedThreads:
    """Thread id -> the span context of the thread's last top-level run, if it was
    interrupted; bounded, locked."""

    def __init__(self, max_threads: int = MAX_THREADS) -> None:
        self.max_threads = max_threads
        self._paused: OrderedDict[str, SpanContext] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._paused)

    def remember(self, thread_id: str, root: SpanContext) -> None:
        with self._lock:
            self._paused[thread_id] = root
            self._paused.move_to_end(thread_id)
            while len(self._paused) > self.max_threads:
                self._paused.popitem(last=False)

    def forget(self, thread_id: str) -> None:
        """The thread's last run ended without an interrupt: nothing is pending."""
        if thread_id in self._paused:  # atomic; most runs never were interrupted
            with self._lock:
                self._paused.pop(thread_id, None)

    def links_for(self, thread_id: str) -> tuple[Link, ...]:
        """A link to the thread's interrupted run, if we remember one."""
        root = self._paused.get(thread_id)
        return (Link(root),) if root is not None else ()

    def clear(self) -> None:
        with self._lock:
            self._paused.clear()


INTERRUPTED = InterruptedThreads()
"""The interrupted threads every handler shares."""
