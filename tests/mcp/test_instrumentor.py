"""The MCP instrumentor as an OpenTelemetry instrumentor: entry point, declared range,
and a clean undo."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from mcp.client.client import Client
from mcp.client.session import ClientSession
from mcp.server.runner import ServerRunner
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

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
    def patched() -> tuple[object, ...]:
        return (
            ClientSession.call_tool, Client.call_tool, JSONRPCDispatcher.send_raw_request,
            ServerRunner._on_request,
        )

    originals = patched()
    instrumentor = MCPInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        assert all(now is not before for now, before in zip(patched(), originals, strict=True))
    finally:
        instrumentor.uninstrument()
    assert patched() == originals
