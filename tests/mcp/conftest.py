"""Fixtures for the MCP tests: our instrumentor on (and off again) around a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("mcp", reason="the MCP SDK is in the [test] extra (mcp 2.x)")

from sentrial_otel.instrumentation.mcp import MCPInstrumentor  # noqa: E402


@pytest.fixture
def mcp_instrumented(provider) -> Iterator[MCPInstrumentor]:
    """The client side of this process instrumented, on the tests' global provider."""
    instrumentor = MCPInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield instrumentor
    instrumentor.uninstrument()
