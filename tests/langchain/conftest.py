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
from tests.support.spans import Spans

__all__ = ["Spans", "attrs", "instrumented", "loads"]


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
