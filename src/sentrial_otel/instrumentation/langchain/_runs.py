"""The run-id -> span map every LangChain handler of ours shares.

LangChain tells a handler about a run with ``run_id`` and ``parent_run_id``; the span tree
is built from those ids alone, never from whatever OpenTelemetry context happens to be
current when a callback fires (callbacks run on executor threads and in copied contexts).

One process-wide registry, shared by the auto-instrumentation handler and every
``SentrialCallbackHandler``, gives three things at once:

* parents: a child finds its parent's span whichever handler created it;
* no duplicates: the first handler to start a run owns it, the others leave it alone;
* bounded memory: records leave on end and error; a run that never ends (an abandoned
  stream, a cancelled task whose callbacks never came) is ended as abandoned after a TTL,
  and the map never holds more than ``max_runs`` records.

Runs LangChain never reports the end of (cancellation: it calls no error callback) are
ended by the hooks in ``_context`` and by their parent's end (``open_descendants``); what
is still open when the instrumentor is removed or its provider shuts down is ended as
abandoned (``take_owned``, :func:`end_open_runs_at_shutdown`), so no span is left open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.trace import Status, StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.spans.invocations import Invocation
from sentrial_otel._internal.spans.session import SessionHandle
from sentrial_otel.instrumentation.langchain._history import History

DEFAULT_MAX_RUNS = 10_000
DEFAULT_TTL_S = 3600.0
# Sweeping for abandoned runs costs a scan of the oldest records; do it every this many starts.
_SWEEP_EVERY = 256


@dataclass(slots=True)
class RunRecord:
    """What we keep about one LangChain run between its start and end callbacks."""

    run_id: UUID
    owner: Any
    """The handler that started the run's span; only it ends the span."""
    kind: str
    """``agent``, ``chain``, ``llm``, ``tool`` or ``retriever``."""
    span: trace.Span | None
    """None when the run is suppressed (a plumbing chain): children skip to its parent."""
    child_context: otel_context.Context
    """The context children of this run start in (this run's span, else its nearest one)."""
    agent_name: str | None = None
    session: SessionHandle | None = None
    """The Sentrial session this run's steps belong to (their totals, their listeners)."""
    invocation: Invocation | None = None
    """The run's step in the engine's lifecycle (``invocations.py``); its span is ``span``."""
    started: float = field(default_factory=time.monotonic)
    announced_tool_call: tuple[str, str] | None = None
    """(tool name, tool call id) a classic ``AgentExecutor`` announced (``on_agent_action``)
    just before running that tool as this run's child."""
    parent: RunRecord | None = None
    """The record of the run this one is a child of (None for a top-level run)."""
    conversation_id: str | None = None
    """The run's conversation id from its metadata (a LangGraph ``thread_id`` first)."""
    interrupted: bool = False
    """A top-level run a LangGraph interrupt paused."""
    consumer: Any = None
    """The consumer of the stream the run started in (``_context.Consumer``), if any."""
    _history: History | None = None

    def history(self) -> History:
        """The encoded chat messages of this run's tree (kept on its top-level run)."""
        if self._history is None:
            self._history = History()
        return self._history

    def top(self) -> RunRecord:
        """The top-level run this run is part of."""
        record = self
        while record.parent is not None:
            record = record.parent
        return record


