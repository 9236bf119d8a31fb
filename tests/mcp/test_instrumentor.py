"""The MCP instrumentor as an OpenTelemetry instrumentor: declared range and a clean undo
(its entry point: tests/test_packaging.py)."""

from __future__ import annotations

from mcp.client.client import Client
from mcp.client.session import ClientSession
from mcp.server.runner import ServerRunner
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

from sentrial_otel.instrumentation.mcp import MCPInstrumentor


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
