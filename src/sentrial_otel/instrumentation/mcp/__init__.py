"""OpenTelemetry instrumentation for the official MCP Python SDK (``mcp``), client and server.

A tool served by another process shows up under the session that called it::

    from sentrial_otel.instrumentation.mcp import MCPInstrumentor

    MCPInstrumentor().instrument(tracer_provider=provider)  # provider: optional

in the client's process and in the server's, or with no code at all:
``opentelemetry-instrument python app.py`` (registered under the ``opentelemetry_instrumentor``
entry point as ``mcp``). Works with mcp 1.x (>= 1.24) and 2.x.

* Client (``_client``): each ``tools/call`` is an ``execute_tool {name}`` tool call of the
  current session (one span, counted in its totals like any tool call; none of ours when a
  LangChain tool span already stands for it), and carries the session's identity in its
  ``params._meta`` (and on mcp 1.x the W3C trace context, which mcp 2.x adds itself); on
  mcp 2.x's streamable HTTP the trace context also goes in the HTTP headers.
* Server (``_server``): the request's span joins the caller's trace and it, and every span
  the tool's code starts, carries the session's attributes (``sentrial.session.id``,
  ``user.id``, ``gen_ai.conversation.id``). mcp 2.x's own SERVER span is kept; on mcp 1.x a
  ``tools/call {name}`` SERVER span of ours stands in for it.

Both sides keep working with a peer that has no instrumentation: extra ``_meta`` keys are
ignored by every MCP server, and a request without them is served as before.

Options of ``instrument()``: ``tracer_provider``, ``meter_provider`` (tool metrics; default
the global ones), ``capture_content`` (default from
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``dialects`` (default from
``SENTRIAL_DIALECTS``); a call inside a session records through that session's engine
instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.misuse import MisuseReporter
from sentrial_otel._internal.spans.metrics import AgentMetrics
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel._internal.spans.stamping import install_session_stamping
from sentrial_otel.config import capture_content_from_env, resolve_dialects
from sentrial_otel.instrumentation.mcp._client import CallTool, TraceHeaders
from sentrial_otel.instrumentation.mcp._server import HandleRequest, OnRequest
from sentrial_otel.instrumentation.mcp.package import _instruments
from sentrial_otel.instrumentation.mcp.version import __version__

__all__ = ["MCPInstrumentor"]


def _sdk_traces_itself() -> bool:
    """mcp 2.x emits spans and propagates trace context on its own; 1.x does neither."""
    try:
        import mcp.server.runner  # noqa: F401 - only in 2.x
    except ImportError:
        return False
    return True


class MCPInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Joins MCP servers' spans to the calling session's trace (an OpenTelemetry instrumentor)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        provider = kwargs.get("tracer_provider")
        # The server's spans get the caller's session attributes from the stamping processor.
        install_session_stamping(provider if provider is not None else trace.get_tracer_provider())
        capture = kwargs.get("capture_content")
        recording = Recording(
            trace.get_tracer(__name__, __version__, provider),
            ContentPolicy(capture=capture_content_from_env() if capture is None else bool(capture)),
            MisuseReporter(strict=False),
            AgentMetrics(kwargs.get("meter_provider")),
            dialects=resolve_dialects(kwargs.get("dialects")),
        )
        modern = _sdk_traces_itself()
        call_tool = CallTool(recording, inject_trace_context=not modern)
        points: list[tuple[str, str, str, Any]] = [
            ("mcp.client.session", "ClientSession", "call_tool", call_tool),
        ]
        if modern:
            points += [
                ("mcp.client.client", "Client", "call_tool", call_tool),
                ("mcp.shared.jsonrpc_dispatcher", "JSONRPCDispatcher", "send_raw_request", TraceHeaders()),
                ("mcp.server.runner", "ServerRunner", "_on_request", OnRequest()),
            ]
        else:
            points.append(("mcp.server.lowlevel.server", "Server", "_handle_request", HandleRequest(recording)))
        self._wrapped: list[tuple[str, str, str]] = []
        for module, owner, method, wrapper in points:
            try:
                wrap_function_wrapper(module, f"{owner}.{method}", wrapper)
            except (ImportError, AttributeError):
                # An SDK release without this seam: the rest still works.
                logger.info("sentrial: mcp %s.%s.%s not found; not instrumented", module, owner, method)
                continue
            self._wrapped.append((module, owner, method))

    def _uninstrument(self, **kwargs: Any) -> None:
        for module, owner, method in self._wrapped:
            unwrap(getattr(importlib.import_module(module), owner), method)
        self._wrapped = []
