"""Shared fixtures: an application-style global TracerProvider with an in-memory exporter.

The global provider is set once per test process (OpenTelemetry allows it only once), the
way an application would before importing sentrial; the facade then reuses it, which is
itself one of the contracts under test. Each test starts with an empty exporter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.fixtures import otlp_grpc_receiver, otlp_receiver, rotel_collector  # noqa: F401
from tests.support.spans import Spans

_EXPORTER = InMemorySpanExporter()
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))


def _install_global_provider() -> None:
    current = trace.get_tracer_provider()
    if current is not _PROVIDER:
        trace.set_tracer_provider(_PROVIDER)


_install_global_provider()


@pytest.fixture
def provider() -> TracerProvider:
    return _PROVIDER


@pytest.fixture
def spans() -> Iterator[Spans]:
    _EXPORTER.clear()
    yield Spans(_EXPORTER)
    _EXPORTER.clear()


@pytest.fixture(autouse=True)
def _no_internal_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which sentrial swallowed an internal error of its own."""
    caplog.set_level(logging.WARNING, logger="sentrial")
    yield
    internal = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert not internal, f"sentrial logged internal errors: {[r.getMessage() for r in internal]}"


@pytest.fixture(autouse=True)
def _no_leaked_pool_patch() -> Iterator[None]:
    """A test that carries context into pools (sentrial_otel._internal.process.executors) must undo it."""
    from sentrial_otel._internal.process import executors

    yield
    assert not executors.is_instrumented(), "a test left concurrent.futures patched"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write a store into the checkout, and never read the developer's endpoint."""
    monkeypatch.setenv("SENTRIAL_HOME", str(tmp_path_factory.mktemp("sentrial-home")))
    for name in (
        "SENTRIAL_API_URL",
        "SENTRIAL_API_KEY",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_TRACES_EXPORTER",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    ):
        monkeypatch.delenv(name, raising=False)
