"""``SessionTreeConsoleExporter``: a compact tree of each session, printed when it ends.

Spans are exported as they end, children before their root, so children are buffered by
trace id until the root arrives. The buffer is bounded (oldest traces are dropped first)
so a session that never ends cannot grow memory without limit.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TextIO

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from sentrial_otel import semconv as sc
from sentrial_otel.store.records import SpanRecord
from sentrial_otel.store.sessions import summarize


def _span_line(span: SpanRecord) -> str:
    parts = [span.name, f"{span.duration_ns / 1e9:.2f}s"]
    attrs = span.attributes
    tokens = attrs.get(sc.SENTRIAL_USAGE_TOTAL_TOKENS)
    if tokens is None and sc.GEN_AI_USAGE_INPUT_TOKENS in attrs:
        tokens = int(attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS, 0)) + int(
            attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0))
    if tokens:
        parts.append(f"{tokens} tok")
    if isinstance(attrs.get(sc.SENTRIAL_DECISION_CONFIDENCE), float):
        parts.append(f"confidence {attrs[sc.SENTRIAL_DECISION_CONFIDENCE]:.2f}")
    if span.is_error:
        parts.append("ERROR" + (f": {span.status_message}" if span.status_message else ""))
    return "  ".join(parts)


def render_session_tree(spans: Sequence[SpanRecord], root: SpanRecord) -> str:
    """The session as an indented tree: a summary line for the root, then its children."""
    summary = summarize([root, *[s for s in spans if s is not root]])
    head = (
        f"{root.name}  session={summary.display_id}  user={summary.user or '-'}  "
        f"{summary.status}  {summary.duration_ns / 1e9:.2f}s  "
        f"llm={summary.llm_calls} tools={summary.tool_calls}  "
        f"tokens={summary.tokens}  cost=${summary.cost:.4f}"
    )
    children: dict[str, list[SpanRecord]] = {}
    for span in spans:
        if span is not root:
            children.setdefault(span.parent_span_id, []).append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: s.start_ns)
    known = {s.span_id for s in spans}
    # Orphans (parent not buffered) hang under the root so nothing is hidden.
    orphans = [s for parent, group in children.items()
               if parent not in known for s in group]
    lines = [head]

    def walk(nodes: list[SpanRecord], prefix: str) -> None:
        for i, node in enumerate(nodes):
            last = i == len(nodes) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_span_line(node)}")
            walk(children.get(node.span_id, []), prefix + ("   " if last else "│  "))

    walk(children.get(root.span_id, []) + orphans, "")
    return "\n".join(lines)


class SessionTreeConsoleExporter(SpanExporter):
    """Print each session as a small tree when its root span ends.

    Args:
        out: where to print (default ``sys.stdout``).
        max_traces: traces buffered at once while waiting for their root.
        max_spans_per_trace: children kept per trace (later ones are counted, not kept).
    """

    def __init__(
        self,
        out: TextIO | None = None,
        max_traces: int = 1000,
        max_spans_per_trace: int = 1000,
    ) -> None:
        self._out = out
        self._max_traces = max_traces
        self._max_spans = max_spans_per_trace
        self._pending: OrderedDict[str, list[SpanRecord]] = OrderedDict()
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Buffer children; print the tree of every session whose root is in ``spans``."""
        try:
            for span in spans:
                self._add(span)
        except Exception:  # noqa: BLE001 - an exporter must not raise
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _add(self, readable: ReadableSpan) -> None:
        record = SpanRecord.from_readable_span(readable)
        is_root = readable.parent is None or readable.parent.is_remote
        with self._lock:
            buffered = self._pending.pop(record.trace_id, [])
            if not is_root:
                if len(buffered) < self._max_spans:
                    buffered.append(record)
                self._pending[record.trace_id] = buffered
                while len(self._pending) > self._max_traces:
                    self._pending.popitem(last=False)
                return
        text = render_session_tree([record, *buffered], record)
        out = self._out or sys.stdout
        out.write(text + "\n")
        out.flush()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing to flush: trees are printed as roots end."""
        return True

    def shutdown(self) -> None:
        """Forget sessions that never ended."""
        with self._lock:
            self._pending.clear()
