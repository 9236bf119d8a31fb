"""An MCP server built with the real ``mcp`` SDK, run by the tests as a child process.

    python tests/support/mcp_server.py [--http PORT] [--instrument]

stdio by default (the client launches it and speaks over its stdin/stdout), or streamable
HTTP on ``127.0.0.1:PORT`` (path ``/mcp``). It works with both SDK lines: ``MCPServer`` on
mcp 2.x, ``FastMCP`` on mcp 1.x (the line in .venv-mcp1).

Its spans go over OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the test's receiver), one
export per span so a test sees them as soon as they end; with no endpoint it exports
nothing. ``--instrument`` turns on our ``MCPInstrumentor``: without it this is a server of
someone who never heard of sentrial-otel (mcp 2.x still emits its own spans).

Tools:
  add(a, b)      a + b; starts a span of its own inside (``add.compute``), as user code would
  divide(a, b)   a / b; b == 0 raises, which the SDK returns as an ``isError`` result
  reject(reason) raises the SDK's protocol error: a JSON-RPC error response (code -32602)
  request_traceparent()  (streamable HTTP) the ``traceparent`` HTTP header of its request
"""

from __future__ import annotations

import argparse
import atexit
import os
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

try:
    from mcp.server.mcpserver import Context  # mcp 2.x: a tool's view of its request
except ImportError:
    Context = None

SERVICE_NAME = "mcp-test-server"


def _tracing() -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
        )
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)
    return provider


def _server(name: str, port: int | None) -> tuple[Any, dict[str, Any]]:
    """The server and the keyword arguments of its ``run()`` for streamable HTTP."""
    try:
        from mcp.server.mcpserver import MCPServer  # mcp 2.x
    except ImportError:
        from mcp.server.fastmcp import FastMCP  # mcp 1.x: host and port are settings

        if port is not None:
            return FastMCP(name, host="127.0.0.1", port=port), {}
        return FastMCP(name), {}
    return MCPServer(name), {"host": "127.0.0.1", "port": port}


def _protocol_error(code: int, message: str) -> Exception:
    """The SDK's exception for a JSON-RPC error response."""
    try:
        from mcp.shared.exceptions import MCPError  # mcp 2.x

        return MCPError(code=code, message=message)
    except ImportError:
        from mcp.shared.exceptions import McpError
        from mcp.types import ErrorData

        return McpError(ErrorData(code=code, message=message))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, metavar="PORT", help="streamable HTTP on this port")
    parser.add_argument("--instrument", action="store_true", help="turn on MCPInstrumentor")
    options = parser.parse_args()

    provider = _tracing()
    if options.instrument:
        from sentrial_otel.instrumentation.mcp import MCPInstrumentor

        MCPInstrumentor().instrument(tracer_provider=provider)

    tracer = trace.get_tracer("mcp-test-server.tools")
    server, http_options = _server("calculator", options.http)

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        with tracer.start_as_current_span("add.compute"):
            return a + b

    @server.tool()
    def divide(a: float, b: float) -> float:
        """Divide a by b."""
        if b == 0:
            raise ZeroDivisionError("division by zero")
        return a / b

    @server.tool()
    def reject(reason: str) -> str:
        """Answer with a JSON-RPC error response instead of a result."""
        raise _protocol_error(-32602, reason)

    if options.http is not None and Context is not None:

        @server.tool()
        def request_traceparent(ctx: Context) -> str:
            """The ``traceparent`` HTTP header this request came with ("" when none)."""
            request = ctx.request_context.request
            return str(request.headers.get("traceparent", "")) if request is not None else ""

    if options.http is None:
        server.run()
    else:
        server.run(transport="streamable-http", **http_options)


if __name__ == "__main__":
    main()
