"""Fixtures for the LangChain tests: an own provider on an in-memory exporter, the
instrumentor on and off around each test, and helpers to read span trees."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sentrial_otel.instrumentation.langchain import RUNS, LangChainInstrumentor
from tests.langchain import fakes


class Spans:
    """Finished spans with tree helpers."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"expected one {name!r}, got {[s.name for s in self.all()]}"
        return found[0]

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


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def loads(span: ReadableSpan, key: str) -> Any:
    return json.loads(span.attributes[key])  # type: ignore[index]


@pytest.fixture
def lc_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def lc_provider(lc_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(lc_exporter))
    fakes.TOOL_TRACER["tracer"] = provider.get_tracer("tests.langchain.tools")
    yield provider
    fakes.TOOL_TRACER.clear()
    provider.shutdown()


@pytest.fixture
def lc_spans(lc_exporter: InMemorySpanExporter) -> Spans:
    return Spans(lc_exporter)


@contextlib.contextmanager
def instrumented(provider: TracerProvider, **options: Any) -> Iterator[LangChainInstrumentor]:
    """The process instrumented with ``options`` inside the block, restored after it."""
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider, **options)
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


@pytest.fixture
def instrumentor(lc_provider: TracerProvider) -> Iterator[LangChainInstrumentor]:
    with instrumented(lc_provider) as instrumentor:
        yield instrumentor


@pytest.fixture(autouse=True)
def _clean_runs() -> Iterator[None]:
    """Every test must leave the run registry empty (no leaked runs), and starts with the
    LangChain hooks of earlier tests' SentrialCallbackHandlers gone: a handler holds them
    until it is collected, and one caught in a reference cycle would otherwise go at some
    garbage collection in the middle of a later test."""
    gc.collect()
    RUNS.clear()
    yield
    leaked = len(RUNS)
    RUNS.clear()
    assert leaked == 0, f"{leaked} LangChain runs left in the registry"


@pytest.fixture(autouse=True)
def _no_callback_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test during which one of our callbacks swallowed an error of its own."""
    caplog.set_level(logging.WARNING, logger="sentrial")
    caplog.set_level(logging.WARNING)
    yield
    errors = [
        r.getMessage()
        for r in caplog.records
        # ours, and LangChain's report of a handler that raised ("Error in X.on_y callback")
        if "LangChain callback" in r.getMessage() or "CallbackHandler." in r.getMessage()
    ]
    assert not errors, errors
