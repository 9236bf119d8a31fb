"""Every span of a session carries the session's identifying attributes.

SEMCONV.md asks that every span in a session (ours, LangChain's, the user's own, other
instrumentations') carry ``sentrial.session.id``, ``user.id`` and the conversation id, so a
backend can filter any span by them. Spans are often started from a context built by hand
(``trace.set_span_in_context(parent)``), which drops any context value we could have put
there, so the lookup goes by trace id instead: one session is one trace.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from sentrial_otel.semconv import SENTRIAL_SESSION_ID


class SessionIndex:
    """Trace id -> the attributes every span of that session's trace carries."""

    def __init__(self) -> None:
        self._by_trace: dict[int, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def reset_after_fork(self) -> None:
        """In a forked child: a lock another thread held at the fork would stay held."""
        self._lock = threading.Lock()

    def register(self, trace_id: int, attributes: Mapping[str, Any]) -> None:
        """Kept as given, not copied (one copy per open session adds up): the session's
        stamp, which does not change once the session has begun."""
        with self._lock:
            self._by_trace[trace_id] = attributes

    def forget(self, trace_id: int) -> None:
        with self._lock:
            self._by_trace.pop(trace_id, None)

    def attributes_for(self, trace_id: int) -> Mapping[str, Any] | None:
        # dict.get is atomic under the GIL; no lock on the hot path.
        return self._by_trace.get(trace_id)

    def __len__(self) -> int:
        return len(self._by_trace)


SESSION_INDEX = SessionIndex()

STAMPED_AT_START: ContextVar[bool] = ContextVar("sentrial_stamped_at_start", default=False)
"""True while one of our invocations starts a span that carries its session's stamp
already: the processor skips it without reading the span's attributes (which costs a few
Python calls through the SDK's attribute mapping)."""


class SessionStampingProcessor(SpanProcessor):
    """Copies the session attributes onto each span that starts inside a session's trace."""

    def __init__(self, index: SessionIndex = SESSION_INDEX) -> None:
        self._index = index

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if STAMPED_AT_START.get():
            return
        context = span.get_span_context()
        if context is None:
            return
        attributes = self._index.attributes_for(context.trace_id)
        if not attributes:
            return
        present = span.attributes or {}
        if SENTRIAL_SESSION_ID in present:
            return  # stamped by whoever started it
        for key, value in attributes.items():
            # Attributes the caller set explicitly win.
            if key not in present:
                span.set_attribute(key, value)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_INSTALL_LOCK = threading.Lock()
_MARK = "_sentrial_session_stamping"


def install_session_stamping(provider: trace.TracerProvider) -> bool:
    """Add the session processors to an SDK provider once: this stamping one, and the
    roll-up that counts other instrumentations' LLM spans in their session (``rollup.py``);
    False if the provider cannot take processors."""
    # Imported here: rollup.py imports this module.
    from sentrial_otel._internal.spans.rollup import SessionUsageProcessor

    add = getattr(provider, "add_span_processor", None)
    if add is None:
        return False
    with _INSTALL_LOCK:
        if getattr(provider, _MARK, False):
            return True
        add(SessionStampingProcessor())
        add(SessionUsageProcessor())
        setattr(provider, _MARK, True)
    return True
