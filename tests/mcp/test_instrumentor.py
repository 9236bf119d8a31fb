"""The MCP instrumentor as an OpenTelemetry instrumentor: entry point, declared range,
and a clean undo."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from mcp.client.session import ClientSession
from mcp.server.runner import ServerRunner

from sentrial_otel.instrumentation.mcp import MCPInstrumentor


def test_entry_point_loads_when_installed() -> None:
    found = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "mcp"]
    if not found:  # running from a source tree without `pip install -e .`
        pytest.skip("sentrial-otel is not installed; the entry point is not registered")
    assert found[0].value == "sentrial_otel.instrumentation.mcp:MCPInstrumentor"
    assert found[0].load() is MCPInstrumentor


def test_declares_the_supported_range() -> None:
    assert list(MCPInstrumentor().instrumentation_dependencies()) == ["mcp >= 1.24"]


def test_uninstrument_restores_the_sdk(provider) -> None:
    originals = (ClientSession.call_tool, ServerRunner._on_request)
    instrumentor = MCPInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        assert ClientSession.call_tool is not originals[0]
        assert ServerRunner._on_request is not originals[1]
    finally:
        instrumentor.uninstrument()
    assert (ClientSession.call_tool, ServerRunner._on_request) == originals
