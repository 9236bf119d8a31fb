"""Finished spans of an in-memory exporter, with lookup and tree helpers (every test's)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Spans:
    """The spans an exporter has received so far."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in self.all()]}"
        return found[0]

    def roots(self) -> list[ReadableSpan]:
        return [span for span in self.all() if span.parent is None]

    def tree(self, root_parent: int | None = None) -> list[Any]:
        """Nested ``(name, [children])`` in start order, from spans whose parent is
        ``root_parent`` (a span id; None means spans with no parent in this export)."""
        spans = sorted(self.all(), key=lambda s: s.start_time or 0)
        known = {s.context.span_id for s in spans}

        def parent_of(span: ReadableSpan) -> int | None:
            if span.parent is None or span.parent.span_id not in known:
                return None
            return span.parent.span_id

        def children(parent: int | None) -> list[Any]:
            return [
                (s.name, children(s.context.span_id)) for s in spans if parent_of(s) == parent
            ]

        return children(root_parent)

    def one_trace(self) -> int:
        ids = {s.context.trace_id for s in self.all()}
        assert len(ids) == 1, f"{len(ids)} traces"
        return ids.pop()