class RunRegistry:
    """A locked, bounded map of live runs."""

    def __init__(self, max_runs: int = DEFAULT_MAX_RUNS, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.max_runs = max_runs
        self.ttl_s = ttl_s
        self._runs: OrderedDict[UUID, RunRecord] = OrderedDict()
        self._lock = threading.Lock()
        self._starts = 0

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, run_id: UUID | None) -> RunRecord | None:
        # No lock: one dict lookup is atomic, and every callback of a run asks several times.
        return self._runs.get(run_id) if run_id is not None else None

    def claim(self, record: RunRecord) -> bool:
        """Add a new run; False (and nothing added) when another handler already owns it."""
        evicted: list[RunRecord] = []
        with self._lock:
            if record.run_id in self._runs:
                return False
            self._runs[record.run_id] = record
            self._starts += 1
            if self._starts % _SWEEP_EVERY == 0:
                evicted.extend(self._expired_locked())
            while len(self._runs) > self.max_runs:
                evicted.append(self._runs.popitem(last=False)[1])
        for stale in evicted:
            _end_abandoned(stale)
        return True

    def is_claimed(self, run_id: UUID) -> bool:
        return run_id in self._runs  # atomic, as in get()

    def release(self, run_id: UUID, owner: Any) -> RunRecord | None:
        """Remove and return the run if ``owner`` owns it."""
        with self._lock:
            record = self._runs.get(run_id)
            if record is None or record.owner is not owner:
                return None
            del self._runs[run_id]
            return record

    def open_descendants(self, record: RunRecord) -> list[RunRecord]:
        """The runs still open below ``record``, deepest first (children end before their
        parents). A scan: only for the rare ends LangChain reports for a parent but not for
        its children (cancellation)."""
        with self._lock:
            candidates = list(self._runs.values())
        found: list[tuple[int, RunRecord]] = []
        for candidate in candidates:
            depth, above = 1, candidate.parent
            while above is not None and above is not record:
                depth, above = depth + 1, above.parent
            if above is record:
                found.append((depth, candidate))
        found.sort(key=lambda pair: -pair[0])
        return [candidate for _, candidate in found]

    def take_owned(self, owner: Any) -> list[RunRecord]:
        """Remove and return every open run ``owner`` owns."""
        with self._lock:
            owned = [record for record in self._runs.values() if record.owner is owner]
            for record in owned:
                del self._runs[record.run_id]
        return owned

    def end_owned(self, owner: Any, reason: str) -> int:
        """End every open run of ``owner`` as abandoned (``reason`` as the status message);
        returns how many."""
        owned = self.take_owned(owner)
        for record in owned:
            _end_abandoned(record, reason)
        return len(owned)

    def sweep(self) -> int:
        """End every run older than the TTL as abandoned; returns how many."""
        with self._lock:
            expired = self._expired_locked()
        for stale in expired:
            _end_abandoned(stale)
        return len(expired)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()

    def _expired_locked(self) -> list[RunRecord]:
        # Insertion order is start order, so the oldest are first.
        deadline = time.monotonic() - self.ttl_s
        expired: list[RunRecord] = []
        for run_id, record in list(self._runs.items()):
            if record.started > deadline:
                break
            expired.append(record)
            del self._runs[run_id]
        return expired


def _end_abandoned(record: RunRecord, reason: str = "LangChain run never ended") -> None:
    """End a run that never told us it ended, so its span is exported rather than lost."""
    span = record.span
    if span is None:
        return
    with handle_internal_errors("ending an abandoned LangChain run", level=logging.DEBUG):
        if record.invocation is not None:
            record.invocation.ended = True  # no later end path may end it again
        span.set_status(Status(StatusCode.ERROR, reason))
        span.set_attribute(sc.ERROR_TYPE, sc.ERROR_TYPE_ABANDONED)
        span.end()


RUNS = RunRegistry()
"""The registry every handler uses by default."""


# --- the provider's shutdown ------------------------------------------------------------
class _OpenRunsCloser(SpanProcessor):
    """The first processor of its provider: at the provider's shutdown it ends the open
    runs of the handler it serves, while the processors after it (the exporters) still
    take spans. Added last, it would run after them and its spans would be dropped."""

    def __init__(self, registry: RunRegistry) -> None:
        self.registry = registry
        self.owner: Any = None
        """The handler whose runs it ends (None once that handler is uninstrumented)."""

    def on_start(self, span: SdkSpan, parent_context: otel_context.Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        owner = self.owner
        if owner is not None:
            self.registry.end_owned(owner, "LangChain run still open at shutdown")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_CLOSER = "_sentrial_langchain_runs_closer"
_CLOSER_LOCK = threading.Lock()


def end_open_runs_at_shutdown(
    provider: trace.TracerProvider, owner: Any, registry: RunRegistry = RUNS
) -> bool:
    """When ``provider`` shuts down (``shutdown()`` or its exit hook), end the runs of
    ``owner`` that are still open, first, so they are exported; None as ``owner`` disarms.
    False when the provider takes no processors (not an SDK provider)."""
    with _CLOSER_LOCK:
        closer = getattr(provider, _CLOSER, None)
        if closer is None:
            if owner is None:
                return True
            closer = _OpenRunsCloser(registry)
            if not _add_first(provider, closer):
                return False
            with handle_internal_errors("marking the provider's run closer", level=logging.DEBUG):
                setattr(provider, _CLOSER, closer)
        closer.owner = owner
    return True


def _add_first(provider: Any, processor: SpanProcessor) -> bool:
    """Put ``processor`` before the provider's others. The SDK only appends; its multi
    processors keep a ``_span_processors`` tuple behind ``_lock``, which we prepend to.
    Any other provider: appended, the best we can do."""
    multi = getattr(provider, "_active_span_processor", None)
    lock = getattr(multi, "_lock", None)
    if lock is not None and isinstance(getattr(multi, "_span_processors", None), tuple):
        with lock:
            multi._span_processors = (processor, *multi._span_processors)  # type: ignore[union-attr]
        return True
    add = getattr(provider, "add_span_processor", None)
    if add is None:
        return False
    add(processor)
    return True
